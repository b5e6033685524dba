"""WCAG 2.2 AA on the four pages, in English, French and Spanish, in a real browser.

axe-core (pinned in package.json, installed by `npm ci`) checks every page in
each language in the states that matter: empty, with questions in every status
(pending, published, answered, on air, not published), and with an error shown.
Then what axe cannot see: keyboard use with a visible focus, polite live regions
that never take the focus, theme and status never told by colour alone, and no
horizontal scrolling on a 320 px phone or at 200 % zoom.
Screenshots land in tests/artifacts/a11y/ (gitignored).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import requests
import socketio

from conftest import ADMIN_TOKEN
from live_server import LiveServer

ROOT = Path(__file__).resolve().parent.parent
from conftest import BROWSER_WAIT_MS, need, need_browser
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts" / "a11y"

need_browser()
need(None if AXE.exists() else "accessibility tests need axe-core: run `npm ci` in the project root "
     "(scripts/test does when npm is installed)")
sync_api = pytest.importorskip("playwright.sync_api", reason="accessibility tests need Playwright for Python")
expect = sync_api.expect
# Read from disk once, evaluated into each page axe checks (see axe()).
AXE_SOURCE = AXE.read_text(encoding="utf-8")

WAIT_MS = BROWSER_WAIT_MS
expect.set_options(timeout=WAIT_MS)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LANGS = ("en", "fr", "es")
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 800}
PROJECTOR = {"width": 1280, "height": 720}

pytestmark = pytest.mark.timeout(600)

# Questions in every state, in the three languages the room speaks.
QUESTIONS = [
    ("trade-facilitation", "How can small exporters get faster customs clearance at the border?", "Amina", "live"),
    ("finance", "Comment les petites entreprises peuvent-elles accéder au financement du commerce ?", "Luc",
     "approved"),
    ("digitalization", "¿Cómo pueden las mipymes aprovechar el comercio electrónico transfronterizo?", None,
     "approved"),
    ("other", "Will the Group publish a toolkit for small firms after this webinar?", "Kofi", "answered"),
    ("finance", "What does the Group think of supply chain finance for very small suppliers?", None, "pending"),
    ("trade-facilitation", "Quelles sont les priorités du Groupe pour la facilitation des échanges ?", "Inès",
     "pending"),
    ("other", "This one is off topic and will not be published.", None, "rejected"),
]

TRANSLATIONS = {
    "fr": {"title": "Les petites entreprises dans le commerce : questions du secteur privé"},
    "es": {"title": "Las pequeñas empresas en el comercio: preguntas del sector privado"},
}


# ---- The server and its events -------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("a11y") / "qa.sqlite3"
    env = {"QA_DATABASE_URL": f"sqlite:///{db}", "QA_SECRET_KEY": "a11y-secret", "QA_ADMIN_TOKEN": ADMIN_TOKEN,
           "QA_ASYNC_MODE": "threading", "QA_RATE_LIMITS": "off", "QA_MESSAGE_QUEUE": "",
           "QA_PROFANITY_FILTER": "on"}
    with LiveServer(env, args=("--no-demo",)) as srv:
        yield srv


def create_event(server, title: str, **extra) -> dict:
    r = requests.post(server.url + "/api/events", json={"title": title, **extra},
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5)
    assert r.status_code == 201, r.text
    return r.json()


def client(server, auth: dict) -> socketio.Client:
    c = socketio.Client(reconnection=False)
    c.connect(server.url, auth=auth, wait_timeout=10, transports=["websocket"])
    return c


def seed(server, ev: dict) -> None:
    """Put QUESTIONS into the event, each in its state, through the Socket.IO API."""
    participant = client(server, {"event": ev["code"], "role": "participant"})
    moderator = client(server, {"event": ev["code"], "role": "moderator", "token": ev["moderator_token"]})
    try:
        for i, (theme, text, name, state) in enumerate(QUESTIONS):
            payload = {"client_id": f"seed-{i}", "theme": theme, "text": text}
            if name:
                payload["name"] = name
            ack = participant.call("question:submit", payload, timeout=10)
            assert ack["ok"], ack
            qid = ack["question"]["id"]
            steps = {"pending": [], "approved": ["approve"], "answered": ["approve", "answer"],
                     "live": ["approve", "live"], "rejected": ["reject"]}[state]
            for action in steps:
                ack = moderator.call("question:moderate", {"id": qid, "action": action}, timeout=10)
                assert ack["ok"], ack
        ack = moderator.call("event:update", {"active_theme": "finance"}, timeout=10)
        assert ack["ok"], ack
    finally:
        participant.disconnect()
        moderator.disconnect()


@pytest.fixture(scope="module")
def events(server) -> dict:
    """An event with no questions, and one with questions in every state and a segment on."""
    empty = create_event(server, "Empty room")
    full = create_event(server, "Small businesses in trade: questions from the private sector",
                        translations=TRANSLATIONS)
    seed(server, full)
    return {"empty": empty, "full": full}


@pytest.fixture
def open_page(browser):
    """open_page(viewport, **context options) -> a page in a context closed after the test."""
    opened = []

    def _open(viewport=PHONE, **kwargs):
        ctx = browser.new_context(viewport=viewport, **kwargs)
        opened.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(WAIT_MS)
        return page

    yield _open
    for ctx in opened:
        ctx.close()


# A new context per page cost a renderer process and cold caches, about half of each page's time.
# So pages open one after another in a tab kept for the module, first emptied of all the site
# stored: what a first visit sees, from warm caches. The views (below) have a tab of their own.


@contextmanager
def kept_tab(browser) -> Iterator[sync_api.Page]:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.set_default_timeout(WAIT_MS)
        yield page
    finally:
        ctx.close()


def arrive_anew(page, server, viewport: dict) -> None:
    """Leave the last page for one of the site that runs no script, forget what the site stored
    (cookies, local and session storage), and size the tab: the next page opens as on a first visit."""
    page.goto(server.url + "/healthz")
    page.context.clear_cookies()
    page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
    page.set_viewport_size(viewport)


@pytest.fixture(scope="module")
def tests_tab(browser):
    with kept_tab(browser) as page:
        yield page


@pytest.fixture
def first_visit(tests_tab, server):
    """first_visit(viewport) -> the module's tab, ready for a first visit at that size."""

    def _visit(viewport: dict = PHONE) -> sync_api.Page:
        arrive_anew(tests_tab, server, viewport)
        return tests_tab

    yield _visit
    # Closed with the test, as its own context was: no page of it stays connected into the next.
    tests_tab.goto("about:blank")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Animations fast-forwarded to their end: the desk's screen preview, which axe does not look
    # into and so is not waited for, shows as it comes to rest.
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, animations="disabled")


