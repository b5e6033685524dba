"""The pages in a real browser against a real `python run.py`: ask, moderate, show.

Three browser contexts at once (participant phone, moderator laptop, projector)
drive one question from the ask box to the screen without a reload.
Screenshots land in tests/artifacts/ (gitignored).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import BROWSER_WAIT_MS, need_browser
need_browser()
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")
expect = sync_api.expect

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
ADMIN = "test-admin"
WAIT_MS = BROWSER_WAIT_MS
expect.set_options(timeout=WAIT_MS)

pytestmark = pytest.mark.timeout(180)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


class Server:
    """One `python run.py` on a free port and a fresh SQLite file."""

    def __init__(self, workdir: Path, async_mode: str, extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "QA_DATABASE_URL": f"sqlite:///{workdir / 't.db'}",
            "QA_ADMIN_TOKEN": ADMIN,
            "QA_SECRET_KEY": "test-secret",
            "QA_ASYNC_MODE": async_mode,
            **(extra_env or {}),
        }
        self.log_path = workdir / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> None:
        # A file, not a pipe: a chatty server must never block on a full pipe.
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "run.py", "--port", str(self.port)],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            for path in ("/healthz", "/"):
                try:
                    with urllib.request.urlopen(self.url + path, timeout=1):
                        return
                except urllib.error.HTTPError as exc:
                    exc.close()
                    if exc.code < 500 or exc.code == 503:
                        return
                except OSError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def create_event(self, title: str) -> dict:
        status, body = http("POST", self.url + "/api/events", {"title": title}, ADMIN)
        assert status == 201, body
        return body


@pytest.fixture(scope="module", params=["threading", "eventlet"])
def server(request):
    with tempfile.TemporaryDirectory(prefix="qa-browser-") as workdir:
        srv = Server(Path(workdir), request.param)
        srv.start()
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture(scope="module")
def filtered_server():
    """One threading server with the profanity filter on (the new desk features need no second mode)."""
    with tempfile.TemporaryDirectory(prefix="qa-browser-") as workdir:
        srv = Server(Path(workdir), "threading", {"QA_PROFANITY_FILTER": "on", "QA_RATE_LIMITS": "off"})
        srv.start()
        try:
            yield srv
        finally:
            srv.stop()


def shot(page, name: str, mode: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{mode}.png"))


def test_question_goes_from_phone_to_desk_to_screen(server, contexts, console):
    ev = server.create_event("Small businesses in trade: questions from the private sector")
    links = ev["links"]
    phone = console.watch(contexts(viewport={"width": 390, "height": 844}).new_page(), "participant")
    desk = console.watch(contexts(viewport={"width": 1366, "height": 768}).new_page(), "moderator")
    screen = console.watch(contexts(viewport={"width": 1920, "height": 1080}).new_page(), "screen")

    desk.goto(links["moderator"])
    screen.goto(links["screen"])
    phone.goto(links["participant"])
    # The token left the address bar and waits in storage.
    expect(desk.locator("#main")).to_be_visible()
    assert "token" not in desk.url
    assert desk.evaluate(f"localStorage.getItem('qa:modtoken:{ev['code']}')") == ev["moderator_token"]
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(screen.locator("#live .idle-title")).to_be_visible()

    text = "How can small exporters get faster customs clearance at the border?"
    phone.locator(".chip", has_text="Trade facilitation").click()
    phone.fill("#ask-text", text)
    expect(phone.locator("#ask-counter")).to_have_text(f"{len(text)} / 500")
    phone.fill("#ask-name", "Amina")
    phone.click("#ask-send")
    expect(phone.locator("#ask-text")).to_have_value("")
    mine = phone.locator("#mine-list .mine-item", has_text=text)
    expect(mine.locator(".status")).to_have_text("Awaiting moderation")
    assert phone.evaluate("localStorage.getItem('qa:participant')")
    assert phone.evaluate("localStorage.getItem('qa:name')") == "Amina"

    card = desk.locator("#incoming-list .card", has_text=text)
    expect(card).to_be_visible()
    expect(card).to_contain_text("Trade facilitation")
    expect(card).to_contain_text("Amina")
    expect(desk.locator("#incoming-count")).to_have_text("1")
    shot(desk, "moderate-incoming", server.env["QA_ASYNC_MODE"])
    card.locator("[data-action=approve]").click()

    queued = desk.locator("#queue-list .card", has_text=text)
    expect(queued).to_be_visible()
    expect(desk.locator("#incoming-list .card")).to_have_count(0)
    expect(mine.locator(".status")).to_have_text("Published")
    expect(phone.locator("#public-list .question", has_text=text)).to_be_visible()
    expect(screen.locator("#next .layer:not(.is-leaving) .next-text")).to_have_text([text])

    queued.locator("[data-action=live]").click()
    live = screen.locator("#live .layer:not(.is-leaving) .live-text")
    expect(live).to_have_text(text)
    expect(screen.locator("#live .layer:not(.is-leaving) .live-meta")).to_contain_text("Amina")
    expect(screen.locator("#next .layer:not(.is-leaving) .next-empty")).to_be_visible()
    expect(desk.locator("#onair .onair-text")).to_have_text(text)
    expect(phone.locator("#public-list .question", has_text=text).locator(".status-live")).to_have_text("On air")

    # Voting shows its pressed state and count, and the desk sees the count.
    vote = phone.locator("#public-list .question", has_text=text).locator(".vote")
    vote.click()
    expect(vote).to_have_attribute("aria-pressed", "true")
    expect(vote.locator(".vote-count")).to_have_text("1")
    expect(desk.locator("#onair")).to_contain_text("▲ 1")

    # Nothing on the projector scrolls or overflows.
    assert screen.evaluate(
        "document.documentElement.scrollHeight <= innerHeight && document.documentElement.scrollWidth <= innerWidth"
    )
    screen.wait_for_timeout(800)  # let the cross-fade settle before the picture
    shot(phone, "participant", server.env["QA_ASYNC_MODE"])
    shot(desk, "moderate", server.env["QA_ASYNC_MODE"])
    shot(screen, "screen-1920", server.env["QA_ASYNC_MODE"])
    screen.set_viewport_size({"width": 1280, "height": 720})
    screen.wait_for_timeout(800)
    shot(screen, "screen-1280", server.env["QA_ASYNC_MODE"])
    assert console.errors == []


def test_keyboard_triage_edit_and_undo(server, contexts, console):
    ev = server.create_event("Keyboard desk")
    phone = console.watch(contexts(viewport={"width": 390, "height": 844}).new_page(), "participant")
    desk = console.watch(contexts(viewport={"width": 1366, "height": 900}).new_page(), "moderator")
    desk.goto(ev["links"]["moderator"])
    phone.goto(ev["links"]["participant"])
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    phone.locator("#theme-chips .chip").first.click()  # no theme is chosen for the asker unless a segment is on
    for text in ("First question?", "Second question?"):
        phone.fill("#ask-text", text)
        phone.click("#ask-send")
        expect(phone.locator("#mine-list .mine-item", has_text=text)).to_be_visible()
    expect(desk.locator("#incoming-list .card")).to_have_count(2)

    desk.keyboard.press("j")  # newest first: "Second question?"
    expect(desk.locator("#incoming-list .card.is-selected")).to_contain_text("Second question?")
    desk.keyboard.press("a")
    expect(desk.locator("#queue-list .card", has_text="Second question?")).to_be_visible()
    # Selection moved on to the next incoming card.
    expect(desk.locator("#incoming-list .card.is-selected")).to_contain_text("First question?")
    desk.keyboard.press("r")
    expect(desk.locator("#rejected-count")).to_have_text("1")
    desk.keyboard.press("z")  # undo the reject: back to Incoming
    expect(desk.locator("#incoming-list .card", has_text="First question?")).to_be_visible()
    expect(desk.locator("#rejected-count")).to_have_text("0")

    desk.locator("#incoming-list .card", has_text="First question?").click()
    desk.keyboard.press("e")
    area = desk.locator("#incoming-list .edit-form textarea")
    expect(area).to_be_focused()
    area.fill("First question, edited?")
    desk.keyboard.press("Control+Enter")
    expect(desk.locator("#incoming-list .card-text")).to_have_text(["First question, edited?"])

    desk.keyboard.press("?")
    expect(desk.locator("#help")).to_be_visible()
    desk.keyboard.press("Escape")
    expect(desk.locator("#help")).to_be_hidden()

    desk.locator("#submissions-open").click()
    expect(phone.locator("#ask-closed")).to_be_visible()
    expect(phone.locator("#ask-form")).to_be_hidden()
    assert console.errors == []


def test_join_page_and_refused_token(server, contexts, console):
    ev = server.create_event("Join me")
    page = console.watch(contexts(viewport={"width": 390, "height": 844}).new_page(), "join")
    page.goto(server.url + "/")
    page.fill("#join-code", "NO-SUCH-CODE")
    page.click("#join-button")
    expect(page.locator("#join-error")).to_contain_text("no event")
    expect(page.locator("#join-code")).to_have_attribute("aria-invalid", "true")
    code = ev["code"]
    messy = f" {code[:2].lower()}-{code[2:].lower()} "
    page.fill("#join-code", messy)
    page.click("#join-button")
    page.wait_for_url(f"**/e/{code}")
    expect(page.locator("#event-title")).to_have_text("Join me")

    desk = console.watch(contexts(viewport={"width": 1366, "height": 768}).new_page(), "moderator")
    desk.goto(f"{server.url}/e/{code}/moderate#token=not-the-token")
    expect(desk.locator("#token-error")).to_be_visible()
    expect(desk.locator("#main")).to_be_hidden()
    desk.fill("#token-input", ev["links"]["moderator"])  # the whole link works too
    desk.press("#token-input", "Enter")
    expect(desk.locator("#main")).to_be_visible()
    # The wrong code's 404 is expected in the log; so is a 400 for a long-poll of the refused
    # desk's session that was already in flight when the server closed it (a race the
    # engine.io protocol allows). Nothing else is.
    assert [e for e in console.errors if "status of 404" not in e
            and not (e.startswith("moderator:") and "status of 400" in e and "/socket.io/" in e)] == []


# A threading server broke about one in five of these WebSockets (qa/web/websocket.py); eventlet's
# server never did, so a few there show only that it still does not.
REFUSED_DESKS = {"threading": 12, "eventlet": 4}


def test_refused_then_closed_desks_end_their_websockets_cleanly(server, contexts, console):
    """A desk refused (wrong token), let in, then closed, again and again: Chrome logs no failed
    WebSocket ("Invalid frame header", "Data frame received after close")."""
    ev = server.create_event("Desks come and go")
    for i in range(REFUSED_DESKS[server.env["QA_ASYNC_MODE"]]):
        ctx = contexts(viewport={"width": 1366, "height": 768})
        desk = console.watch(ctx.new_page(), f"moderator {i}")
        desk.goto(f"{server.url}/e/{ev['code']}/moderate#token=not-the-token")
        expect(desk.locator("#token-error")).to_be_visible()
        desk.fill("#token-input", ev["links"]["moderator"])
        desk.press("#token-input", "Enter")
        expect(desk.locator("#main")).to_be_visible()
        desk.wait_for_timeout(200)
        ctx.close()  # what a closed tab does to its socket
    # A long-poll of the refused session already in flight when the server closed it may get a
    # 400 (test_join_page_and_refused_token); a WebSocket may not fail.
    assert [e for e in console.errors if "WebSocket" in e] == []


def test_offline_question_waits_in_outbox_and_is_resent(server, contexts, console):
    ev = server.create_event("Offline")
    ctx = contexts(viewport={"width": 390, "height": 844})
    phone = console.watch(ctx.new_page(), "participant")
    desk = console.watch(contexts(viewport={"width": 1366, "height": 768}).new_page(), "moderator")
    desk.goto(ev["links"]["moderator"])
    phone.goto(ev["links"]["participant"])
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")

    ctx.set_offline(True)
    expect(phone.locator("#conn")).not_to_have_attribute("data-state", "connected", timeout=20_000)
    expect(phone.locator("#ask-send")).to_contain_text("Offline")
    phone.locator("#theme-chips .chip").first.click()  # no theme is chosen for the asker unless a segment is on
    phone.fill("#ask-text", "Asked in a tunnel")
    phone.click("#ask-send")
    expect(phone.locator("#mine-list .mine-item", has_text="Asked in a tunnel").locator(".status")).to_have_text(
        "Waiting for connection")
    outbox = json.loads(phone.evaluate(f"localStorage.getItem('qa:outbox:{ev['code']}')"))
    assert [item["text"] for item in outbox] == ["Asked in a tunnel"]

    ctx.set_offline(False)
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected", timeout=20_000)
    expect(desk.locator("#incoming-list .card", has_text="Asked in a tunnel")).to_have_count(1)
    expect(phone.locator("#mine-list .mine-item", has_text="Asked in a tunnel").locator(".status")).to_have_text(
        "Awaiting moderation")
    assert phone.evaluate(f"localStorage.getItem('qa:outbox:{ev['code']}')") is None


def test_screen_fits_a_long_question_and_filters_by_theme(server, contexts, console):
    ev = server.create_event("Long questions")
    phone = console.watch(contexts(viewport={"width": 390, "height": 844}).new_page(), "participant")
    desk = console.watch(contexts(viewport={"width": 1366, "height": 768}).new_page(), "moderator")
    screen = console.watch(contexts(viewport={"width": 1280, "height": 720}).new_page(), "screen")
    only = console.watch(contexts(viewport={"width": 1280, "height": 720}).new_page(), "screen-theme")
    desk.goto(ev["links"]["moderator"])
    phone.goto(ev["links"]["participant"])
    screen.goto(ev["links"]["screen"])
    only.goto(ev["links"]["screen"] + "?theme=finance")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")

    long_text = ("Small exporters fill the same certificate of origin data into three portals; " * 7)[:499] + "?"
    phone.locator(".chip", has_text="Trade facilitation").click()
    phone.fill("#ask-text", long_text)
    phone.click("#ask-send")
    card = desk.locator("#incoming-list .card").first
    expect(card).to_be_visible()
    card.locator("[data-action=live]").click()  # approve and put on air in one go

    live = screen.locator("#live .layer:not(.is-leaving) .live-text")
    expect(live).to_have_text(long_text)
    desk.select_option("#active-theme", "trade-facilitation")
    expect(screen.locator("#segment")).to_be_visible()
    expect(screen.locator("#segment-label")).to_have_text("Trade facilitation")
    screen.wait_for_timeout(900)
    fits = screen.evaluate("""() => {
        const text = document.querySelector('#live .layer:not(.is-leaving) .live-text');
        const box = document.querySelector('#live').getBoundingClientRect();
        const r = text.getBoundingClientRect();
        return r.top >= box.top - 1 && r.bottom <= box.bottom + 1 && text.scrollHeight <= text.clientHeight + 1
            && document.documentElement.scrollHeight <= innerHeight;
    }""")
    assert fits, "the live question overflows its area"
    shot(screen, "screen-long-1280", server.env["QA_ASYNC_MODE"])

    # ?theme=finance shows only that theme: the trade question is not on it.
    expect(only.locator("#segment-label")).to_have_text("Access to finance & cross-border payments")
    expect(only.locator("#live .layer:not(.is-leaving) .idle-title")).to_be_visible()
    assert console.errors == []


# ---- Blocking, flags, names policy, hidden themes, revoked links, deleted events -------------


def admin_event(server, **fields) -> dict:
    """An event made through the organiser API (names policy, colours, hidden themes)."""
    status, body = http("POST", server.url + "/api/admin/events", {"submissions_open": True, **fields}, ADMIN)
    assert status == 201, body
    return body


def test_desk_blocks_an_author_and_shows_the_profanity_flag(filtered_server, contexts, console):
    ev = filtered_server.create_event("Blocking")
    phone = console.watch(contexts(viewport={"width": 390, "height": 844}).new_page(), "participant")
    desk = console.watch(contexts(viewport={"width": 1366, "height": 900}).new_page(), "moderator")
    desk.goto(ev["links"]["moderator"])
    phone.goto(ev["links"]["participant"])
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(desk.locator("#main")).to_be_visible()

    rude = "Why is customs such a shit show for small exporters?"
    phone.locator("#theme-chips .chip").first.click()  # no theme is chosen for the asker unless a segment is on
    phone.fill("#ask-text", rude)
    phone.click("#ask-send")
    card = desk.locator("#incoming-list .card", has_text=rude)
    expect(card.locator(".mark-flag")).to_have_text("⚠Flagged: possible profanity")
    expect(card).to_have_attribute("data-flagged", "true")

    # Blocking asks first; cancelling changes nothing.
    card.locator("[data-action=block]").click()
    dialog = desk.locator("#block-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#block-question")).to_contain_text("shit show")
    desk.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(card.locator(".mark-blocked")).to_have_count(0)
    card.locator("[data-action=block]").click()
    desk.click("#block-confirm")
    expect(card.locator(".mark-blocked")).to_have_text("⊘Author blocked")
    expect(card.locator("[data-action=unblock]")).to_have_text("Unblock author")
    shot(desk, "moderate-blocked", "threading")

    # The blocked participant's next question is refused, in words, and the text is kept.
    phone.fill("#ask-text", "May I ask one more thing?")
    phone.click("#ask-send")
    expect(phone.locator("#ask-error")).to_contain_text("stopped you from asking more questions")
    expect(phone.locator("#ask-text")).to_have_value("May I ask one more thing?")
    expect(desk.locator("#incoming-list .card")).to_have_count(1)
    shot(phone, "participant-blocked", "threading")

    # "b" on the selected card unblocks (no question asked); the participant can ask again.
    card.click()
    desk.keyboard.press("b")
    expect(card.locator(".mark-blocked")).to_have_count(0)
    expect(card.locator("[data-action=block]")).to_have_text("Block author")
    phone.click("#ask-send")
    expect(desk.locator("#incoming-list .card", has_text="May I ask one more thing?")).to_be_visible()
    expect(phone.locator("#ask-error")).to_be_hidden()
    assert console.errors == []


def test_participant_page_follows_names_policy_theme_colours_and_hidden_themes(filtered_server, contexts, console):
    ev = admin_event(filtered_server, title="Names and themes", names="asked",
                     description="A morning with the private sector.\nAsk in English, French or Spanish.",
                     themes=[{"label": "Ports", "key": "ports", "colour": "#aa3300"},
                             {"label": "Old topic", "key": "old", "hidden": True},
                             {"label": "Finance", "key": "finance", "prompt": "What should change?"}])
    phone = console.watch(contexts(viewport={"width": 390, "height": 844}).new_page(), "participant")
    desk = console.watch(contexts(viewport={"width": 1366, "height": 768}).new_page(), "moderator")
    phone.goto(ev["links"]["participant"])
    desk.goto(ev["links"]["moderator"])
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(desk.locator("#main")).to_be_visible()

    expect(phone.locator("#event-description")).to_contain_text("A morning with the private sector.")
    # A hidden theme is not offered, on the phone or as the desk's segment; colours are the organiser's.
    expect(phone.locator("#theme-chips .chip")).to_have_text(["Ports", "Finance"])
    assert phone.locator("#theme-chips .chip").first.evaluate(
        "el => getComputedStyle(el).getPropertyValue('--theme').trim()") == "#aa3300"
    expect(desk.locator("#active-theme option")).to_have_text(["None", "Ports", "Finance"])

    # names "asked": the label says so, and a question without a name is stopped on the page.
    expect(phone.locator("label[for=ask-name]")).to_contain_text("(required)")
    expect(phone.locator("#ask-name")).to_have_attribute("required", "")
    phone.fill("#ask-name", "")
    phone.locator("#theme-chips .chip").first.click()  # no theme is chosen for the asker unless a segment is on
    phone.fill("#ask-text", "Which ports are the slowest?")
    phone.click("#ask-send")
    expect(phone.locator("#ask-error")).to_have_text("Please give your name with your question.")
    expect(phone.locator("#ask-name")).to_have_attribute("aria-invalid", "true")
    expect(phone.locator("#ask-name")).to_be_focused()
    shot(phone, "participant-names-asked", "threading")
    phone.fill("#ask-name", "Amina")
    phone.click("#ask-send")
    expect(phone.locator("#mine-list .mine-item", has_text="Which ports")).to_be_visible()
    expect(desk.locator("#incoming-list .card", has_text="Which ports")).to_contain_text("Amina")

    # names "hidden": no name field; questions arrive anonymous.
    status, body = http("PATCH", f"{filtered_server.url}/api/admin/events/{ev['code']}", {"names": "hidden"}, ADMIN)
    assert status == 200, body
    expect(phone.locator("#name-field")).to_be_hidden()
    phone.fill("#ask-text", "Is trade finance cheaper online?")
    phone.locator(".chip", has_text="Finance").click()
    phone.click("#ask-send")
    card = desk.locator("#incoming-list .card", has_text="Is trade finance cheaper online?")
    expect(card).to_contain_text("Anonymous")
    expect(card.locator(".theme-tag")).to_have_text("Finance")
    shot(phone, "participant-names-hidden", "threading")
    assert console.errors == []


def test_revoked_moderator_link_and_deleted_event_stop_the_pages(filtered_server, contexts, console):
    ev = filtered_server.create_event("Short-lived")
    phone = console.watch(contexts(viewport={"width": 390, "height": 844}).new_page(), "participant")
    desk = console.watch(contexts(viewport={"width": 1366, "height": 768}).new_page(), "moderator")
    screen = console.watch(contexts(viewport={"width": 1280, "height": 720}).new_page(), "screen")
    desk.goto(ev["links"]["moderator"])
    phone.goto(ev["links"]["participant"])
    screen.goto(ev["links"]["screen"])
    expect(desk.locator("#main")).to_be_visible()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(screen.locator("#live .idle-title")).to_be_visible()

    status, body = http("POST", f"{filtered_server.url}/api/admin/events/{ev['code']}/rotate-token", {}, ADMIN)
    assert status == 200, body
    expect(desk.locator("#token-error")).to_have_text(
        "This moderator link is no longer valid; ask the organiser for the new one.")
    expect(desk.locator("#main")).to_be_hidden()
    assert desk.evaluate(f"localStorage.getItem('qa:modtoken:{ev['code']}')") is None
    # The new link works (in a fresh context: the old page keeps nothing of the old token).
    desk2 = console.watch(contexts(viewport={"width": 1366, "height": 768}).new_page(), "moderator-2")
    desk2.goto(body["links"]["moderator"])
    expect(desk2.locator("#main")).to_be_visible()

    status, body = http("DELETE", f"{filtered_server.url}/api/admin/events/{ev['code']}", {"confirm": ev["code"]},
                        ADMIN)
    assert status == 200, body
    expect(phone.locator("#ended")).to_contain_text("This event has ended.")
    expect(phone.locator("#ask-form")).to_be_hidden()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "ended")
    expect(screen.locator("#live .layer:not(.is-leaving) .idle-title")).to_have_text("This event has ended.")
    expect(desk2.locator("#ended-panel")).to_contain_text("This event was removed.")
    expect(desk2.locator("#main")).to_be_hidden()
    # Nothing keeps knocking on the server's door.
    phone.wait_for_timeout(2500)
    expect(phone.locator("#conn")).to_have_attribute("data-state", "ended")
    shot(phone, "participant-ended", "threading")
    assert console.errors == []
