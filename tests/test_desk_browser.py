"""The moderator desk and the projected screen in a real browser (issue 3): reordering the queue,
filters and search, votes on the screen, and two moderators at once.

- Reordering: drag and drop, the keyboard (Shift+↑, Shift+↓, t), the ↓ button and undo on
  the desk; the projector's "Next up" and a participant's list follow without a reload, and
  the server's own order (GET /api/events/<code>/questions) agrees.
- Two moderators in two browser contexts: both see a new question arrive; A approves and B's
  desk follows at once; B then acts on the same question (with an up-to-date view, and with a
  stale one: its socket is held back while A acts) and gets a visible "already approved" /
  "already rejected" message while its desk shows the truth; presence counts people connected.

Questions are seeded through real python-socketio clients against a real `python run.py`
(tests/live_server.py). Screenshots land in tests/artifacts/ (gitignored).
"""
from __future__ import annotations

import re
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import BROWSER_WAIT_MS, need_browser
need_browser()
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")
socketio = pytest.importorskip("socketio", reason="desk browser tests seed questions with python-socketio")
expect = sync_api.expect

from live_server import ROOT, LiveServer  # noqa: E402  (after the skips: tests/ is on sys.path)

ARTIFACTS = ROOT / "tests" / "artifacts"
ADMIN = "desk-admin"
WAIT_MS = BROWSER_WAIT_MS
PUSH_MS = 5_000  # "at once": what another page must show after a change, pushed, without a reload
WAIT_S = 10
expect.set_options(timeout=WAIT_MS)

pytestmark = pytest.mark.timeout(120)

QUEUE_TEXT = "#queue-list > .card .card-text"
SCREEN_NEXT = "#next .layer:not(.is-leaving) .next-text"
PUBLIC_TEXT = "#public-list .question .q-text"


# ---- Server, HTTP and socket clients --------------------------------------


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory(prefix="qa-desk-") as workdir:
        env = {
            "QA_DATABASE_URL": f"sqlite:///{Path(workdir) / 'desk.db'}",
            "QA_INSTANCE_PATH": workdir,
            "QA_ADMIN_TOKEN": ADMIN,
            "QA_SECRET_KEY": "desk-secret",
            "QA_ASYNC_MODE": "eventlet",  # the default mode
        }
        srv = LiveServer(env, args=("--no-demo",)).start()
        try:
            yield srv
        finally:
            output = srv.stop()
            if "Traceback" in output:
                print(output)  # shown with a failure: the server's side of the story


def create_event(server, title: str) -> dict:
    res = requests.post(server.url + "/api/events", json={"title": title},
                        headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5)
    assert res.status_code == 201, res.text
    return res.json()


def public_texts(server, code: str) -> list[str]:
    """The public questions as the server orders them (no token: display order)."""
    res = requests.get(f"{server.url}/api/events/{code}/questions", timeout=5)
    assert res.status_code == 200, res.text
    return [q["text"] for q in res.json()["questions"]]


def all_questions(server, ev: dict) -> dict[int, dict]:
    res = requests.get(f"{server.url}/api/events/{ev['code']}/questions",
                       headers={"Authorization": f"Bearer {ev['moderator_token']}"}, timeout=5)
    assert res.status_code == 200, res.text
    return {q["id"]: q for q in res.json()["questions"]}


class Client:
    """One python-socketio client (participant or moderator) that waits for its snapshot."""

    def __init__(self, server, auth: dict[str, Any]):
        self.sio = socketio.Client(reconnection=False, handle_sigint=False)
        self.snapshot = threading.Event()
        self.sio.on("snapshot", lambda data=None: self.snapshot.set())
        self.sio.connect(server.url, auth=auth, wait_timeout=WAIT_S)
        assert self.snapshot.wait(WAIT_S), "no snapshot"

    def call(self, name: str, payload: dict) -> dict:
        ack = self.sio.call(name, payload, timeout=WAIT_S)
        assert ack["ok"], (name, payload, ack)
        return ack

    def ask(self, text: str, theme: str = "finance", name: str | None = None) -> dict:
        payload = {"client_id": uuid.uuid4().hex, "theme": theme, "text": text}
        if name:
            payload["name"] = name
        return self.call("question:submit", payload)["question"]

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:
            pass


