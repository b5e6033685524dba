"""qa/startup.py: the checks before serving, each a one-line StartupError (tests/test_run.py runs them
through a real `python run.py`)."""
import pytest

from live_server import free_port
from qa.extensions import db
from qa.startup import StartupError, check_message_queue, check_secrets, upgrade_schema


@pytest.fixture
def app_with(make_app, tmp_path):
    """app_with(testing=False, **env) -> an app on a SQLite file, as a server outside tests is."""
    return lambda testing=False, **env: make_app(f"sqlite:///{tmp_path / 'qa.sqlite3'}", testing, **env)


@pytest.mark.parametrize("env, named", [
    ({"QA_SECRET_KEY": "CHANGE-ME"}, "QA_SECRET_KEY still holds"),
    ({"QA_ADMIN_TOKEN": "change-me-please"}, "QA_ADMIN_TOKEN still holds"),
    ({"QA_SECRET_KEY": "CHANGE-ME", "QA_ADMIN_TOKEN": "CHANGE-ME"}, "QA_SECRET_KEY and QA_ADMIN_TOKEN still hold"),
])
def test_placeholder_secrets_are_refused(app_with, env, named):
    app = app_with(**env)
    with pytest.raises(StartupError, match=named) as refused:
        check_secrets(app)
    assert "\n" not in str(refused.value) and "--debug" in str(refused.value)
    check_secrets(app, allow_placeholders=True)  # --debug


def test_placeholder_secrets_pass_in_tests_and_real_ones_always(app_with):
    check_secrets(app_with(testing=True, QA_SECRET_KEY="CHANGE-ME"))
    check_secrets(app_with(QA_SECRET_KEY="x" * 43, QA_ADMIN_TOKEN="y" * 43))


def test_no_message_queue_is_not_checked():
    check_message_queue(None)
    check_message_queue("")


def test_a_redis_on_a_closed_port_is_one_line_without_its_password():
    port = free_port()  # bound and released: nothing listens there
    with pytest.raises(StartupError) as refused:
        check_message_queue(f"redis://:hunter2@127.0.0.1:{port}/0")
    message = str(refused.value)
    assert message.startswith(f"cannot reach the message queue QA_MESSAGE_QUEUE='redis://:***@127.0.0.1:{port}/0': ")
    assert "hunter2" not in message and "\n" not in message


def test_a_database_file_that_cannot_be_opened_is_one_line(app_with):
    app = app_with()
    app.config["DATABASE_URL"] = "sqlite:////nonexistent-dir/qa.sqlite3"
    db.init_app(app)  # the engine of that URL
    with pytest.raises(StartupError, match="cannot use the database QA_DATABASE_URL='sqlite:////nonexistent-dir"):
        upgrade_schema(app)


@pytest.mark.parametrize("module", ["startup.py", "cli.py"])
def test_prints_links_without_importing_the_http_api(module):
    """The start-up and the CLI print an event's links from qa/links.py, not from an HTTP adapter."""
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parent.parent / "qa" / module).read_text())
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "links" in imported and not imported & {"web.api", "qa.web.api", "web.broadcast"}, imported
