"""The HTTP API under /api (qa/web/api.py, qa/web/errors.py, qa/web/auth.py)."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from conftest import ADMIN_TOKEN
from qa.domain import events as events_domain
from qa.domain import moderation, questions
from qa.extensions import db
from qa.models import Event

QUESTION_KEYS = {"id", "theme", "text", "name", "status", "votes", "live", "created_at", "language", "reply"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CODE = re.compile(r"^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_json_error(r, status: int, code: str | None = None) -> dict:
    """A JSON {"error": {code, message}} with the given status, never HTML."""
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.mimetype == "application/json", r.mimetype
    body = r.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) <= {"code", "message", "field"}, error
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    text = r.get_data(as_text=True)
    assert "<html" not in text.lower() and "Traceback" not in text
    return error


def count_events(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Event))


@pytest.fixture
def seeded(app, event) -> dict[str, int]:
    """Questions in every status, with votes, an edit and risky spreadsheet text, via the domain rules."""
    with app.app_context():
        s = db.session
        ev = s.get(Event, event["id"])

        def ask(label: str, text: str, name: str | None = None, theme: str = "finance") -> int:
            payload = {"client_id": label, "theme": theme, "text": text, "name": name}
            return questions.submit(s, ev, "alice", payload).question.id

        def do(qid: int, *actions: str) -> None:
            for action in actions:
                moderation.moderate(s, ev.id, {"id": qid, "action": action})

        ids = {
            "approved": ask("approved", "=1+1", name="@SUM(A1)"),
            "answered": ask("answered", "+cmd|' /C calc'!A0", theme="other"),
            "live": ask("live", "-2+3 is it?", name="Ana"),
            "pending": ask("pending", "Still waiting", name="Zoé"),
            "rejected": ask("rejected", "Off topic"),
        }
        do(ids["approved"], "approve")
        do(ids["answered"], "approve", "answer")
        do(ids["live"], "approve", "live")
        do(ids["rejected"], "reject")
        for voter in ("bob", "carol"):
            questions.vote(s, ev.id, voter, {"id": ids["approved"]})
        questions.vote(s, ev.id, "bob", {"id": ids["answered"]})
        moderation.edit(s, ev.id, ev, {"id": ids["pending"], "text": "Still waiting, edited"})
    return ids


# --- POST /api/events ---------------------------------------------------------------


def test_create_event(client):
    """201 with a short code, the moderator token and the three links; the event is then readable."""
    r = client.post("/api/events", json={"title": "  Small businesses in trade  "}, headers=ADMIN)
    assert r.status_code == 201
    body = r.get_json()
    assert set(body) == {"code", "moderator_token", "links"}
    code, token, links = body["code"], body["moderator_token"], body["links"]
    assert CODE.match(code), code
    assert isinstance(token, str) and len(token) >= 16
    assert set(links) == {"participant", "moderator", "screen"}
    assert links["participant"].endswith(f"/e/{code}")
    assert links["moderator"].endswith(f"/e/{code}/moderate#token={token}")
    assert links["screen"].endswith(f"/e/{code}/screen")
    assert all(link.startswith("http") for link in links.values())
    assert token not in links["participant"] + links["screen"]
    got = client.get(f"/api/events/{code}").get_json()
    assert got["title"] == "Small businesses in trade"
    assert [t["key"] for t in got["themes"]] == ["trade-facilitation", "finance", "digitalization", "other"]
    assert (got["submissions_open"], got["active_theme"]) == (True, None)
    assert client.get(f"/api/events/{code}/questions", headers=bearer(token)).status_code == 200


def test_create_event_with_themes(client):
    """Custom themes are kept in order, with an empty prompt where none was given."""
    themes = [{"key": "tariffs", "label": "Tariffs", "prompt": "What about tariffs?"},
              {"key": "e-commerce-2", "label": "E-commerce"}]
    r = client.post("/api/events", json={"title": "T", "themes": themes}, headers=ADMIN)
    assert r.status_code == 201
    got = client.get(f"/api/events/{r.get_json()['code']}").get_json()
    # Themes carry colour and hidden too (additions): by position, and visible, when not given.
    assert got["themes"] == [{"key": "tariffs", "label": "Tariffs", "prompt": "What about tariffs?",
                              "colour": "#1f6feb", "hidden": False},
                             {"key": "e-commerce-2", "label": "E-commerce", "prompt": "",
                              "colour": "#c05a00", "hidden": False}]


def test_create_event_codes_differ(client):
    """Each event gets its own code."""
    codes = {client.post("/api/events", json={"title": f"T{i}"}, headers=ADMIN).get_json()["code"]
             for i in range(5)}
    assert len(codes) == 5


def test_create_event_needs_the_admin_token(app, client, event):
    """Without the admin token 401, with a wrong one 403; nothing is created."""
    before = count_events(app)
    for headers, status, code in [
        ({}, 401, "unauthorized"),
        ({"Authorization": ""}, 401, "unauthorized"),
        ({"Authorization": "Bearer "}, 401, "unauthorized"),
        ({"Authorization": f"Basic {ADMIN_TOKEN}"}, 401, "unauthorized"),
        ({"Authorization": ADMIN_TOKEN}, 401, "unauthorized"),
        (bearer("wrong"), 403, "forbidden"),
        (bearer(ADMIN_TOKEN + "x"), 403, "forbidden"),
        (bearer(event["token"]), 403, "forbidden"),
    ]:
        r = client.post("/api/events", json={"title": "T"}, headers=headers)
        assert_json_error(r, status, code)
    assert count_events(app) == before


def _themes(n: int) -> list[dict]:
    return [{"key": f"t{i}", "label": f"Theme {i}"} for i in range(n)]


@pytest.mark.parametrize("status, code, bodies", [
    (400, "bad_request", [
        {"data": "title=Hello", "content_type": "application/x-www-form-urlencoded"},
        {"data": '{"title": "Hello"}', "content_type": "text/plain"},
        {"data": '{"title": ', "content_type": "application/json"},
        {"data": "", "content_type": "application/json"},
        {"json": ["title"]},
        {"json": "Hello"},
        {"json": {}},
        {"json": {"title": 5}},
        {"json": {"title": "T", "themes": ["finance"]}},
        {"json": {"title": "T", "themes": [{"key": "finance"}]}},
        {"json": {"title": "T", "themes": [{"label": "Finance"}]}},
    ]),
    (422, "invalid", [
        {"json": {"title": ""}},
        {"json": {"title": "   "}},
        {"json": {"title": "x" * 201}},
        {"json": {"title": "T", "themes": "finance"}},
        {"json": {"title": "T", "themes": {"key": "a", "label": "A"}}},
        {"json": {"title": "T", "themes": []}},
        {"json": {"title": "T", "themes": _themes(13)}},
        {"json": {"title": "T", "themes": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]}},
        {"json": {"title": "T", "themes": [{"key": "Bad Key", "label": "A"}]}},
        {"json": {"title": "T", "themes": [{"key": "-lead", "label": "A"}]}},
        {"json": {"title": "T", "themes": [{"key": "é", "label": "A"}]}},
        {"json": {"title": "T", "themes": [{"key": "k" * 41, "label": "A"}]}},
        {"json": {"title": "T", "themes": [{"key": "a", "label": ""}]}},
    ]),
])
def test_create_event_refuses_bad_bodies(app, client, status, code, bodies):
    """Bodies that are not JSON objects or hold bad values get a JSON 4xx and create nothing."""
    before = count_events(app)
    for kwargs in bodies:
        r = client.post("/api/events", headers=ADMIN, **kwargs)
        assert r.status_code == status, (kwargs, r.get_data(as_text=True))
        assert_json_error(r, status, code)
    assert count_events(app) == before


def test_create_event_at_limits(client):
    """A 200-character title and 12 themes are accepted."""
    r = client.post("/api/events", json={"title": "x" * 200, "themes": _themes(12)}, headers=ADMIN)
    assert r.status_code == 201
    assert len(client.get(f"/api/events/{r.get_json()['code']}").get_json()["themes"]) == 12


def test_oversized_body(app, client):
    """A body over 64 KiB is refused with 413 as JSON."""
    before = count_events(app)
    body = json.dumps({"title": "T", "padding": "x" * 70_000})
    r = client.post("/api/events", data=body, content_type="application/json", headers=ADMIN)
    assert_json_error(r, 413, "too_large")
    assert count_events(app) == before


# --- GET /api/events/<code> ------------------------------------------------------------


def test_get_event_forgiving_code(client, event):
    """Lookups ignore case, spaces and hyphens."""
    code = event["code"]
    for spelling in (code, code.lower(), f"{code[:3]}-{code[3:]}", f" {code[:2]} {code[2:].lower()} ",
                     f"{code[:3].lower()}--{code[3:]}"):
        r = client.get(f"/api/events/{spelling}")
        assert r.status_code == 200, spelling
        body = r.get_json()
        assert {"code", "title", "themes", "submissions_open", "active_theme"} <= set(body)
        assert (body["code"], body["title"]) == (code, "Test webinar")
        assert all(set(t) == {"key", "label", "prompt", "colour", "hidden"} for t in body["themes"])


def test_unknown_event_is_json_404(client, event):
    """An unknown code is a JSON 404 on every event route."""
    for path in ("/api/events/NOPE99", "/api/events/NOPE99/questions",
                 "/api/events/NOPE99/export.csv", "/api/events/NOPE99/export.json"):
        assert_json_error(client.get(path, headers=bearer(event["token"])), 404, "not_found")


# --- GET /api/events/<code>/questions -----------------------------------------------------


def test_questions_public_and_moderator(client, event, seeded):
    """Without a token the public questions; with the moderator token all; a wrong token 403."""
    url = f"/api/events/{event['code']}/questions"
    public = client.get(url).get_json()["questions"]
    assert [q["id"] for q in public] == [seeded["approved"], seeded["answered"], seeded["live"]]
    for q in public:
        assert set(q) == QUESTION_KEYS, q
        assert datetime.fromisoformat(q["created_at"])
    assert {q["id"]: (q["status"], q["votes"], q["live"]) for q in public} == {
        seeded["approved"]: ("approved", 2, False),
        seeded["answered"]: ("answered", 1, False),
        seeded["live"]: ("approved", 0, True),
    }
    everything = client.get(url, headers=bearer(event["token"])).get_json()["questions"]
    assert [q["id"] for q in everything][:3] == [q["id"] for q in public]
    assert {q["id"]: q["status"] for q in everything} == {
        seeded["approved"]: "approved", seeded["answered"]: "answered", seeded["live"]: "approved",
        seeded["pending"]: "pending", seeded["rejected"]: "rejected"}
    for headers in (bearer("wrong"), bearer(ADMIN_TOKEN)):
        assert_json_error(client.get(url, headers=headers), 403, "forbidden")


def test_display_order_follows_reorder(client, event, seeded, connect):
    """The public order is the moderator's queue order; going live does not move a question."""
    url = f"/api/events/{event['code']}/questions"
    m = connect("moderator")
    new = [seeded["live"], seeded["approved"], seeded["answered"]]
    assert m.emit("queue:reorder", {"ids": new}, callback=True)["ok"]
    assert [q["id"] for q in client.get(url).get_json()["questions"]] == new
    assert m.emit("question:moderate", {"id": seeded["answered"], "action": "live"}, callback=True)["ok"]
    order = client.get(url).get_json()["questions"]
    assert [q["id"] for q in order] == new
    assert [q["id"] for q in order if q["live"]] == [seeded["answered"]]