@pytest.fixture
def clients(server):
    made: list[Client] = []

    def connect(code: str, role: str = "participant", token: str | None = None) -> Client:
        auth = {"event": code, "role": role}
        if token:
            auth["token"] = token
        made.append(Client(server, auth))
        return made[-1]

    yield connect
    for c in made:
        c.close()


# ---- Browser ----------------------------------------------------------------


def shot(page, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"desk-{name}.png"), full_page=full_page)


def queue_card(desk, text: str):
    return desk.locator("#queue-list > .card", has_text=text)


def drag(page, source, target, *, lower_half: bool) -> None:
    """Drag `source` by its text onto the upper or lower edge of `target`, as a hand would.

    Both must be on screen before the button goes down: a scroll between mouse-down and the
    first move would start the drag on whatever card then lies under the pointer.
    """
    grip = source.locator(".card-text")
    grip.scroll_into_view_if_needed()
    target.scroll_into_view_if_needed()
    start, goal = grip.bounding_box(), target.bounding_box()
    viewport = page.viewport_size
    for box in (start, goal):
        assert 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"], "drag ends not both on screen"
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    x1 = goal["x"] + goal["width"] / 2
    y1 = goal["y"] + (goal["height"] - 6 if lower_half else 6)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 4, y0 + 4, steps=2)
    page.mouse.move(x1, y1, steps=8)
    # A hand rests a moment before letting go, and the browser keeps sending "dragover" meanwhile;
    # Playwright sends one per move, so wiggle once: the drop then follows a dragover at rest.
    page.wait_for_timeout(100)
    page.mouse.move(x1, y1 + 1)
    page.wait_for_timeout(100)
    page.mouse.move(x1, y1)
    # The drop marker shows where it will land before the button is released.
    expect(page.locator("#queue-list .drop-marker")).to_have_count(1)
    page.mouse.up()


# ---- (a) Reordering the queue -----------------------------------------------


