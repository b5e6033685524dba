"""The organiser's JSON API under /api/admin (qa/web/admin_api.py): the admin token and nothing else, the
console's operations as JSON, and the sockets they reach."""
from __future__ import annotations

import pytest

from conftest import ADMIN_TOKEN, count, text
from qa.domain import events as events_domain
from qa.models import Event

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def json_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, (r.status_code, text(r)[:300])
    assert r.mimetype == "application/json"
    error = r.get_json()["error"]
    assert error["code"] == code and error["message"]
    return error


@pytest.mark.parametrize("headers, status, code", [
    ({}, 401, "unauthorized"),
    ({"Authorization": "Bearer wrong"}, 403, "forbidden"),
])
def test_api_needs_the_admin_token(client, event, headers, status, code):
    for method, path in [("get", "/api/admin/events"), ("post", "/api/admin/events"),
                         ("patch", f"/api/admin/events/{event['code']}"),
                         ("delete", f"/api/admin/events/{event['code']}")]:
        json_error(getattr(client, method)(path, headers=headers, json={"title": "x"}), status, code)


def test_api_session_cookie_is_not_enough(admin_console):
    json_error(admin_console.client.get("/api/admin/events"), 401, "unauthorized")


def test_api_create_list_get_edit(app, client):
    r = client.post("/api/admin/events", headers=ADMIN, json={
        "title": "From a script", "starts_at": "2026-12-01T09:00:00Z", "names": "asked",
        "themes": [{"label": "Trade"}, {"key": "other", "label": "Other", "colour": "#123456"}],
        "submissions_open": True})
    assert r.status_code == 201
    body = r.get_json()
    code = body["code"]
    assert body["status"] == "open" and body["names"] == "asked"
    assert [t["key"] for t in body["themes"]] == ["trade", "other"]
    assert set(body["links"]) == {"participant", "moderator", "screen"}
    assert body["links"]["moderator"].endswith(f"#token={body['moderator_token']}")

    listed = client.get("/api/admin/events", headers=ADMIN).get_json()["events"]
    assert [e["code"] for e in listed] == [code] and listed[0]["counts"]["total"] == 0
    assert client.get(f"/api/admin/events/{code.lower()}", headers=ADMIN).get_json()["title"] == "From a script"

    r = client.patch(f"/api/admin/events/{code}", headers=ADMIN, json={"title": "Renamed", "moderation": "post"})
    assert r.status_code == 200 and r.get_json()["title"] == "Renamed" and r.get_json()["moderation"] == "post"


def test_api_admin_takes_the_same_translations(app, client):
    r = client.post("/api/admin/events", headers=ADMIN, json={
        "title": "T", "translations": {"es": {"title": "Tema"}},
        "themes": [{"label": "Ports", "translations": {"fr": {"label": "Havres"}}}]})
    assert r.status_code == 201, r.get_json()
    code = r.get_json()["code"]
    assert r.get_json()["translations"] == {"es": {"title": "Tema"}, "fr": {"themes": {"ports": {"label": "Havres"}}}}
    r = client.patch(f"/api/admin/events/{code}", headers=ADMIN,
                     json={"translations": {"fr": {"title": "Titre", "themes": {"ports": {"prompt": "Où ?"}}}}})
    assert r.get_json()["translations"]["fr"] == {"title": "Titre", "themes": {"ports": {"prompt": "Où ?"}}}
    r = client.patch(f"/api/admin/events/{code}", headers=ADMIN, json={"translations": {"it": {"title": "No"}}})
    assert r.status_code == 422 and "not “it”" in r.get_json()["error"]["message"]
    assert client.get(f"/api/events/{code}?lang=fr").get_json()["translations"]["fr"]["title"] == "Titre"


@pytest.mark.parametrize("payload, status, code, field", [
    ({"title": ""}, 422, "invalid", "title"),
    ({"title": "T", "themes": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]}, 422, "invalid", "themes"),
    ({"title": "T", "starts_at": "2026-12-01 14:00"}, 422, "invalid", "starts_at"),
    ({"title": "T", "names": 3}, 422, "invalid", "names"),
    ([1, 2], 400, "bad_request", None),
])
def test_api_create_refuses_bad_input(app, client, payload, status, code, field):
    error = json_error(client.post("/api/admin/events", headers=ADMIN, json=payload), status, code)
    assert error.get("field") == field
    assert count(app, Event) == 0


def test_api_refuses_a_body_that_is_not_json(client):
    r = client.post("/api/admin/events", headers=ADMIN, data="title=x")
    assert "JSON body" in json_error(r, 400, "bad_request")["message"]


def test_api_edit_refuses_deleting_a_theme_with_questions(app, client, event, connect):
    connect("participant").emit("question:submit", {"client_id": "c", "theme": "other", "text": "Q?"}, callback=True)
    themes = [t for t in events_domain.DEFAULT_THEMES if t["key"] != "other"]
    error = json_error(client.patch(f"/api/admin/events/{event['code']}", headers=ADMIN, json={"themes": themes}),
                       409, "conflict")
    assert error["field"] == "themes" and "hide it instead" in error["message"]


def test_api_life_cycle_and_delete(app, client, event, connect):
    code = event["code"]
    moderator = connect("moderator")
    assert client.post(f"/api/admin/events/{code}/close", headers=ADMIN).get_json()["status"] == "closed"
    assert client.post(f"/api/admin/events/{code}/open", headers=ADMIN).get_json()["status"] == "open"
    r = client.post(f"/api/admin/events/{code}/rotate-token", headers=ADMIN)
    assert r.get_json()["disconnected"] == 1 and r.get_json()["moderator_token"] != event["token"]
    assert not moderator.is_connected()
    r = client.post(f"/api/admin/events/{code}/duplicate", headers=ADMIN)
    assert r.status_code == 201 and r.get_json()["status"] == "draft"
    assert client.post(f"/api/admin/events/{code}/archive", headers=ADMIN).get_json()["status"] == "archived"
    assert [e["code"] for e in client.get("/api/admin/events?status=archived", headers=ADMIN).get_json()["events"]] \
        == [code]
    json_error(client.post(f"/api/admin/events/{code}/open", headers=ADMIN), 409, "conflict")
    assert client.post(f"/api/admin/events/{code}/restore", headers=ADMIN).get_json()["status"] == "closed"

    error = json_error(client.delete(f"/api/admin/events/{code}", headers=ADMIN), 422, "invalid")
    assert error["field"] == "confirm"
    r = client.delete(f"/api/admin/events/{code}", headers=ADMIN, json={"confirm": code})
    assert r.status_code == 200
    assert r.get_json()["deleted"] == {"code": code, "votes": 0, "history": 0, "questions": 0, "themes": 4,
                                      "blocked": 0}
    json_error(client.get(f"/api/admin/events/{code}", headers=ADMIN), 404, "not_found")
    assert count(app, Event, Event.id == event["id"]) == 0