# --- exports ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_needs_the_moderator_token(client, event, fmt):
    """Exports need the moderator token: 401 without, 403 with a wrong one or the admin token."""
    url = f"/api/events/{event['code']}/export.{fmt}"
    assert_json_error(client.get(url), 401, "unauthorized")
    assert_json_error(client.get(url, headers=bearer("wrong")), 403, "forbidden")
    assert_json_error(client.get(url, headers=bearer(ADMIN_TOKEN)), 403, "forbidden")
    assert client.get(url, headers=bearer(event["token"])).status_code == 200


def test_export_json(client, event, seeded):
    """The JSON export has every question with status, theme, votes, times and history."""
    r = client.get(f"/api/events/{event['code']}/export.json", headers=bearer(event["token"]))
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert "attachment" in r.headers["Content-Disposition"]
    body = r.get_json()
    assert body["event"]["code"] == event["code"]
    rows = {q["id"]: q for q in body["questions"]}
    assert set(rows) == set(seeded.values())
    assert {rows[i]["status"] for i in rows} == {"pending", "approved", "answered", "rejected"}
    assert rows[seeded["approved"]]["votes"] == 2
    assert rows[seeded["answered"]]["theme"] == "other"
    assert rows[seeded["approved"]]["theme_label"] == "Access to finance & cross-border payments"
    assert rows[seeded["live"]]["live"] is True
    assert rows[seeded["pending"]]["name"] == "Zoé"
    for row in rows.values():
        assert datetime.fromisoformat(row["created_at"]) and datetime.fromisoformat(row["updated_at"])
    assert [h["action"] for h in rows[seeded["answered"]]["history"]] == ["approve", "answer"]
    edit = rows[seeded["pending"]]["history"][0]
    assert edit["action"] == "edit"
    assert edit["detail"]["from"]["text"] == "Still waiting"
    assert edit["detail"]["to"]["text"] == "Still waiting, edited"
    assert datetime.fromisoformat(edit["at"])


