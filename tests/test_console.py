"""The organiser console (qa/web/console.py, qa/web/csrf.py, templates/admin/): its pages and forms through
the test client with the session cookie, the sockets its changes reach, and one real browser that creates an
event and asks a question in it. The event form's fields and values: tests/test_event_form.py."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from conftest import ADMIN_TOKEN, AdminConsole, count, created_code, csrf_of, form, load, received, sign_in, text
from qa.domain import events as events_domain
from qa.domain import questions
from qa.extensions import db
from qa.models import Event, Question, QuestionHistory, Theme, Vote

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


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
    r = AdminConsole(client).post("/admin/sign-out")
    assert r.status_code == 303
    assert client.get("/admin/events/new").status_code == 302
    assert "You are signed out." in text(client.get("/admin"))


def test_cookie_is_secure_over_https(app):
    client = app.test_client()
    page = client.get("/admin", base_url="https://localhost")
    r = client.post("/admin/sign-in", base_url="https://localhost",
                    data={"token": ADMIN_TOKEN, "csrf_token": csrf_of(text(page))})
    assert r.status_code == 303 and "; Secure" in r.headers["Set-Cookie"]


def test_a_changed_admin_token_ends_old_sessions(app, admin_console):
    app.config["ADMIN_TOKEN"] = "a-new-admin-token"
    assert admin_console.get("/admin/events/new").status_code == 302


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_every_form_needs_the_csrf_token(app, admin_console, event, csrf):
    data = form("Forged") | ({} if csrf is None else {"csrf_token": csrf})
    for path, payload in [("/admin/events", data), (f"/admin/events/{event['code']}/close", {}),
                          (f"/admin/events/{event['code']}/delete",
                           {"understood": "yes", "confirm": event["code"]}),
                          ("/admin/sign-out", {})]:
        if csrf is not None:
            payload = {**payload, "csrf_token": csrf}
        r = admin_console.client.post(path, data=payload)
        assert r.status_code == 403, path
        assert "This form has expired or did not come from this site." in text(r)
    assert count(app, Event) == 1 and load(app, event["code"])["submissions_open"] is True
    assert admin_console.get("/admin/events/new").status_code == 200  # still signed in


def test_sign_in_form_needs_the_csrf_token_too(client):
    client.get("/admin")
    r = client.post("/admin/sign-in", data={"token": ADMIN_TOKEN, "csrf_token": "x"})
    assert r.status_code == 403
    assert client.get("/admin/events/new").status_code == 302


# ---- The event list and the forms -----------------------------------------------------------


def test_console_pages_have_no_inline_script_or_style(admin_console, event):
    for path in ("/admin", "/admin/events/new", f"/admin/events/{event['code']}/edit",
                 f"/admin/events/{event['code']}/delete", f"/admin/events/{event['code']}/print"):
        r = admin_console.get(path)
        html = text(r)
        assert r.status_code == 200, path
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\sstyle=", html) and "<style" not in html, path
        assert 'href="/static/css/app.css"' not in html  # the admin_console's own base, not the pages'


def test_create_from_the_form(app, admin_console):
    data = form("Session 1: digital trade", description="With the private sector.",
                starts_at="2026-12-01T14:30", tz_offset="-60", moderation="post", names="hidden")
    data["themes-1-hidden"] = "on"
    data.update({"themes-2-key": "", "themes-2-label": "Logistics & ports", "themes-2-prompt": "",
                 "themes-2-colour": "#AA0000"})
    data.update({"themes-3-key": "", "themes-3-label": "", "themes-3-prompt": ""})  # an empty row
    code = created_code(admin_console.post("/admin/events", data))
    ev = load(app, code)
    assert ev["title"] == "Session 1: digital trade" and ev["description"] == "With the private sector."
    assert ev["starts_at"] == "2026-12-01T13:30:00.000Z"  # 14:30 at UTC+1
    assert (ev["moderation"], ev["names"], ev["status"]) == ("post", "hidden", "draft")
    assert [(t["key"], t["label"], t["hidden"], t["colour"]) for t in ev["themes"]] == [
        ("a", "Alpha", False, "#1f6feb"), ("b", "Beta", True, "#1f6feb"),
        ("logistics-ports", "Logistics & ports", False, "#aa0000")]

    page = text(admin_console.get("/admin"))
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


def test_create_open_now(app, admin_console):
    code = created_code(admin_console.post("/admin/events", form("Open at once", open_now="on")))
    assert load(app, code)["status"] == "open"


def test_a_too_long_translation_is_refused_next_to_the_themes(app, admin_console):
    data = form("Long", themes=[("", "Ports")], **{"themes-0-label_fr": "x" * 121})
    r = admin_console.post("/admin/events", data)
    assert r.status_code == 422 and "A translation is too long" in text(r)
    assert 'href="#field-themes"' in text(r) and count(app, Event) == 0


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
def test_create_form_refuses_bad_input_next_to_the_field(app, admin_console, data, message):
    r = admin_console.post("/admin/events", data)
    assert r.status_code == 422, text(r)[:300]
    html = text(r)
    assert message in html.replace("&#39;", "'").replace("&#34;", '"')
    assert "The event was not saved." in html and 'role="alert"' in html
    assert count(app, Event) == 0
    if data["title"].strip():  # what was typed is kept
        assert f'value="{data["title"]}"' in html


def test_edit_form_saves_and_broadcasts(app, admin_console, event, connect):
    participant = connect("participant")
    received(participant)
    html = text(admin_console.get(f"/admin/events/{event['code']}/edit"))
    assert 'value="Test webinar"' in html
    themes = [(t["key"], t["label"]) for t in events_domain.DEFAULT_THEMES]
    themes = [themes[1], themes[0]] + themes[2:]
    r = admin_console.post(f"/admin/events/{event['code']}/edit", form("Renamed webinar", themes=themes))
    assert r.status_code == 303 and r.headers["Location"] == f"/admin#event-{event['code']}"
    ev = load(app, event["code"])
    assert ev["title"] == "Renamed webinar" and [t["key"] for t in ev["themes"]][:2] == ["finance", "trade-facilitation"]
    updates = received(participant, "event:update")
    assert updates and updates[-1]["event"]["title"] == "Renamed webinar"


def test_edit_form_refuses_deleting_a_theme_with_questions(app, admin_console, event, connect):
    participant = connect("participant")
    ack = participant.emit("question:submit", {"client_id": "c1", "theme": "finance", "text": "Money?"},
                           callback=True)
    assert ack["ok"], ack
    html = text(admin_console.get(f"/admin/events/{event['code']}/edit"))
    assert "1 question in this theme: it can be hidden, not removed." in html
    kept = [(t["key"], t["label"]) for t in events_domain.DEFAULT_THEMES if t["key"] != "finance"]
    r = admin_console.post(f"/admin/events/{event['code']}/edit", form("Test webinar", themes=kept))
    assert r.status_code == 409
    assert "already has questions (1), so it cannot be deleted; hide it instead." in text(r)
    assert len(load(app, event["code"])["themes"]) == 4

    data = form("Test webinar", themes=[(t["key"], t["label"]) for t in events_domain.DEFAULT_THEMES])
    data["themes-1-hidden"] = "on"
    assert admin_console.post(f"/admin/events/{event['code']}/edit", data).status_code == 303
    assert [t["key"] for t in load(app, event["code"])["themes"] if t["hidden"]] == ["finance"]


def test_open_close_archive_restore_and_duplicate(app, admin_console, event, connect):
    code = event["code"]
    participant = connect("participant")
    received(participant)
    assert admin_console.post(f"/admin/events/{code}/close").status_code == 303
    assert load(app, code)["status"] == "closed"
    assert received(participant, "event:update")[-1]["event"]["submissions_open"] is False
    assert "Questions are closed for “Test webinar”." in text(admin_console.get("/admin"))
    admin_console.post(f"/admin/events/{code}/open")
    assert load(app, code)["status"] == "open"

    admin_console.post(f"/admin/events/{code}/archive")
    assert load(app, code)["status"] == "archived" and load(app, code)["submissions_open"] is False
    assert f'id="event-{code}"' not in text(admin_console.get("/admin"))
    assert f'id="event-{code}"' in text(admin_console.get("/admin?show=archived"))
    r = admin_console.post(f"/admin/events/{code}/open")
    assert r.status_code == 409 and "restore it before opening it" in text(r)
    admin_console.post(f"/admin/events/{code}/restore")
    assert load(app, code)["status"] == "closed"

    r = admin_console.post(f"/admin/events/{code}/duplicate")
    assert r.status_code == 303
    copy_code = re.search(r"/admin/events/([A-Z0-9]+)/edit$", r.headers["Location"]).group(1)
    assert copy_code != code
    copy = load(app, copy_code)
    assert copy["title"] == "Test webinar (copy)" and copy["status"] == "draft"
    assert "Give it its own title and date." in text(admin_console.get(r.headers["Location"]))


def test_rotate_token_disconnects_the_old_moderators_at_once(app, admin_console, event, connect):
    moderator = connect("moderator")
    participant = connect("participant")
    screen = connect("screen")
    assert moderator.is_connected()
    r = admin_console.post(f"/admin/events/{event['code']}/rotate-token")
    assert r.status_code == 303
    assert not moderator.is_connected()
    assert participant.is_connected() and screen.is_connected()
    assert "1 moderator connection closed" in text(admin_console.get("/admin"))
    new_token = load(app, event["code"])["moderator_token"]
    assert new_token != event["token"]
    assert not connect("moderator").is_connected()  # the old token is refused
    assert connect("moderator", token=new_token).is_connected()


def test_delete_is_asked_twice_then_everything_is_gone(app, admin_console, event, connect):
    code = event["code"]
    participant = connect("participant")
    ack = participant.emit("question:submit", {"client_id": "c1", "theme": "finance", "text": "Money?"},
                           callback=True)
    qid = ack["question"]["id"]
    with app.app_context():
        from qa.domain import moderation

        moderation.moderate(db.session, event["id"], {"id": qid, "action": "approve"})
        questions.vote(db.session, event["id"], "someone", {"id": qid})

    page = text(admin_console.get(f"/admin/events/{code}/delete"))
    assert "1 question and their history (1 entry)" in page and "1 vote," in page

    r = admin_console.post(f"/admin/events/{code}/delete", {"confirm": code})
    assert r.status_code == 422 and "Tick the box to confirm" in text(r)
    r = admin_console.post(f"/admin/events/{code}/delete", {"understood": "yes", "confirm": "NOPE"})
    assert r.status_code == 422 and f"confirm with its code “{code}”" in text(r)
    assert count(app, Event, Event.id == event["id"]) == 1

    r = admin_console.post(f"/admin/events/{code}/delete", {"understood": "yes", "confirm": code.lower()})
    assert r.status_code == 303
    assert f"Deleted “Test webinar” ({code}) with its 1 question and 1 vote." in text(admin_console.get("/admin"))
    assert not participant.is_connected()
    assert count(app, Event, Event.id == event["id"]) == 0
    assert count(app, Theme, Theme.event_id == event["id"]) == 0
    assert count(app, Question) == 0 and count(app, Vote) == 0 and count(app, QuestionHistory) == 0
    assert admin_console.get(f"/admin/events/{code}/delete").status_code == 404


def test_printable_page_has_the_link_and_its_qr(app, admin_console, event):
    html = text(admin_console.get(f"/admin/events/{event['code']}/print"))
    link = load_links(app, event["code"])["participant"]
    assert f'src="/e/{event["code"]}/qr.svg"' in html and link in html
    assert event["code"] in html and event["token"] not in html  # the handout never shows the moderator link
    assert admin_console.get(f"/e/{event['code']}/qr.svg").mimetype == "image/svg+xml"


def test_unknown_code_is_a_plain_page(admin_console):
    r = admin_console.get("/admin/events/NOPE99/edit")
    assert r.status_code == 404 and "No event has the code" in text(r)


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
