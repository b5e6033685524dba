"""The organiser console (qa/web/console.py, qa/web/event_form.py, qa/web/csrf.py, templates/admin/) and
qa/web/admin_api.py: its forms through the test client with the session cookie, its JSON endpoints under /api/admin, the sockets it
closes, and one real browser that creates an event and asks a question in it."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import ADMIN_TOKEN, received
from qa.domain import events as events_domain
from qa.domain import organiser, questions
from qa.extensions import db, socketio
from qa.models import Event, Question, QuestionHistory, Theme, Vote

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def csrf_of(html: str) -> str:
    return CSRF_INPUT.search(html).group(1)


def form(title: str = "Session 1", themes: list[tuple[str, str]] | None = None, **extra: str) -> dict:
    """The event form as a browser posts it."""
    data = {"title": title, "description": "", "starts_at": "", "tz_offset": "",
            "moderation": "pre", "names": "optional"}
    for i, (key, label) in enumerate([("a", "Alpha"), ("b", "Beta")] if themes is None else themes):
        data.update({f"themes-{i}-key": key, f"themes-{i}-label": label,
                     f"themes-{i}-prompt": f"About {label}?", f"themes-{i}-colour": "#1f6feb"})
    data.update(extra)
    return data


class Console:
    """The test client signed in to /admin, posting forms with the session's CSRF token."""

    def __init__(self, client):
        self.client = client

    def csrf(self) -> str:
        with self.client.session_transaction() as s:
            if "csrf" in s:
                return s["csrf"]
        return csrf_of(text(self.client.get("/admin")))

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | None = None, **kw):
        return self.client.post(path, data={"csrf_token": self.csrf(), **(data or {})}, **kw)


def sign_in(client, token: str = ADMIN_TOKEN):
    page = client.get("/admin")
    return client.post("/admin/sign-in", data={"token": token, "csrf_token": csrf_of(page.get_data(as_text=True))})


@pytest.fixture
def console(client) -> Console:
    r = sign_in(client)
    assert r.status_code == 303 and r.headers["Location"] == "/admin"
    return Console(client)


def text(r) -> str:
    return r.get_data(as_text=True)


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def load(app, code: str) -> dict:
    with app.app_context():
        return organiser.describe(db.session, events_domain.find_event(db.session, code))


def created_code(r) -> str:
    assert r.status_code == 303, text(r)[:500]
    return re.search(r"#event-([A-Z0-9]+)$", r.headers["Location"]).group(1)


# ---- Signing in and out ------------------------------------------------------------------