# ---- Pages in their states --------------------------------------------------------------


def url_for(server, events, page: str, state: str, lang: str) -> str:
    ev = events["empty" if state == "empty" else "full"]
    base = {"join": "/", "participant": f"/e/{ev['code']}", "moderate": f"/e/{ev['code']}/moderate",
            "screen": f"/e/{ev['code']}/screen", "notfound": "/e/NOSUCH", "report": f"/e/{ev['code']}/report"}[page]
    url = f"{server.url}{base}?lang={lang}"
    if page in ("moderate", "report") and state != "error":
        url += f"#token={ev['moderator_token']}"
    return url


# Every finite animation (slide-in, cross-fade, transition) has ended and the screen's
# cross-faded layers are gone. An infinite one, the "connecting" pulse, never ends; the states
# checked here are connected, where none runs.
SETTLED = """() => document.readyState === 'complete' && !document.querySelector('.layer.is-leaving')
    && document.getAnimations().every(a => a.playState !== 'running'
                                           || a.effect.getComputedTiming().endTime === Infinity)"""
# The second frame after a change: the first has laid it out and run the ResizeObservers it fired.
NEXT_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def settled(page) -> None:
    """Wait until nothing moves: axe reads colours at rest, and widths are final."""
    page.evaluate(NEXT_FRAMES)
    page.wait_for_function(SETTLED, polling="raf")


def resize(page, viewport: dict) -> None:
    if page.viewport_size != viewport:
        page.set_viewport_size(viewport)
        settled(page)