def test_reorder_queue_by_drag_keyboard_and_buttons_reaches_screen_and_participants(
        server, clients, contexts, console):
    ev = create_event(server, "Reordering the queue")
    code = ev["code"]
    asker = clients(code)
    moderator = clients(code, "moderator", ev["moderator_token"])
    texts = ["Q1 customs windows?", "Q2 trade finance costs?", "Q3 e-invoicing rules?", "Q4 SME export credit?"]
    for text in texts:
        moderator.call("question:moderate", {"id": asker.ask(text)["id"], "action": "approve"})
    q1, q2, q3, q4 = texts

    # Tall enough for the header and the four queued cards one below the other: both ends of a drag in view.
    desk = console.watch(contexts(viewport={"width": 1366, "height": 1280}).new_page(), "moderator")
    screen = console.watch(contexts(viewport={"width": 1920, "height": 1080}).new_page(), "screen")
    phone = console.watch(contexts(viewport={"width": 390, "height": 844}).new_page(), "participant")
    desk.goto(ev["links"]["moderator"])
    screen.goto(ev["links"]["screen"])
    phone.goto(ev["links"]["participant"])
    expect(desk.locator("#main")).to_be_visible()
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")

    def shows(order: list[str], why: str) -> None:
        """Desk, screen and phone all show `order`, pushed (no reload), and the server agrees."""
        expect(desk.locator(QUEUE_TEXT)).to_have_text(order, timeout=PUSH_MS)
        expect(desk.locator("#queue-list > .card .card-pos")).to_have_text(
            [f"#{i + 1}" for i in range(len(order))])
        expect(screen.locator(SCREEN_NEXT)).to_have_text(order, timeout=PUSH_MS)
        expect(phone.locator(PUBLIC_TEXT)).to_have_text(order, timeout=PUSH_MS)
        assert public_texts(server, code) == order, why

    shows([q1, q2, q3, q4], "approval order")
    for page in (desk, screen, phone):
        page.evaluate("window.__noReload = 1")  # gone if the page reloads

    # Drag and drop: Q4 onto the upper half of Q1 lands first.
    drag(desk, queue_card(desk, q4), queue_card(desk, q1), lower_half=False)
    shows([q4, q1, q2, q3], "after dragging Q4 to the top")
    expect(desk.locator("#queue-list .drop-marker")).to_have_count(0)
    expect(desk.locator("#queue-list > .card.is-selected .card-text")).to_have_text(q4)
    # Drag downwards too: Q1 below the lower half of Q3, the last card, goes last.
    drag(desk, queue_card(desk, q1), queue_card(desk, q3), lower_half=True)
    shows([q4, q2, q3, q1], "after dragging Q1 to the end")

    # Keyboard: select with a click on the text (no button), then the shortcuts of the help list.
    queue_card(desk, q2).locator(".card-text").click()
    expect(queue_card(desk, q2)).to_have_class(re.compile(r"\bis-selected\b"))
    desk.keyboard.press("Shift+ArrowUp")
    shows([q2, q4, q3, q1], "after Shift+ArrowUp on Q2")
    expect(queue_card(desk, q2).locator("[data-action=up]")).to_be_disabled()
    expect(queue_card(desk, q2).locator("[data-action=top]")).to_be_disabled()
    desk.keyboard.press("Shift+ArrowDown")
    shows([q4, q2, q3, q1], "after Shift+ArrowDown on Q2")
    desk.keyboard.press("Shift+ArrowDown")
    shows([q4, q3, q2, q1], "after a second Shift+ArrowDown on Q2")
    queue_card(desk, q1).locator(".card-text").click()
    expect(queue_card(desk, q1).locator("[data-action=down]")).to_be_disabled()
    desk.keyboard.press("t")
    shows([q1, q4, q3, q2], "after t on Q1")
    # The selection follows the moved card (keyboard focus does not: see the test after this one).
    expect(desk.locator("#queue-list > .card.is-selected .card-text")).to_have_text(q1)

    # The visible ↓ and ⤒ buttons do the same.
    queue_card(desk, q1).locator("[data-action=down]").click()
    shows([q4, q1, q3, q2], "after the ↓ button on Q1")
    queue_card(desk, q2).locator("[data-action=top]").click()
    shows([q2, q4, q1, q3], "after the ⤒ button on Q2")

    # Undo (z) puts the previous order back everywhere.
    desk.keyboard.press("z")
    shows([q4, q1, q3, q2], "after undo")
    expect(desk.locator("#toasts")).to_contain_text("New order undone.")

    # None of the three pages reloaded.
    for page in (desk, screen, phone):
        assert page.evaluate("window.__noReload") == 1
    screen.wait_for_timeout(800)  # let the cross-fade settle before the picture
    shot(desk, "reorder")
    shot(screen, "reorder-screen")
    shot(phone, "reorder-participant", full_page=True)
    assert console.errors == []


