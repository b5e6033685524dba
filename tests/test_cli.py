"""`flask --app qa events …` (qa/cli.py): create, list, open, close, archive, delete, each printing links."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from qa.domain import events as events_domain
from qa.domain import organiser, questions
from qa.extensions import db
from qa.models import Event, Question, Theme

from conftest import received

LINKS = re.compile(r"participant: (\S+)\n  moderator:   (\S+)\n  screen:      (\S+)")


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def run(runner, *args: str, input: str | None = None, ok: bool = True):
    result = runner.invoke(args=["events", *args], input=input)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def stored(app, code: str) -> dict:
    with app.app_context():
        return organiser.describe(db.session, events_domain.find_event(db.session, code))


def test_create_prints_the_code_and_the_three_links(app, runner):
    out = run(runner, "create", "Session 4", "--description", "Late panel", "--starts-at", "2026-12-01T10:00+01:00",
              "--theme", "Trade | What should change?", "--theme", "Finance", "--moderation", "post",
              "--names", "asked", "--base-url", "https://qa.example.org/").output
    code = re.search(r"Created event ([A-Z0-9]{6}):", out).group(1)
    participant, moderator, screen = LINKS.search(out).groups()
    ev = stored(app, code)
    assert participant == f"https://qa.example.org/e/{code}"
    assert moderator == f"https://qa.example.org/e/{code}/moderate#token={ev['moderator_token']}"
    assert screen == f"https://qa.example.org/e/{code}/screen"
    assert f"{code}  [draft]  Session 4" in out
    assert (ev["description"], ev["starts_at"], ev["moderation"], ev["names"]) == (
        "Late panel", "2026-12-01T09:00:00.000Z", "post", "asked")
    assert [(t["key"], t["label"], t["prompt"]) for t in ev["themes"]] == [
        ("trade", "Trade", "What should change?"), ("finance", "Finance", "")]


def test_create_defaults_open_and_json(app, runner):
    out = run(runner, "create", "Scripted", "--open", "--json").output
    body = json.loads(out)
    assert body["status"] == "open" and body["links"]["participant"] == f"http://127.0.0.1:5000/e/{body['code']}"
    assert [t["key"] for t in body["themes"]] == [t["key"] for t in events_domain.DEFAULT_THEMES]


def test_create_takes_themes_as_json(app, runner):
    themes = [{"key": "a", "label": "Alpha", "colour": "#010203"}, {"key": "b", "label": "Beta"}]
    out = run(runner, "create", "JSON themes", "--themes-json", "-", "--json", input=json.dumps(themes)).output
    assert [(t["key"], t["colour"]) for t in json.loads(out)["themes"]] == [("a", "#010203"), ("b", "#c05a00")]


@pytest.mark.parametrize("args, message", [
    (["   "], "The field “title” cannot be empty."),
    (["Dup", "--theme", "Finance", "--theme", "finance"], "Theme key “finance” is used twice."),
    (["Bad", "--themes-json", "-"], "not JSON"),
    (["Bad", "--starts-at", "next week"], "is not a date and time"),
    (["Bad", "--names", "never"], "Invalid value for '--names'"),
])
def test_create_refuses_bad_input_with_a_clear_message(app, runner, args, message):
    result = run(runner, "create", *args, input="{not json", ok=False)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_list_shows_status_counts_and_links(app, runner, event, connect):
    participant = connect("participant")
    participant.emit("question:submit", {"client_id": "c", "theme": "finance", "text": "Q?"}, callback=True)
    run(runner, "create", "Later")
    out = run(runner, "list").output
    assert f"{event['code']}  [open]  Test webinar" in out
    assert "1 awaiting moderation, 0 published, 0 answered, 0 not published" in out
    assert f"moderate#token={event['token']}" in out
    assert len(LINKS.findall(out)) == 2
    body = json.loads(run(runner, "list", "--json").output)
    assert {e["code"] for e in body} >= {event["code"]} and all("links" in e for e in body)


def test_list_when_empty(runner):
    assert "No events yet" in run(runner, "list").output


def test_open_close_archive(app, runner, event):
    out = run(runner, "close", event["code"].lower()).output
    assert f"Questions are closed for {event['code']}:" in out and LINKS.search(out)
    assert stored(app, event["code"])["status"] == "closed"
    assert "[open]" in run(runner, "open", event["code"]).output
    out = run(runner, "archive", event["code"]).output
    assert "[archived]" in out
    assert event["code"] not in run(runner, "list").output
    assert event["code"] in run(runner, "list", "--archived").output
    result = run(runner, "open", event["code"], ok=False)
    assert result.exit_code == 1 and "restore it before opening it" in result.output


def test_unknown_code(runner):
    result = run(runner, "close", "NOPE42", ok=False)
    assert result.exit_code == 1 and "No event has the code “NOPE42”." in result.output


def test_delete_asks_for_the_code_then_removes_every_row(app, runner, event, connect):
    participant = connect("participant")
    ack = participant.emit("question:submit", {"client_id": "c", "theme": "finance", "text": "Q?"}, callback=True)
    assert ack["ok"]

    result = run(runner, "delete", event["code"], input="WRONG\n", ok=False)
    assert result.exit_code == 1 and f"confirm with its code “{event['code']}”" in result.output
    assert stored(app, event["code"])["counts"]["total"] == 1

    out = run(runner, "delete", event["code"], input=event["code"].lower() + "\n").output
    assert f"Type the code {event['code']} to delete it" in out
    assert f"Deleted {event['code']} with 1 questions" in out and LINKS.search(out)
    with app.app_context():
        assert db.session.get(Event, event["id"]) is None
        assert db.session.scalar(select(func.count()).select_from(Question)) == 0
        assert db.session.scalar(select(func.count()).select_from(Theme)) == 0


def test_delete_yes_does_not_ask(app, runner, event):
    out = run(runner, "delete", event["code"], "--yes").output
    assert "Type the code" not in out and f"Deleted {event['code']}" in out
    with app.app_context():
        assert questions.all_questions(db.session, event["id"]) == []
        assert db.session.get(Event, event["id"]) is None


def test_create_and_edit_take_the_title_and_themes_in_french_and_spanish(app, runner, tmp_path):
    themes = tmp_path / "themes.json"
    themes.write_text(json.dumps([{"label": "Ports", "translations": {"fr": {"label": "Havres"}}}]))
    out = run(runner, "create", "Talk", "--title-fr", "Causerie", "--themes-json", str(themes), "--json").output
    code = json.loads(out)["code"]
    assert stored(app, code)["translations"] == {"fr": {"title": "Causerie",
                                                        "themes": {"ports": {"label": "Havres"}}}}
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps({"es": {"themes": {"ports": {"prompt": "¿Cuáles?"}}}}))
    run(runner, "edit", code, "--title-es", "Charla", "--translations-json", str(texts))
    assert stored(app, code)["translations"] == {
        "fr": {"title": "Causerie", "themes": {"ports": {"label": "Havres"}}},
        "es": {"title": "Charla", "themes": {"ports": {"prompt": "¿Cuáles?"}}}}
    run(runner, "edit", code, "--title", "Harbour talk", "--title-fr", "")
    ev = stored(app, code)
    assert ev["title"] == "Harbour talk" and "title" not in ev["translations"]["fr"]


@pytest.mark.parametrize("args, message", [
    (["--translations-json", "-"], "not JSON"),
    (["--title-fr", "x" * 201], "too long"),
])
def test_edit_refuses_bad_translations_and_changes_nothing(app, runner, args, message):
    code = json.loads(run(runner, "create", "Kept", "--json").output)["code"]
    result = run(runner, "edit", code, *args, input="{not json", ok=False)
    assert result.exit_code != 0 and message in result.output
    assert stored(app, code)["translations"].get("fr", {}).get("title") is None
    assert run(runner, "edit", code, ok=False).exit_code == 1  # nothing to change


def test_changes_reach_the_sockets_as_from_the_console(app, runner, event, connect):
    """The CLI tells the sockets through qa/web/event_changes.py, as the console and /api/admin do."""
    participant, moderator = connect("participant"), connect("moderator")
    received(participant), received(moderator)
    run(runner, "close", event["code"])
    assert [u["event"]["submissions_open"] for u in received(participant, "event:update")] == [False]
    run(runner, "edit", event["code"], "--title", "Renamed")
    assert [u["event"]["title"] for u in received(moderator, "event:update")] == ["Test webinar", "Renamed"]
    run(runner, "delete", event["code"], "--yes")
    assert not participant.is_connected() and not moderator.is_connected()


@pytest.mark.timeout(150)
def test_with_a_message_queue_a_running_server_hears_the_cli(redis_url, tmp_path):
    """`flask --app qa events close/delete` in a process of its own reaches a client of a running
    `python run.py` through Redis (Flask-SocketIO's emitting from an external process)."""
    import subprocess
    import sys
    import threading

    import requests
    import socketio as socketio_client

    from conftest import ADMIN_TOKEN
    from live_server import ROOT, LiveServer

    env = {"QA_DATABASE_URL": f"sqlite:///{tmp_path / 'qa.sqlite3'}", "QA_SECRET_KEY": "shared-secret",
           "QA_ADMIN_TOKEN": ADMIN_TOKEN, "QA_MESSAGE_QUEUE": redis_url, "QA_ASYNC_MODE": "threading",
           "QA_RATE_LIMITS": "off", "QA_INSTANCE_PATH": str(tmp_path)}

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "qa", "events", *args], cwd=ROOT,
                              env={**__import__("os").environ, **env}, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    server = LiveServer(env, args=("--no-demo",)).start(timeout=90)
    try:
        code = json.loads(cli("create", "Queued", "--open", "--json"))["code"]
        got: dict[str, list] = {"event:update": [], "event:closed": [], "disconnect": []}
        arrived = threading.Condition()
        client = socketio_client.Client(reconnection=False)

        def keep(name: str):
            def handler(data=None, *_):
                with arrived:
                    got[name].append(data)
                    arrived.notify_all()
            return handler

        for name in got:
            client.on(name, keep(name))

        def wait_for(name: str) -> list:
            with arrived:
                assert arrived.wait_for(lambda: got[name], timeout=15), (name, got)
                return got[name]

        assert requests.get(server.url + "/healthz", timeout=5).ok
        client.connect(server.url, auth={"event": code, "role": "participant"}, transports=["websocket"],
                       wait_timeout=15)
        try:
            cli("close", code)
            assert wait_for("event:update")[-1]["event"]["submissions_open"] is False
            cli("delete", code, "--yes")
            assert wait_for("event:closed") == [{}]
            # The server's own check refuses what the client does next (the page has left already).
            ack = client.call("question:submit", {"client_id": "c", "theme": "finance", "text": "Still here?"},
                              timeout=15)
            assert ack["ok"] is False, ack
        finally:
            client.disconnect()
    finally:
        server.stop()
