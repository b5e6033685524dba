"""Settings: environment first, secrets generated once and kept in the instance folder."""
import os
import stat

import pytest

from qa.settings import SettingsError, load_settings, redact


def test_defaults_generate_and_keep_secrets(tmp_path):
    first = load_settings(tmp_path, {})
    assert first.database_url == f"sqlite:///{tmp_path / 'qa.sqlite3'}"
    assert first.async_mode == "eventlet" and first.message_queue is None
    assert first.admin_token_generated and len(first.admin_token) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "admin_token").st_mode) == 0o600
    second = load_settings(tmp_path, {})
    assert (second.admin_token, second.secret_key) == (first.admin_token, first.secret_key)
    assert not second.admin_token_generated


def test_environment_wins(tmp_path):
    s = load_settings(tmp_path, {
        "QA_DATABASE_URL": "postgresql+psycopg://db/x", "QA_MESSAGE_QUEUE": "redis://r:6379",
        "QA_SECRET_KEY": "k", "QA_ADMIN_TOKEN": "a", "QA_ASYNC_MODE": "gevent",
        "QA_ALLOWED_ORIGINS": "https://a.example/, https://b.example",
    })
    assert (s.database_url, s.message_queue, s.secret_key, s.admin_token, s.async_mode) == (
        "postgresql+psycopg://db/x", "redis://r:6379", "k", "a", "gevent")
    assert s.allowed_origins == ("https://a.example", "https://b.example")
    assert not (tmp_path / "admin_token").exists()


def test_unknown_async_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="QA_ASYNC_MODE"):
        load_settings(tmp_path, {"QA_ASYNC_MODE": "asyncio"})


@pytest.mark.parametrize("name", ["QA_DB_POOL_SIZE", "QA_MAX_SOCKETS_PER_ADDRESS", "QA_TRUSTED_PROXIES"])
@pytest.mark.parametrize("value", ["ten", "-1", "1.5"])
def test_bad_numbers_are_refused_naming_the_setting(tmp_path, name, value):
    with pytest.raises(ValueError, match=name):
        load_settings(tmp_path, {name: value})


@pytest.mark.parametrize("value, expected", [("", False), ("off", False), ("on", True), ("1", True),
                                             ("no", False), ("yes", True)])
def test_profanity_filter_is_off_unless_asked(tmp_path, value, expected):
    assert load_settings(tmp_path, {"QA_PROFANITY_FILTER": value}).profanity_filter is expected
    assert load_settings(tmp_path, {}).profanity_filter is False


@pytest.mark.parametrize("url, message", [
    ("not a url", "QA_DATABASE_URL='not a url' is not a database URL"),
    ("postgres://qa@db/qa", r"does not know \(postgres\).*postgresql\+psycopg://"),
    ("mysql://qa@db/qa", "needs the Python package MySQLdb, which is not installed"),
])
def test_a_database_url_sqlalchemy_cannot_use_is_refused_before_connecting(tmp_path, url, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path, {"QA_DATABASE_URL": url})


def test_a_refused_database_url_does_not_show_its_password(tmp_path):
    with pytest.raises(SettingsError) as refused:
        load_settings(tmp_path, {"QA_DATABASE_URL": "postgres://qa:s3cret@db/qa"})
    assert "s3cret" not in str(refused.value) and "qa:***@db" in str(refused.value)


@pytest.mark.parametrize("url", ["sqlite:////tmp/x.sqlite3", "postgresql+psycopg://qa@/qa?host=/var/run/postgresql"])
def test_usable_database_urls_pass_unchanged(tmp_path, url):
    assert load_settings(tmp_path, {"QA_DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize("queue", ["127.0.0.1:6379", "localhost"])
def test_a_message_queue_that_is_no_url_is_refused(tmp_path, queue):
    with pytest.raises(SettingsError, match=f"QA_MESSAGE_QUEUE='{queue}' is not a URL"):
        load_settings(tmp_path, {"QA_MESSAGE_QUEUE": queue})


@pytest.mark.parametrize("url, shown", [
    ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    ("postgresql+psycopg://qa:p@ss@db:5432/qa", "postgresql+psycopg://qa:***@db:5432/qa"),
    ("postgresql+psycopg://qa@/qa?host=/var/run/postgresql", "postgresql+psycopg://qa@/qa?host=/var/run/postgresql"),
    ("sqlite:////var/lib/qa/qa.sqlite3", "sqlite:////var/lib/qa/qa.sqlite3"),
])
def test_redact_hides_only_the_password(url, shown):
    assert redact(url) == shown


def test_every_setting_reaches_the_app_config_under_its_name(tmp_path):
    """One table: each field of Settings is the app's config key in capitals, nothing dropped."""
    from dataclasses import fields

    from qa import create_app
    from qa.settings import Settings

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "QA_ENV": {
        "QA_DATABASE_URL": f"sqlite:///{tmp_path / 'qa.sqlite3'}", "QA_SECRET_KEY": "k", "QA_ADMIN_TOKEN": "a",
        "QA_ASYNC_MODE": "threading", "QA_MAX_SOCKETS_PER_ADDRESS": "7", "QA_SPEEDUPS": "off",
        "QA_TRUSTED_PROXIES": "1"}})
    names = {f.name.upper() for f in fields(Settings)}
    assert names <= set(app.config)
    assert (app.config["MAX_SOCKETS_PER_ADDRESS"], app.config["SPEEDUPS"], app.config["TRUSTED_PROXIES"],
            app.config["SECRET_KEY"]) == (7, False, 1, "k")
    from qa.extensions import db

    db.engine_of(app).dispose()