def test_a_card_moved_by_keyboard_keeps_the_keyboard_focus(server, clients, contexts, console):
    """Shift+↑ and t move the focused card; focus must stay on it (WCAG 2.4.3 focus order).

    The desk re-orders its list by re-inserting the moved card (syncList in static/js/lib/dom.js), which
    drops the focus to <body> whenever the card moves up; render() puts it back.
    """
    ev = create_event(server, "Focus after a move")
    asker = clients(ev["code"])
    moderator = clients(ev["code"], "moderator", ev["moderator_token"])
    texts = ["F1 first?", "F2 second?", "F3 third?"]
    for text in texts:
        moderator.call("question:moderate", {"id": asker.ask(text)["id"], "action": "approve"})
    desk = console.watch(contexts(viewport={"width": 1366, "height": 1100}).new_page(), "moderator")
    desk.goto(ev["links"]["moderator"])
    expect(desk.locator(QUEUE_TEXT)).to_have_text(texts)

    queue_card(desk, "F2").locator(".card-text").click()
    expect(queue_card(desk, "F2")).to_be_focused()
    desk.keyboard.press("Shift+ArrowDown")  # F2 goes down: F3 is the node that moves, F2 keeps focus
    expect(desk.locator(QUEUE_TEXT)).to_have_text(["F1 first?", "F3 third?", "F2 second?"])
    expect(queue_card(desk, "F2")).to_be_focused()
    desk.keyboard.press("Shift+ArrowUp")
    expect(desk.locator(QUEUE_TEXT)).to_have_text(texts)
    focused = desk.evaluate("document.activeElement.closest('.card')?.dataset.id ?? document.activeElement.tagName")
    assert focused == queue_card(desk, "F2").get_attribute("data-id"), f"focus went to {focused} after Shift+ArrowUp"
    desk.keyboard.press("t")
    expect(desk.locator(QUEUE_TEXT)).to_have_text(["F2 second?", "F1 first?", "F3 third?"])
    expect(queue_card(desk, "F2")).to_be_focused()
    assert console.errors == []


def test_the_desk_filters_by_theme_and_finds_words_in_text_and_name(server, clients, contexts, console):
    """Issue 3: filter by theme and search the text (accents and case ignored), with the counts,
    and the per-theme summary (received, published, answered, not published)."""
    ev = create_event(server, "Filters and search")
    asker = clients(ev["code"])
    moderator = clients(ev["code"], "moderator", ev["moderator_token"])
    asker.ask("Cross-border payments cost too much?", theme="finance")
    asker.ask("Accès aux données douanières ?", theme="digitalization", name="Zoé")
    approved = asker.ask("Customs single window for payments?", theme="trade-facilitation")
    moderator.call("question:moderate", {"id": approved["id"], "action": "approve"})
    desk = console.watch(contexts(viewport={"width": 1366, "height": 1100}).new_page(), "moderator")
    desk.goto(ev["links"]["moderator"])
    incoming, queue = desk.locator("#incoming-list .card"), desk.locator("#queue-list .card")
    expect(incoming).to_have_count(2)
    expect(queue).to_have_count(1)

    desk.select_option("#theme-filter", "digitalization")
    expect(incoming).to_have_count(1)
    expect(incoming.first).to_contain_text("Accès aux données")
    expect(desk.locator("#incoming-count")).to_have_text("1")
    expect(queue).to_have_count(0)
    expect(desk.locator("#queue-empty")).to_have_text("No questions match these filters.")
    desk.select_option("#theme-filter", "")

    desk.fill("#search", "PAYMENTS")  # both columns, case ignored
    expect(incoming).to_have_count(1)
    expect(queue).to_have_count(1)
    desk.fill("#search", "acces zoe")  # every word, accents ignored, the name too
    expect(incoming).to_have_count(1)
    expect(incoming.first).to_contain_text("Accès aux données")
    desk.fill("#search", "")
    expect(incoming).to_have_count(2)

    # The per-theme summary counts every question, whatever the filters.
    desk.select_option("#theme-filter", "finance")
    desk.locator("#summary > summary").click()
    groups = desk.locator("#summary-table tbody")
    expect(groups).to_have_count(4)
    cells = {group.locator("th").inner_text(): group.locator("td").all_inner_texts() for group in groups.all()}
    assert cells["Trade facilitation"] == ["1", "1", "0", "0"], cells  # received, published, answered, not
    assert cells["Digitalization"] == ["1", "0", "0", "0"], cells
    shot(desk, "filters-and-summary")
    assert console.errors == []