def settle(page, kind: str, state: str) -> None:
    """Wait until the page shows the state; put the error on screen for the error state.

    A live page turns "connected" in the same task that renders its snapshot: the server sends
    the snapshot before its connect ack, and socket.io hands buffered events over before "connect".
    """
    if kind == "join":
        if state == "error":
            page.fill("#join-code", "NO-SUCH-CODE")
            page.click("#join-button")
            expect(page.locator("#join-error")).to_be_visible()
    elif kind == "participant":
        expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
        if state == "full":
            expect(page.locator("#public-list .question")).to_have_count(4)
        if state == "error":
            page.click("#ask-send")  # an empty question: the error shows next to the field
            expect(page.locator("#ask-error")).to_be_visible()
    elif kind == "moderate":
        if state == "error":
            page.fill("#token-input", "not-the-token")
            page.press("#token-input", "Enter")
            expect(page.locator("#token-error")).to_be_visible()
        else:
            expect(page.locator("#main")).to_be_visible()
            if state == "full":
                expect(page.locator("#incoming-list .card")).to_have_count(2)
                page.locator("#rejected summary").click()  # the "Not published" list open too
                expect(page.locator("#rejected-list .card")).to_have_count(1)
    elif kind == "report":
        if state == "error":
            page.fill("#report-token", "not-the-token")
            page.press("#report-token", "Enter")
            expect(page.locator("#report-token-error")).to_be_visible()
        else:
            expect(page.locator(".report-overview")).to_be_visible()
            expect(page.locator(".report-theme")).to_have_count(4 if state == "full" else 4)
    elif kind == "screen":
        expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
        if state == "full":
            expect(page.locator("#live .layer:not(.is-leaving) .live-text")).to_be_visible()
    settled(page)


def axe(page) -> list[dict]:
    """Violations of the WCAG 2.x A/AA rules, with where they are."""
    # Through DevTools, not as a <script> element: the page keeps its own CSP (no bypass_csp),
    # and only its main frame gets axe, as add_script_tag did.
    if page.evaluate("typeof axe === 'undefined'"):
        page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        WCAG_TAGS,
    )
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5],
             "summary": v["nodes"][0].get("failureSummary", "") if v["nodes"] else ""}
            for v in result["violations"]]


# Checked for reflow as well as by axe. They come first in CASES so that each has the same index in
# both tests' parameters: pytest then runs all the checks of one view in a row, on one page.
REFLOW_CASES = [("join", "error"), ("participant", "full"), ("participant", "error"), ("moderate", "full"),
                ("moderate", "error"), ("notfound", "error"), ("report", "full")]
CASES = REFLOW_CASES + [
    ("join", "empty"), ("participant", "empty"), ("moderate", "empty"),
    ("screen", "empty"), ("screen", "full"),
    ("report", "empty"), ("report", "error"),
]
VIEWPORTS = {"join": PHONE, "participant": PHONE, "moderate": LAPTOP, "screen": PROJECTOR, "notfound": PHONE,
             "report": LAPTOP}


@dataclass
class View:
    """One page in one state and language, as a first-time visitor sees it."""
    kind: str
    state: str
    lang: str
    page: sync_api.Page

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.state}-{self.lang}"


def views(cases: list[tuple[str, str]]) -> list:
    return [pytest.param((kind, state, lang), id=f"{kind}-{state}-{lang}") for kind, state in cases for lang in LANGS]


@pytest.fixture(scope="module")
def views_tab(browser):
    with kept_tab(browser) as page:
        yield page


@pytest.fixture(scope="module")
def view(request, views_tab, server, events):
    """A page shown in its state, shared by the checks of that view."""
    kind, state, lang = request.param
    arrive_anew(views_tab, server, VIEWPORTS[kind])
    views_tab.goto(url_for(server, events, kind, state, lang))
    settle(views_tab, kind, state)
    return View(kind, state, lang, views_tab)


@pytest.mark.parametrize("view", views(CASES), indirect=True)
def test_no_wcag_violations(view):
    """axe-core finds nothing against WCAG 2.2 A and AA."""
    page = view.page
    resize(page, VIEWPORTS[view.kind])
    expect(page.locator("html")).to_have_attribute("lang", view.lang)
    shot(page, view.name)
    violations = axe(page)
    assert violations == [], violations