def _csv_rows(r) -> list[dict]:
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff"), "no byte-order mark"
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_export_csv(client, event, seeded):
    """The CSV export has every question with status, theme, votes, times and history."""
    r = client.get(f"/api/events/{event['code']}/export.csv", headers=bearer(event["token"]))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = {int(row["id"]): row for row in _csv_rows(r)}
    assert set(rows) == set(seeded.values())
    for column in ("theme", "theme_label", "status", "live", "votes", "name", "text",
                   "created_at", "updated_at", "history"):
        assert column in rows[seeded["approved"]], column
    # Statuses in the viewer's words (English here), times in UTC without a ?tz=, history as text.
    assert {rows[i]["status"] for i in rows} == {"Awaiting moderation", "Published", "Answered", "Not published"}
    assert rows[seeded["approved"]]["votes"] == "2"
    assert rows[seeded["pending"]]["name"] == "Zoé"
    assert rows[seeded["pending"]]["text"] == "Still waiting, edited"
    history = rows[seeded["answered"]]["history"].split("; ")
    assert [h.rsplit(" ", 1)[1] for h in history] == ["approve", "answer"]
    assert datetime.fromisoformat(rows[seeded["rejected"]]["created_at"])
    assert rows[seeded["rejected"]]["time_zone"] == "UTC"