def test_the_screen_shows_votes_and_next_up_follows_the_active_theme(server, clients, contexts, console):
    """Votes on each question, updated live; a segment narrows "Next up" but not what is on air."""
    ev = create_event(server, "Votes on the screen")
    asker, voter = clients(ev["code"]), clients(ev["code"])
    moderator = clients(ev["code"], "moderator", ev["moderator_token"])
    finance = asker.ask("Finance question?", theme="finance")
    digital = asker.ask("Digital question?", theme="digitalization")
    for q in (finance, digital):
        moderator.call("question:moderate", {"id": q["id"], "action": "approve"})
    screen = console.watch(contexts(viewport={"width": 1280, "height": 720}).new_page(), "screen")
    screen.goto(ev["links"]["screen"])
    items = screen.locator("#next .layer:not(.is-leaving) .next-item")
    expect(items).to_have_count(2)
    expect(items.filter(has_text="Finance question?").locator(".next-votes [aria-hidden]")).to_have_text("▲ 0")

    voter.call("question:vote", {"id": finance["id"]})
    asker.call("question:vote", {"id": finance["id"]})
    votes = items.filter(has_text="Finance question?").locator(".next-votes")
    expect(votes.locator("[aria-hidden]")).to_have_text("▲ 2")
    expect(votes.locator(".visually-hidden")).to_have_text("2 votes")

    moderator.call("event:update", {"active_theme": "digitalization"})
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Digital question?")
    moderator.call("question:moderate", {"id": finance["id"], "action": "live"})
    live = screen.locator("#live .layer:not(.is-leaving)")
    expect(live.locator(".live-text")).to_have_text("Finance question?")
    expect(live.locator(".live-votes [aria-hidden]")).to_have_text("▲ 2")
    screen.wait_for_timeout(800)  # past the cross-fade
    shot(screen, "screen-votes-and-segment")
    assert console.errors == []


HOSTILE_TEXT = ("<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\"> "
                "<a href=\"javascript:window.pwned=3\">click</a> \u202egnp.exe\u202c "
                + "W" * 300 + "?")
HOSTILE_NAME = "<b onmouseover=window.pwned=4>Eve</b>\u202e"


def test_hostile_text_shows_as_text_on_all_three_pages(server, clients, contexts, console):
    """Issue 5: markup, script URLs, bidi overrides and a 300-letter word are inert text everywhere."""
    ev = create_event(server, "Hostile text")
    asker = clients(ev["code"])
    moderator = clients(ev["code"], "moderator", ev["moderator_token"])
    q = asker.ask(HOSTILE_TEXT, name=HOSTILE_NAME)
    for action in ("approve", "live"):
        moderator.call("question:moderate", {"id": q["id"], "action": action})
    pages = {
        "desk": (ev["links"]["moderator"], "#queue-list .card-text", {"width": 1366, "height": 900}),
        "participant": (ev["links"]["participant"], ".q-text", {"width": 320, "height": 640}),
        "screen": (ev["links"]["screen"], "#live .layer:not(.is-leaving) .live-text", {"width": 1280, "height": 720}),
    }
    for name, (url, selector, viewport) in pages.items():
        page = console.watch(contexts(viewport=viewport).new_page(), name)
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        text = page.locator(selector).first
        expect(text).to_have_text(HOSTILE_TEXT)
        page.wait_for_timeout(300)
        assert page.evaluate("window.pwned") is None, name
        assert dialogs == [], name
        # Nothing of the text became an element; the long word wraps inside the page.
        assert text.evaluate("el => el.children.length") == 0, name
        assert page.locator("a[href^='javascript:']").count() == 0, name
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), name
        if name != "screen":  # the screen shows no names
            assert page.get_by_text("<b onmouseover=window.pwned=4>Eve</b>").count() >= 1, name
        shot(page, f"hostile-{name}")
    assert console.errors == []


# ---- (b) Two moderators at once ----------------------------------------------