# ---- Reflow: a 320 px phone and 200 % zoom -------------------------------------------------


@pytest.mark.parametrize("width", [320, 640])  # 640 CSS px is a 1280 px window at 200 % zoom
@pytest.mark.parametrize("view", views(REFLOW_CASES), indirect=True)
def test_no_horizontal_scrolling(view, width):
    """Nothing overflows sideways: every line wraps, in the longer French and Spanish too.

    The page is the one axe checked, narrowed: the layout is CSS and ResizeObservers, so it
    lays out at a width as it would have loaded there."""
    page = view.page
    resize(page, {"width": width, "height": 800})
    if width == 320:
        shot(page, f"reflow-{view.kind}-{view.state}-{view.lang}-{width}")
    wide = page.evaluate("""() => {
        const limit = document.documentElement.clientWidth;
        return Array.from(document.querySelectorAll('body *'))
            .filter(el => { const r = el.getBoundingClientRect(); return r.width && r.right > limit + 1
                            && getComputedStyle(el).visibility !== 'hidden' && !el.closest('.visually-hidden'); })
            .slice(0, 5).map(el => el.tagName + '#' + el.id + '.' + el.className);
    }""")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width, wide
    assert wide == []


def test_zoom_200_percent_on_a_laptop(server, events, first_visit):
    """CSS zoom 2 on a 1280 px laptop: the participant page still fits its width."""
    page = first_visit({"width": 1280, "height": 800})
    page.goto(url_for(server, events, "participant", "full", "fr"))
    settle(page, "participant", "full")
    page.evaluate("document.documentElement.style.zoom = '2'")
    settled(page)
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")


# ---- Keyboard only ---------------------------------------------------------------------------