def test_export_csv_neutralises_formulas(client, event, seeded):
    """Text and names starting with =, +, - or @ are prefixed with ' in the CSV."""
    r = client.get(f"/api/events/{event['code']}/export.csv", headers=bearer(event["token"]))
    rows = {int(row["id"]): row for row in _csv_rows(r)}
    assert rows[seeded["approved"]]["text"] == "'=1+1"
    assert rows[seeded["approved"]]["name"] == "'@SUM(A1)"
    assert rows[seeded["answered"]]["text"] == "'+cmd|' /C calc'!A0"
    assert rows[seeded["live"]]["text"] == "'-2+3 is it?"
    assert rows[seeded["live"]]["name"] == "Ana"
    for row in rows.values():
        for value in row.values():
            assert not value or value[0] not in "=+-@", row


def test_export_csv_neutralises_theme_labels(client):
    """Every cell is neutralised, theme labels included (docs/api.md: cells starting with = + - @)."""
    themes = [{"key": "calc", "label": "=HYPERLINK(\"http://x.example\",\"click\")"}]
    made = client.post("/api/events", json={"title": "T", "themes": themes}, headers=ADMIN).get_json()
    with client.application.app_context():
        ev = events_domain.find_event(db.session, made["code"])
        questions.submit(db.session, ev, "alice", {"client_id": "c", "theme": "calc", "text": "Hi"})
    r = client.get(f"/api/events/{made['code']}/export.csv", headers=bearer(made["moderator_token"]))
    (row,) = _csv_rows(r)
    assert row["theme_label"].startswith("'=")


def test_export_csv_has_queue_position(client, event, seeded):
    """The CSV carries each question's queue position, like the JSON export."""
    r = client.get(f"/api/events/{event['code']}/export.csv", headers=bearer(event["token"]))
    rows = {int(row["id"]): row for row in _csv_rows(r)}
    assert "position" in rows[seeded["approved"]]


# --- errors are JSON -----------------------------------------------------------------


def test_api_errors_are_json(client, event):
    """Unknown routes and wrong methods under /api answer JSON, even to a browser asking for HTML."""
    html = {"Accept": "text/html,application/xhtml+xml"}
    assert_json_error(client.get("/api/nope", headers=html), 404, "not_found")
    assert_json_error(client.get("/api/events", headers=html), 405, "method_not_allowed")
    assert_json_error(client.delete(f"/api/events/{event['code']}", headers=html), 405)
    assert_json_error(client.post(f"/api/events/{event['code']}/questions", headers=html), 405)


def test_unexpected_error_is_json_500(client, event, monkeypatch):
    """A bug inside a route is a JSON 500 without a traceback."""
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(events_domain, "find_event", broken)
    r = client.get(f"/api/events/{event['code']}")
    error = assert_json_error(r, 500, "internal")
    assert "secret internals" not in error["message"]