class HeldSockets:
    """Relays a page's Socket.IO WebSockets and can hold back what the server sends them.

    While held, the page acts on a stale view; released, it gets everything in order,
    the broadcasts first and then the acks of what it did meanwhile: a real race.
    (The desk has two sockets: its own and its screen preview's, in an iframe.)
    `only` narrows what is held (say, acks only), letting everything else through at once.
    """

    def __init__(self, only=None):
        self.hold = False
        self.only = only
        self.held: list = []  # (route, message), in arrival order
        self.routes: list = []
        self.upgraded: set[int] = set()

    def __call__(self, ws) -> None:
        n = len(self.routes)
        self.routes.append(ws)
        server = ws.connect_to_server()

        def up(message):
            if message == "5":  # Engine.IO "upgrade": from now on everything goes over this socket
                self.upgraded.add(n)
            server.send(message)

        def down(message):
            if self.holds(message):
                self.held.append((ws, message))
            else:
                ws.send(message)

        ws.on_message(up)
        server.on_message(down)

    def holds(self, message) -> bool:
        if self.only is not None:
            return self.hold and self.only(str(message))
        return self.hold or bool(self.held)

    def all_upgraded(self) -> bool:
        return bool(self.routes) and len(self.upgraded) == len(self.routes)

    def acks_held(self) -> int:
        return sum(is_ack(message) for _, message in self.held)

    def release(self) -> None:
        while self.held:
            ws, message = self.held.pop(0)
            ws.send(message)
        self.hold = False


def relay_sockets(page, only=None) -> HeldSockets:
    """Route `page`'s Socket.IO WebSockets through a HeldSockets; call before the page loads."""
    relay = HeldSockets(only=only)
    page.route_web_socket(re.compile(r"/socket\.io/"), relay)
    return relay


def is_ack(message) -> bool:
    return str(message).startswith("43")  # a Socket.IO ack packet