FOCUS_VISIBLE = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const s = getComputedStyle(el);
    const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none';
    // A visually hidden input shows its focus on the label beside it.
    const next = el.nextElementSibling ? getComputedStyle(el.nextElementSibling) : null;
    const sibling = next && ((next.outlineStyle !== 'none' && parseFloat(next.outlineWidth) >= 2)
                             || next.boxShadow !== 'none');
    const r = (ring ? el : el.nextElementSibling || el).getBoundingClientRect();
    return {tag: el.tagName, id: el.id, text: (el.textContent || el.value || '').trim().slice(0, 40),
            visible: ring || sibling, onScreen: r.bottom > 0 && r.top < innerHeight && r.width > 0};
}"""


def tab_through(page, presses: int) -> list[dict]:
    seen = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUS_VISIBLE)
        if info:
            seen.append(info)
    return seen


@pytest.mark.parametrize("lang", LANGS)
def test_participant_by_keyboard_alone(server, first_visit, lang):
    """Tab reaches every control in reading order with a visible focus; a question is sent by keyboard."""
    ev = create_event(server, "Keyboard room")  # its own: this test adds a question
    seed(server, ev)
    page = first_visit(PHONE)
    page.goto(f"{server.url}/e/{ev['code']}?lang={lang}")
    settle(page, "participant", "full")
    stops = tab_through(page, 40)
    invisible = [s for s in stops if not s["visible"] or not s["onScreen"]]
    assert invisible == [], invisible
    ids = [s["id"] for s in stops]
    # Reading order: skip link, language, the form, then the list's controls and votes.
    order = [ids.index(x) for x in ("ask-text", "ask-name", "ask-send", "filter-theme")]
    assert order == sorted(order), ids
    assert sum(1 for s in stops if s["tag"] == "BUTTON" and s["id"] == "") >= 4  # the vote buttons

    # Ask by keyboard only: theme by arrows in the chip group, text, Enter on Send.
    page.focus("#ask-text")
    page.keyboard.press("Shift+Tab")  # back into the theme chips
    page.keyboard.press("ArrowRight")
    page.focus("#ask-text")
    page.keyboard.type("Asked with the keyboard alone, no mouse at all?")
    page.focus("#ask-send")
    page.keyboard.press("Enter")
    mine = page.locator("#mine-list .mine-item", has_text="Asked with the keyboard alone")
    expect(mine).to_be_visible()
    expect(mine).to_have_attribute("data-status", "pending")  # sent: the server has it, not the outbox
    expect(page.locator("#ask-text")).to_have_value("")


def test_moderator_desk_by_keyboard_alone(server, first_visit):
    """Every control of the desk is reachable by Tab with a visible focus; shortcuts do the rest."""
    ev = create_event(server, "Keyboard desk")
    seed(server, ev)
    page = first_visit(LAPTOP)
    page.goto(f"{server.url}/e/{ev['code']}/moderate?lang=es#token={ev['moderator_token']}")
    expect(page.locator("#incoming-list .card")).to_have_count(2)
    stops = tab_through(page, 30)
    invisible = [s for s in stops if not s["visible"]]
    assert invisible == [], invisible
    ids = [s["id"] for s in stops]
    for control in ("copy-participant", "submissions-open", "active-theme", "language-filter", "help-button"):
        assert control in ids, ids
    page.keyboard.press("Escape")
    page.locator("#incoming-list .card").first.focus()
    page.keyboard.press("j")
    selected = page.locator("#incoming-list .card.is-selected")
    expect(selected).to_be_focused()
    outline = selected.evaluate("el => getComputedStyle(el).boxShadow")
    assert outline != "none"
    page.keyboard.press("a")
    expect(page.locator("#incoming-list .card")).to_have_count(1)
    expect(page.locator("#incoming-list .card.is-selected")).to_be_focused()  # moved on to the next one
    # The ack's own re-render is over before the next key: its card is busy until then.
    expect(page.locator(".card[aria-busy=true]")).to_have_count(0)
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    expect(page.locator("#help .overlay-box")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#help-button")).to_be_focused()


@pytest.mark.parametrize("lang", LANGS)
def test_flagged_question_blocked_author_and_block_dialog(server, first_visit, lang):
    """The profanity flag and "Author blocked" are words (not colour), and the confirmation
    before blocking is a modal dialog that takes and gives back the focus; axe finds nothing."""
    ev = create_event(server, "Flags and blocks")
    participant = client(server, {"event": ev["code"], "role": "participant"})
    moderator = client(server, {"event": ev["code"], "role": "moderator", "token": ev["moderator_token"]})
    try:
        rude = participant.call("question:submit", {"client_id": "rude", "theme": "other",
                                                    "text": "Why is customs such a shit show?"}, timeout=10)
        assert rude["ok"] and rude["question"].get("flag") == "profanity", rude
        other = participant.call("question:submit", {"client_id": "calm", "theme": "finance",
                                                     "text": "How do small firms pay suppliers abroad?"}, timeout=10)
        assert other["ok"], other
        ack = moderator.call("participant:block", {"id": other["question"]["id"]}, timeout=10)
        assert ack["ok"], ack
    finally:
        participant.disconnect()
        moderator.disconnect()
    page = first_visit(LAPTOP)
    page.goto(f"{server.url}/e/{ev['code']}/moderate?lang={lang}#token={ev['moderator_token']}")
    expect(page.locator("#incoming-list .card")).to_have_count(2)
    expect(page.locator("#incoming-list .mark-flag")).to_have_count(1)
    expect(page.locator("#incoming-list .mark-blocked")).to_have_count(2)  # one author wrote both
    assert page.locator(".mark-flag").inner_text().strip()
    settled(page)
    shot(page, f"moderate-flags-{lang}")
    assert axe(page) == []
    unblock = page.locator("#incoming-list .card [data-action=unblock]").first
    unblock.click()
    expect(page.locator("#incoming-list .mark-blocked")).to_have_count(0)
    block = page.locator("#incoming-list .card [data-action=block]").first
    block.click()
    expect(page.locator("#block-dialog")).to_be_visible()
    expect(page.locator("#block-cancel")).to_be_focused()
    shot(page, f"moderate-block-dialog-{lang}")
    assert axe(page) == []
    page.keyboard.press("Escape")
    expect(page.locator("#block-dialog")).to_be_hidden()
    expect(page.locator("#incoming-list .card").first).to_be_focused()


# ---- Live regions announce without taking the focus ---------------------------------------


def test_new_questions_are_announced_politely_without_moving_focus(server, first_visit, open_page):
    ev = create_event(server, "Live regions")
    desk = first_visit(LAPTOP)
    desk.goto(f"{server.url}/e/{ev['code']}/moderate?lang=fr#token={ev['moderator_token']}")
    expect(desk.locator("#main")).to_be_visible()
    phone = open_page(PHONE)
    phone.goto(f"{server.url}/e/{ev['code']}?lang=fr")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")

    desk.focus("#active-theme")
    phone.focus("#filter-theme")
    # Every region that changes by itself is polite, never assertive.
    for page in (desk, phone):
        assert page.evaluate(
            "Array.from(document.querySelectorAll('[aria-live]')).every(e => e.getAttribute('aria-live') === 'polite')")

    participant = client(server, {"event": ev["code"], "role": "participant"})
    moderator = client(server, {"event": ev["code"], "role": "moderator", "token": ev["moderator_token"]})
    try:
        ack = participant.call("question:submit", {"client_id": "x1", "theme": "finance",
                                                   "text": "Quelles garanties pour les petits exportateurs ?"},
                               timeout=10)
        expect(desk.locator("#incoming-list .card")).to_have_count(1)
        expect(desk.locator("#announcer")).to_contain_text("Nouvelle question")
        assert desk.evaluate("document.activeElement.id") == "active-theme"
        moderator.call("question:moderate", {"id": ack["question"]["id"], "action": "approve"}, timeout=10)
        expect(phone.locator("#public-list .question")).to_have_count(1)
        expect(phone.locator("#announcer")).to_contain_text("publiée")
        assert phone.evaluate("document.activeElement.id") == "filter-theme"
    finally:
        participant.disconnect()
        moderator.disconnect()


# ---- Colour is never the only carrier of meaning ---------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_themes_and_statuses_are_named_not_only_coloured(server, events, first_visit, lang):
    page = first_visit(PHONE)
    page.goto(url_for(server, events, "participant", "full", lang))
    settle(page, "participant", "full")
    labels = page.locator("#public-list .theme-tag").all_text_contents()
    assert labels and all(label.strip() for label in labels)
    assert page.locator("#theme-chips .chip").count() == 4
    assert all(text.strip() for text in page.locator("#theme-chips .chip").all_text_contents())
    # The live question says so in words, not only with its red border.
    assert page.locator("#public-list .question[data-live=true] .status-live").inner_text().strip()
    desk = first_visit(LAPTOP)  # the same tab: the participant page is done with
    desk.goto(url_for(server, events, "moderate", "full", lang))
    settle(desk, "moderate", "full")
    for card in desk.locator(".card").all():
        assert card.locator(".theme-tag").inner_text().strip()


# ---- The organiser console ----------------------------------------------------------------


@pytest.mark.parametrize("lang", ("en", "fr"))
def test_console_has_no_wcag_violations(server, events, first_visit, lang):
    """/admin: the sign-in page (empty and refused) and the event list, with its language switch."""
    page = first_visit(LAPTOP)
    page.goto(f"{server.url}/admin")
    if lang != "en":  # the language switch in the bar, remembered for the pages after signing in
        page.get_by_role("link", name={"fr": "Français", "es": "Español"}[lang]).click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    found = {"sign-in": axe(page)}
    shot(page, f"admin-sign-in-{lang}")
    page.fill("#token", "not-the-token")
    page.press("#token", "Enter")
    expect(page.locator("#token-error")).to_be_visible()
    found["sign-in refused"] = axe(page)
    page.fill("#token", ADMIN_TOKEN)
    page.press("#token", "Enter")
    expect(page.locator(".event").first).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    # The script has run: copy buttons shown, dates in the viewer's time zone.
    expect(page.locator("[data-copy]").first).to_be_visible()
    found["events"] = axe(page)
    shot(page, f"admin-events-{lang}")
    page.goto(f"{server.url}/admin/events/new")
    expect(page.locator("#add-theme")).to_be_visible()
    found["new event"] = axe(page)
    shot(page, f"admin-new-{lang}")
    assert {k: v for k, v in found.items() if v} == {}