def test_signed_out_sees_the_sign_in_form_and_nothing_else(client, event):
    r = client.get("/admin")
    assert r.status_code == 200 and 'name="token"' in text(r) and event["code"] not in text(r)
    for path in ("/admin/events/new", f"/admin/events/{event['code']}/edit", f"/admin/events/{event['code']}/print"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"] == "/admin"
    page = client.get("/admin")
    r = client.post(f"/admin/events/{event['code']}/close", data={"csrf_token": csrf_of(text(page))})
    assert r.status_code == 401 and "Sign in with the admin token first." in text(r)


@pytest.mark.parametrize("token, status, message", [
    ("", 401, "Enter the admin token."),
    ("not-the-token", 403, "The admin token is wrong."),
])
def test_sign_in_refuses_a_missing_or_wrong_token(client, token, status, message):
    r = sign_in(client, token)
    assert r.status_code == status and message in text(r)
    assert 'aria-invalid="true"' in text(r)
    assert client.get("/admin/events/new").status_code == 302


def test_sign_in_sets_a_protected_cookie_and_sign_out_ends_it(client):
    r = sign_in(client)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert ADMIN_TOKEN not in cookie
    assert client.get("/admin/events/new").status_code == 200
    r = Console(client).post("/admin/sign-out")
    assert r.status_code == 303
    assert client.get("/admin/events/new").status_code == 302
    assert "You are signed out." in text(client.get("/admin"))


def test_cookie_is_secure_over_https(app):
    client = app.test_client()
    page = client.get("/admin", base_url="https://localhost")
    r = client.post("/admin/sign-in", base_url="https://localhost",
                    data={"token": ADMIN_TOKEN, "csrf_token": csrf_of(text(page))})
    assert r.status_code == 303 and "; Secure" in r.headers["Set-Cookie"]


def test_a_changed_admin_token_ends_old_sessions(app, console):
    app.config["ADMIN_TOKEN"] = "a-new-admin-token"
    assert console.get("/admin/events/new").status_code == 302


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_every_form_needs_the_csrf_token(app, console, event, csrf):
    data = form("Forged") | ({} if csrf is None else {"csrf_token": csrf})
    for path, payload in [("/admin/events", data), (f"/admin/events/{event['code']}/close", {}),
                          (f"/admin/events/{event['code']}/delete",
                           {"understood": "yes", "confirm": event["code"]}),
                          ("/admin/sign-out", {})]:
        if csrf is not None:
            payload = {**payload, "csrf_token": csrf}
        r = console.client.post(path, data=payload)
        assert r.status_code == 403, path
        assert "This form has expired or did not come from this site." in text(r)
    assert count(app, Event) == 1 and load(app, event["code"])["submissions_open"] is True
    assert console.get("/admin/events/new").status_code == 200  # still signed in


def test_sign_in_form_needs_the_csrf_token_too(client):
    client.get("/admin")
    r = client.post("/admin/sign-in", data={"token": ADMIN_TOKEN, "csrf_token": "x"})
    assert r.status_code == 403
    assert client.get("/admin/events/new").status_code == 302


# ---- The event list and the forms -----------------------------------------------------------


def test_console_pages_have_no_inline_script_or_style(console, event):
    for path in ("/admin", "/admin/events/new", f"/admin/events/{event['code']}/edit",
                 f"/admin/events/{event['code']}/delete", f"/admin/events/{event['code']}/print"):
        r = console.get(path)
        html = text(r)
        assert r.status_code == 200, path
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\sstyle=", html) and "<style" not in html, path
        assert 'href="/static/css/app.css"' not in html  # the console's own base, not the pages'


def test_create_from_the_form(app, console):
    data = form("Session 1: digital trade", description="With the private sector.",
                starts_at="2026-12-01T14:30", tz_offset="-60", moderation="post", names="hidden")
    data["themes-1-hidden"] = "on"
    data.update({"themes-2-key": "", "themes-2-label": "Logistics & ports", "themes-2-prompt": "",
                 "themes-2-colour": "#AA0000"})
    data.update({"themes-3-key": "", "themes-3-label": "", "themes-3-prompt": ""})  # an empty row
    code = created_code(console.post("/admin/events", data))
    ev = load(app, code)
    assert ev["title"] == "Session 1: digital trade" and ev["description"] == "With the private sector."
    assert ev["starts_at"] == "2026-12-01T13:30:00.000Z"  # 14:30 at UTC+1
    assert (ev["moderation"], ev["names"], ev["status"]) == ("post", "hidden", "draft")
    assert [(t["key"], t["label"], t["hidden"], t["colour"]) for t in ev["themes"]] == [
        ("a", "Alpha", False, "#1f6feb"), ("b", "Beta", True, "#1f6feb"),
        ("logistics-ports", "Logistics & ports", False, "#aa0000")]

    page = text(console.get("/admin"))
    assert f"Created “Session 1: digital trade”, code {code}." in page
    assert f'id="event-{code}"' in page and "Draft" in page
    links = load_links(app, code)
    for role in ("participant", "moderator", "screen"):
        assert f'value="{links[role]}"' in page.replace("&amp;", "&")
        assert f'data-copy="link-{code}-{role}"' in page
    assert f"/admin/events/{code}/print" in page


def load_links(app, code: str) -> dict:
    from qa.links import event_links

    ev = load(app, code)
    with app.test_request_context():
        return event_links(code, ev["moderator_token"])


def test_create_open_now(app, console):
    code = created_code(console.post("/admin/events", form("Open at once", open_now="on")))
    assert load(app, code)["status"] == "open"


def test_new_form_starts_empty_and_offers_the_default_themes_in_one_click(app, console):
    html = text(console.get("/admin/events/new"))
    assert 'name="themes-0-label"' in html and 'name="themes-1-label"' not in html
    for theme in events_domain.DEFAULT_THEMES:
        assert f'value="{theme["key"]}"' not in html
    assert 'value="pre" checked' in html and 'value="optional" checked' in html
    assert 'name="use_defaults"' in html

    # The one click keeps what was typed and fills in the four themes with their French and Spanish.
    r = console.post("/admin/events", {"title": "Typed first", "title_fr": "Tapé", "use_defaults": "1",
                                       "themes-0-label": "", "themes-0-key": ""})
    html = text(r)
    assert r.status_code == 200 and count(app, Event) == 0
    assert 'value="Typed first"' in html and 'value="Tapé"' in html
    for i, theme in enumerate(events_domain.DEFAULT_THEMES):
        assert f'name="themes-{i}-key"' in html and f'value="{theme["key"]}"' in html
    assert 'value="Facilitación del comercio"' in html and "Numérisation" in html


def test_title_and_themes_in_french_and_spanish_from_the_form(app, console):
    data = form("Trade talk", themes=[("", "Ports")], title_fr="Débat", title_es="")
    data.update({"themes-0-label_fr": "Havres", "themes-0-prompt_fr": "Quels ports ?",
                 "themes-0-label_es": "Puertos", "themes-0-prompt_es": ""})
    code = created_code(console.post("/admin/events", data))
    texts = load(app, code)["translations"]
    assert texts == {"fr": {"title": "Débat", "themes": {"ports": {"label": "Havres", "prompt": "Quels ports ?"}}},
                     "es": {"themes": {"ports": {"label": "Puertos"}}}}
    html = text(console.get(f"/admin/events/{code}/edit"))
    assert 'value="Débat"' in html and 'value="Havres"' in html and "Quels ports ?</textarea>" in html

    # Renamed in the form (key left as it was): the key follows the label; French cleared, Spanish set.
    data = form("Trade talk", themes=[("ports", "Harbours")], title_fr="", title_es="Debate")
    data.update({"themes-0-label_fr": "", "themes-0-prompt_fr": "", "themes-0-label_es": "Puertos",
                 "themes-0-prompt_es": "¿Cuáles?"})
    assert console.post(f"/admin/events/{code}/edit", data).status_code == 303
    ev = load(app, code)
    assert [t["key"] for t in ev["themes"]] == ["harbours"]
    assert ev["translations"] == {"es": {"title": "Debate",
                                         "themes": {"harbours": {"label": "Puertos", "prompt": "¿Cuáles?"}}}}


def test_a_too_long_translation_is_refused_next_to_the_themes(app, console):
    data = form("Long", themes=[("", "Ports")], **{"themes-0-label_fr": "x" * 121})
    r = console.post("/admin/events", data)
    assert r.status_code == 422 and "A translation is too long" in text(r)
    assert 'href="#field-themes"' in text(r) and count(app, Event) == 0


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


@pytest.mark.parametrize("data, message", [
    (form("   "), "The field “title” cannot be empty."),
    (form("Dup", themes=[("a", "Alpha"), ("a", "Again")]), "Theme key “a” is used twice."),
    (form("Dup labels", themes=[("", "Finance"), ("", "finance")]), "Theme key “finance” is used twice."),
    (form("Bad key", themes=[("Not A Key", "Alpha")]), "must be lowercase letters, digits and hyphens"),
    (form("No themes", themes=[]), "Add at least one theme."),
    (form("Blank label", themes=[("", "")]), "Each theme needs a label."),
    (form("Bad date", starts_at="soon"), "is not a date and time"),
    (form("Bad colour", **{"themes-0-colour": "blue"}), "must be a hex colour like #1f6feb"),
    (form("Bad names", names="sometimes"), "'names' must be"),
])
def test_create_form_refuses_bad_input_next_to_the_field(app, console, data, message):
    r = console.post("/admin/events", data)
    assert r.status_code == 422, text(r)[:300]
    html = text(r)
    assert message in html.replace("&#39;", "'").replace("&#34;", '"')
    assert "The event was not saved." in html and 'role="alert"' in html
    assert count(app, Event) == 0
    if data["title"].strip():  # what was typed is kept
        assert f'value="{data["title"]}"' in html


def test_edit_form_saves_and_broadcasts(app, console, event, connect):
    participant = connect("participant")
    received(participant)
    html = text(console.get(f"/admin/events/{event['code']}/edit"))
    assert 'value="Test webinar"' in html
    themes = [(t["key"], t["label"]) for t in events_domain.DEFAULT_THEMES]
    themes = [themes[1], themes[0]] + themes[2:]
    r = console.post(f"/admin/events/{event['code']}/edit", form("Renamed webinar", themes=themes))
    assert r.status_code == 303 and r.headers["Location"] == f"/admin#event-{event['code']}"
    ev = load(app, event["code"])
    assert ev["title"] == "Renamed webinar" and [t["key"] for t in ev["themes"]][:2] == ["finance", "trade-facilitation"]
    updates = received(participant, "event:update")
    assert updates and updates[-1]["event"]["title"] == "Renamed webinar"


def test_edit_form_refuses_deleting_a_theme_with_questions(app, console, event, connect):
    participant = connect("participant")
    ack = participant.emit("question:submit", {"client_id": "c1", "theme": "finance", "text": "Money?"},
                           callback=True)
    assert ack["ok"], ack
    html = text(console.get(f"/admin/events/{event['code']}/edit"))
    assert "1 question in this theme: it can be hidden, not removed." in html
    kept = [(t["key"], t["label"]) for t in events_domain.DEFAULT_THEMES if t["key"] != "finance"]
    r = console.post(f"/admin/events/{event['code']}/edit", form("Test webinar", themes=kept))
    assert r.status_code == 409
    assert "already has questions (1), so it cannot be deleted; hide it instead." in text(r)
    assert len(load(app, event["code"])["themes"]) == 4

    data = form("Test webinar", themes=[(t["key"], t["label"]) for t in events_domain.DEFAULT_THEMES])
    data["themes-1-hidden"] = "on"
    assert console.post(f"/admin/events/{event['code']}/edit", data).status_code == 303
    assert [t["key"] for t in load(app, event["code"])["themes"] if t["hidden"]] == ["finance"]


def test_open_close_archive_restore_and_duplicate(app, console, event, connect):
    code = event["code"]
    participant = connect("participant")
    received(participant)
    assert console.post(f"/admin/events/{code}/close").status_code == 303
    assert load(app, code)["status"] == "closed"
    assert received(participant, "event:update")[-1]["event"]["submissions_open"] is False
    assert "Questions are closed for “Test webinar”." in text(console.get("/admin"))
    console.post(f"/admin/events/{code}/open")
    assert load(app, code)["status"] == "open"

    console.post(f"/admin/events/{code}/archive")
    assert load(app, code)["status"] == "archived" and load(app, code)["submissions_open"] is False
    assert f'id="event-{code}"' not in text(console.get("/admin"))
    assert f'id="event-{code}"' in text(console.get("/admin?show=archived"))
    r = console.post(f"/admin/events/{code}/open")
    assert r.status_code == 409 and "restore it before opening it" in text(r)
    console.post(f"/admin/events/{code}/restore")
    assert load(app, code)["status"] == "closed"

    r = console.post(f"/admin/events/{code}/duplicate")
    assert r.status_code == 303
    copy_code = re.search(r"/admin/events/([A-Z0-9]+)/edit$", r.headers["Location"]).group(1)
    assert copy_code != code
    copy = load(app, copy_code)
    assert copy["title"] == "Test webinar (copy)" and copy["status"] == "draft"
    assert "Give it its own title and date." in text(console.get(r.headers["Location"]))


def test_rotate_token_disconnects_the_old_moderators_at_once(app, console, event, connect):
    moderator = connect("moderator")
    participant = connect("participant")
    screen = connect("screen")
    assert moderator.is_connected()
    r = console.post(f"/admin/events/{event['code']}/rotate-token")
    assert r.status_code == 303
    assert not moderator.is_connected()
    assert participant.is_connected() and screen.is_connected()
    assert "1 moderator connection closed" in text(console.get("/admin"))
    new_token = load(app, event["code"])["moderator_token"]
    assert new_token != event["token"]
    assert not connect("moderator").is_connected()  # the old token is refused
    assert connect("moderator", token=new_token).is_connected()


def test_delete_is_asked_twice_then_everything_is_gone(app, console, event, connect):
    code = event["code"]
    participant = connect("participant")
    ack = participant.emit("question:submit", {"client_id": "c1", "theme": "finance", "text": "Money?"},
                           callback=True)
    qid = ack["question"]["id"]
    with app.app_context():
        from qa.domain import moderation

        moderation.moderate(db.session, event["id"], {"id": qid, "action": "approve"})
        questions.vote(db.session, event["id"], "someone", {"id": qid})

    page = text(console.get(f"/admin/events/{code}/delete"))
    assert "1 question and their history (1 entry)" in page and "1 vote," in page

    r = console.post(f"/admin/events/{code}/delete", {"confirm": code})
    assert r.status_code == 422 and "Tick the box to confirm" in text(r)
    r = console.post(f"/admin/events/{code}/delete", {"understood": "yes", "confirm": "NOPE"})
    assert r.status_code == 422 and f"confirm with its code “{code}”" in text(r)
    assert count(app, Event, Event.id == event["id"]) == 1

    r = console.post(f"/admin/events/{code}/delete", {"understood": "yes", "confirm": code.lower()})
    assert r.status_code == 303
    assert f"Deleted “Test webinar” ({code}) with its 1 question and 1 vote." in text(console.get("/admin"))
    assert not participant.is_connected()
    assert count(app, Event, Event.id == event["id"]) == 0
    assert count(app, Theme, Theme.event_id == event["id"]) == 0
    assert count(app, Question) == 0 and count(app, Vote) == 0 and count(app, QuestionHistory) == 0
    assert console.get(f"/admin/events/{code}/delete").status_code == 404


def test_printable_page_has_the_link_and_its_qr(app, console, event):
    html = text(console.get(f"/admin/events/{event['code']}/print"))
    link = load_links(app, event["code"])["participant"]
    assert f'src="/e/{event["code"]}/qr.svg"' in html and link in html
    assert event["code"] in html and event["token"] not in html  # the handout never shows the moderator link
    assert console.get(f"/e/{event['code']}/qr.svg").mimetype == "image/svg+xml"


def test_unknown_code_is_a_plain_page(console):
    r = console.get("/admin/events/NOPE99/edit")
    assert r.status_code == 404 and "No event has the code" in text(r)


# ---- JSON: /api/admin ------------------------------------------------------------------------


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


def test_api_session_cookie_is_not_enough(console):
    json_error(console.client.get("/api/admin/events"), 401, "unauthorized")


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


def test_the_socket_manager_is_the_single_process_one_without_a_queue(app):
    """Without QA_MESSAGE_QUEUE, disconnects only reach this process's sockets (see docs/admin.md)."""
    from socketio.pubsub_manager import PubSubManager

    assert not isinstance(socketio.server.manager, PubSubManager)


# ---- A real browser ---------------------------------------------------------------------------

needs_browser = pytest.mark.usefixtures("browser_required")


@needs_browser
@pytest.mark.timeout(120)
def test_in_a_browser_create_an_event_then_ask_in_it():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    from live_server import LiveServer

    expect = sync_api.expect
    wait = 10_000  # every wait is bounded
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="qa-admin-") as workdir:
        env = {"QA_DATABASE_URL": f"sqlite:///{workdir}/t.db", "QA_ADMIN_TOKEN": ADMIN_TOKEN,
               "QA_SECRET_KEY": "test-secret", "QA_ASYNC_MODE": "threading", "QA_INSTANCE_PATH": workdir}
        with LiveServer(env, args=("--no-demo",)) as server, sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            try:
                laptop = browser.new_context(viewport={"width": 1280, "height": 900})
                laptop.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
                desk = laptop.new_page()
                desk.set_default_timeout(wait)
                desk.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
                desk.on("pageerror", lambda e: errors.append(f"console: {e}"))

                desk.goto(server.url + "/admin")
                desk.fill("#token", ADMIN_TOKEN)
                desk.click("button:has-text('Sign in')")
                expect(desk.locator("h1")).to_have_text("Events", timeout=wait)
                desk.locator(".page-head").get_by_role("link", name="New event").click()

                desk.fill("#title", "Session 3: questions from the floor")
                desk.fill("#description", "The afternoon panel.")
                desk.fill("#starts_at", "2026-12-01T15:00")
                # No demo themes until asked for: one empty row, and the four one click away.
                expect(desk.locator("#theme-rows > li")).to_have_count(1)
                desk.click("#use-defaults")
                expect(desk.locator("#theme-rows > li")).to_have_count(4)
                expect(desk.locator("#title")).to_have_value("Session 3: questions from the floor")
                expect(desk.locator("#themes-0-label_fr")).to_have_value("Facilitation des échanges")
                desk.locator("#field-translations > summary").click()
                desk.fill("#title_fr", "Séance 3 : les questions de la salle")
                desk.click("#add-theme")
                desk.fill("#themes-4-label", "Logistics")
                desk.locator("#theme-rows > li").nth(4).locator(".theme-translations > summary").click()
                desk.fill("#themes-4-label_fr", "Logistique")
                desk.locator("#theme-rows > li").nth(3).locator("[data-remove]").click()  # "Other issues"
                desk.locator("#theme-rows > li").nth(3).locator("[data-move=up]").click()  # Logistics up
                desk.screenshot(path=str(artifacts / "admin-form.png"), full_page=True)
                desk.click("button:has-text('Create event')")

                card = desk.locator(".event", has_text="Session 3: questions from the floor")
                expect(card.locator(".status")).to_have_text("Draft", timeout=wait)
                expect(card.locator(".theme-chip")).to_have_text(
                    ["Trade facilitation", "Access to finance & cross-border payments", "Logistics",
                     "Digitalization"], timeout=wait)
                card.get_by_role("button", name="Open questions").click()
                card = desk.locator(".event", has_text="Session 3: questions from the floor")
                expect(card.locator(".status")).to_have_text("Open", timeout=wait)
                code = card.get_attribute("data-code")
                participant_url = card.locator(f"#link-{code}-participant").input_value()
                assert participant_url == f"{server.url}/e/{code}"
                card.locator(f"[data-copy='link-{code}-participant']").click()
                expect(card.locator(f"[data-copy='link-{code}-participant']")).to_have_text("Copied", timeout=wait)
                assert desk.evaluate("navigator.clipboard.readText()") == participant_url
                desk.screenshot(path=str(artifacts / "admin-events.png"), full_page=True)

                phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
                phone.set_default_timeout(wait)
                phone.on("pageerror", lambda e: errors.append(f"participant: {e}"))
                phone.goto(participant_url)
                expect(phone.locator("#event-title")).to_have_text("Session 3: questions from the floor",
                                                                   timeout=wait)
                expect(phone.locator("#conn")).to_have_attribute("data-state", "connected", timeout=wait)
                question = "Which ports will pilot the single window first?"
                phone.locator("#theme-chips .chip").first.click()  # no theme is chosen unless a segment is on
                phone.fill("#ask-text", question)
                phone.click("#ask-send")
                mine = phone.locator("#mine-list .mine-item", has_text=question)
                expect(mine).to_be_visible(timeout=wait)
                # Acknowledged (committed) before the console is reloaded to count it.
                expect(mine.locator(".status")).to_have_text("Awaiting moderation", timeout=wait)
                phone.screenshot(path=str(artifacts / "admin-participant.png"), full_page=True)

                desk.reload()
                card = desk.locator(".event", has_text="Session 3: questions from the floor")
                expect(card.locator(".count-pending strong")).to_have_text("1", timeout=wait)

                # The outcome report opens from the console with the moderator token, in the page's language.
                card.get_by_role("link", name="Outcome report").click()
                expect(desk.locator(".report-theme")).to_have_count(4, timeout=wait)
                expect(desk.locator(".report-overview .counts dd").first).to_have_text("1")
                assert "token" not in desk.url
                desk.go_back()

                # A French reader gets the French title and labels; the rest falls back to the original.
                phone.goto(participant_url + "?lang=fr")
                expect(phone.locator("#event-title")).to_have_text("Séance 3 : les questions de la salle",
                                                                   timeout=wait)
                for label in ("Facilitation des échanges", "Logistique"):
                    expect(phone.get_by_text(label, exact=True).first).to_be_attached(timeout=wait)
                screen = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
                screen.goto(server.url + f"/e/{code}/screen?lang=es")
                expect(screen.locator("#event-title")).to_have_text("Session 3: questions from the floor",
                                                                    timeout=wait)
            finally:
                browser.close()
    assert errors == []