def wait_until(page, predicate, what: str, timeout: float = WAIT_S) -> None:
    """Poll a Python condition set by Playwright callbacks, letting Playwright dispatch them."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(50)


def test_two_moderators_see_each_other_and_a_late_action_is_refused_visibly(
        server, clients, contexts, console):
    ev = create_event(server, "Two moderators")
    code = ev["code"]
    phone = console.watch(contexts(viewport={"width": 390, "height": 844}).new_page(), "participant")
    desk_a = console.watch(contexts(viewport={"width": 1366, "height": 900}).new_page(), "moderator-A")
    ctx_b = contexts(viewport={"width": 1366, "height": 900})
    desk_b = console.watch(ctx_b.new_page(), "moderator-B")
    relay = relay_sockets(desk_b)

    desk_a.goto(ev["links"]["moderator"])
    desk_b.goto(ev["links"]["moderator"])
    phone.goto(ev["links"]["participant"])
    for desk in (desk_a, desk_b):
        expect(desk.locator("#main")).to_be_visible()
        expect(desk.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")

    # Presence: one participant page, two moderator desks (the desks' screen previews are screens).
    for desk in (desk_a, desk_b):
        expect(desk.locator("#presence")).to_be_visible()
        expect(desk.locator("#presence")).to_have_text("1 participant · 2 moderators online")

    # A question from the phone reaches both desks at once.
    first = "Can the Group map payment costs for small exporters?"
    phone.locator(".chip", has_text="Access to finance").click()
    phone.fill("#ask-text", first)
    phone.fill("#ask-name", "Kofi")
    phone.click("#ask-send")
    for desk in (desk_a, desk_b):
        card = desk.locator("#incoming-list > .card", has_text=first)
        expect(card).to_be_visible(timeout=PUSH_MS)
        expect(card).to_contain_text("Kofi")
        expect(desk.locator("#incoming-count")).to_have_text("1")
    shot(desk_b, "two-moderators-incoming")

    # B has it selected; A approves it; B's desk follows without a reload.
    desk_b.evaluate("window.__noReload = 1")
    desk_b.locator("#incoming-list > .card", has_text=first).locator(".card-text").click()
    desk_a.locator("#incoming-list > .card", has_text=first).locator("[data-action=approve]").click()
    expect(desk_b.locator("#queue-list > .card .card-text")).to_have_text([first], timeout=PUSH_MS)
    expect(desk_b.locator("#incoming-list > .card")).to_have_count(0)
    expect(desk_b.locator("#incoming-count")).to_have_text("0")
    expect(desk_b.locator("#queue-count")).to_have_text("1")
    expect(phone.locator("#mine-list .mine-item", has_text=first).locator(".status")).to_have_text("Published")

    # B presses "a" on its (still selected) card anyway: refused, said so, nothing changes.
    expect(desk_b.locator("#queue-list > .card.is-selected .card-text")).to_have_text(first)
    desk_b.keyboard.press("a")
    expect(desk_b.locator("#toasts .toast-error")).to_contain_text("already approved", timeout=PUSH_MS)
    expect(desk_b.locator("#toasts .toast-error")).to_have_attribute("role", "alert")
    expect(desk_b.locator("#queue-list > .card .card-text")).to_have_text([first])
    expect(desk_b.locator("#incoming-list > .card")).to_have_count(0)
    expect(desk_a.locator("#toasts .toast-error")).to_have_count(0)
    shot(desk_b, "two-moderators-refused")

    # A real race: B's socket lags, so B still sees two incoming questions that A handles meanwhile.
    asker = clients(code)
    second = asker.ask("How do digital trade documents help SMEs?", theme="digitalization")["text"]
    third = asker.ask("Buy my product now at a discount", theme="other")["text"]
    for desk in (desk_a, desk_b):
        expect(desk.locator("#incoming-list > .card")).to_have_count(2, timeout=PUSH_MS)
    wait_until(desk_b, relay.all_upgraded, "desk B's sockets to upgrade to WebSockets")
    desk_b.locator("#toasts .toast-error").evaluate_all("els => els.forEach((e) => e.remove())")
    relay.hold = True
    desk_a.locator("#incoming-list > .card", has_text=second).locator("[data-action=approve]").click()
    desk_a.locator("#incoming-list > .card", has_text=third).locator("[data-action=reject]").click()
    expect(desk_a.locator("#incoming-list > .card")).to_have_count(0)
    expect(desk_a.locator("#rejected-count")).to_have_text("1")
    # B's stale desk still offers both; B approves the one and rejects the other.
    expect(desk_b.locator("#incoming-list > .card")).to_have_count(2)
    desk_b.locator("#incoming-list > .card", has_text=second).locator("[data-action=approve]").click()
    desk_b.locator("#incoming-list > .card", has_text=third).locator("[data-action=reject]").click()
    # Both requests reached the server and were refused there; their answers are held.
    wait_until(desk_b, lambda: relay.acks_held() >= 2, "the server's answers to desk B")
    stored = all_questions(server, ev)
    assert [q["status"] for q in stored.values() if q["text"] in (second, third)] == ["approved", "rejected"]
    relay.release()

    errors = desk_b.locator("#toasts .toast-error")
    expect(errors).to_have_count(2, timeout=PUSH_MS)
    expect(errors.filter(has_text="already approved")).to_have_count(1)
    expect(errors.filter(has_text="already rejected")).to_have_count(1)
    # B's desk shows the truth: both published in order, the advert not published, nothing incoming.
    expect(desk_b.locator("#queue-list > .card .card-text")).to_have_text([first, second])
    expect(desk_b.locator("#incoming-list > .card")).to_have_count(0)
    expect(desk_b.locator("#incoming-count")).to_have_text("0")
    expect(desk_b.locator("#rejected-count")).to_have_text("1")
    expect(desk_b.locator("#queue-list > .card[aria-busy=true]")).to_have_count(0)
    expect(desk_a.locator("#queue-list > .card .card-text")).to_have_text([first, second])
    assert public_texts(server, code) == [first, second]
    assert desk_b.evaluate("window.__noReload") == 1
    desk_b.wait_for_timeout(300)
    shot(desk_b, "two-moderators-race")

    # Presence follows people leaving: B closes its desk, the python participant hangs up.
    ctx_b.close()
    asker.close()
    expect(desk_a.locator("#presence")).to_have_text("1 participant · 1 moderator online", timeout=PUSH_MS)
    shot(desk_a, "two-moderators-presence")
    # The refused actions are expected in the log of B's page only if it logs them; nothing else.
    assert console.errors == []


def test_an_edit_opened_while_an_undo_action_or_merge_is_acked_keeps_the_keyboard(server, clients, contexts, console):
    """The broadcast that shows an undo, an action or a merge comes before its ack: a moderator who opens
    an edit in between must keep the focus in the form when the ack lands, or Ctrl+Enter goes to
    a card (found by CI: tests/test_browser.py::test_keyboard_triage_edit_and_undo[threading])."""
    ev = create_event(server, "Undo, then edit")
    text = "Can customs rulings be shared across the region?"
    asker = clients(ev["code"])
    asker.ask(text)
    desk = console.watch(contexts(viewport={"width": 1366, "height": 900}).new_page(), "moderator")
    relay = relay_sockets(desk, only=is_ack)
    desk.goto(ev["links"]["moderator"])
    card = desk.locator("#incoming-list > .card", has_text=text)
    expect(card).to_be_visible()
    wait_until(desk, relay.all_upgraded, "the desk's sockets to upgrade to WebSockets")

    card.locator(".card-text").click()
    desk.keyboard.press("r")
    expect(desk.locator("#rejected-count")).to_have_text("1")
    expect(desk.locator("#toasts")).to_contain_text("Moved to Not published.")  # its ack is in: undo won't wait for it
    relay.hold = True
    desk.keyboard.press("z")
    expect(card).to_be_visible()  # by the broadcast; the undo's ack is held
    area = desk.locator("#incoming-list .edit-form textarea")

    def edit_while_the_ack_is_held(what: str, toast: str, added: str) -> None:
        card.locator(".card-text").click()
        desk.keyboard.press("e")
        expect(area).to_be_focused()
        wait_until(desk, lambda: relay.acks_held() >= 1, what)
        relay.release()
        expect(desk.locator("#toasts")).to_contain_text(toast)
        expect(area).to_be_focused()
        area.press_sequentially(added)
        desk.keyboard.press("Control+Enter")

    edit_while_the_ack_is_held("the undo's ack", "Rejection undone.", " Soon")
    expect(desk.locator("#incoming-list .card-text")).to_have_text([text + " Soon"])

    # An approval: its end would select the approved card's neighbour, not the card being edited.
    others = [asker.ask(t)["text"] for t in ("Who certifies e-invoices?", "Are de minimis thresholds rising?")]
    expect(desk.locator("#incoming-list > .card")).to_have_count(3)  # newest first
    desk.locator("#incoming-list > .card", has_text=others[1]).locator(".card-text").click()
    relay.hold = True
    desk.keyboard.press("a")
    expect(desk.locator("#queue-list > .card", has_text=others[1])).to_be_visible()  # by the broadcast
    edit_while_the_ack_is_held("the approval's ack", "Approved.", " Now")
    expect(card.locator(".card-text")).to_have_text(text + " Soon Now")

    # A merge: its end would select the merged card's neighbour in Incoming.
    second = clients(ev["code"])  # the first asker has used its burst of questions
    older = second.ask("How can women-led small businesses get export credit insurance?")["text"]
    newer = second.ask("How do women-led small businesses get export credit insurance cheaply?")["text"]

    def incoming(text: str):  # by its own text: a similar card's hint holds the other's too
        return desk.locator("#incoming-list > .card").filter(has=desk.locator(".card-text", has_text=text))

    merge = incoming(newer).locator(".similar button")
    expect(merge).to_have_text(["Merge"])
    relay.hold = True
    merge.click()
    expect(incoming(newer)).to_have_count(0)  # by the broadcast
    edit_while_the_ack_is_held("the merge's ack", "Merged into", " Later")
    expect(card.locator(".card-text")).to_have_text(text + " Soon Now Later")
    expect(incoming(older)).to_be_visible()
    assert console.errors == []
