"""The projector screen read from 20 metres (templates/screen.html, static/js/screen.js, static/css/screen.css),
in a real browser at 1920×1080 and 1280×720, in English, French and Spanish.

Idle, the QR code (a third of the height at least) and the join code fill the centre; on air,
the band's QR code stays at least 200 px tall at 1080p; the title and the guiding question
are never cut while the screen has room; "Questions are closed" is as large as "Ask at …";
"Next up" rows give most of their width to the question. Screenshots go to /tmp/qa-screen/
(looked at by a person after a change) and tests/artifacts/screen/.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BROWSER_WAIT_MS, CHROMIUM, approved_questions
from qa.domain import events as events_domain
from qa.domain import translations

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
if not Path(CHROMIUM).exists():
    pytest.skip(f"needs Chromium at {CHROMIUM}", allow_module_level=True)
expect = sync_api.expect
pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parent.parent
SHOTS = [Path("/tmp/qa-screen"), ROOT / "tests" / "artifacts" / "screen"]
SIZES = {"1080": {"width": 1920, "height": 1080}, "720": {"width": 1280, "height": 720}}
QUESTIONS = [
    ("trade-facilitation", "How can small exporters get faster customs clearance at the border, and who pays "
                           "for the single window once the donors leave?"),
    ("finance", "Comment les petites entreprises peuvent-elles accéder au financement du commerce ?"),
    ("digitalization", "¿Cómo pueden las mipymes aprovechar el comercio electrónico transfronterizo?"),
    ("finance", "What would make cross-border payments cheaper for a firm of five people?"),
    ("other", "Could the Group publish a plain-language guide to its package?"),
]


@pytest.fixture(scope="module")
def room():
    """A live server with the demo's event (its long title, four themes, three languages) and
    questions on the queue; a moderator socket to drive it."""
    with approved_questions("s", [(i, theme, text) for i, (theme, text) in enumerate(QUESTIONS)]) as (
            server, ev, moderator, ids):
        yield server, ev, moderator, list(ids.values())


def drive(moderator, event: str, payload: dict) -> None:
    ack = moderator.call(event, payload, timeout=10)
    assert ack["ok"], ack


# Settled: no layer fading in or out (screen.js removes the old one once the cross-fade is over, so
# the new one is fully shown), then two frames drawn, so that the ResizeObserver's refit after a
# viewport change has run. Waiting for exactly that, not a fixed time, lets a resize that changes no
# content be measured at once.
CALM = "() => !document.querySelector('.layer.is-leaving, .layer.is-entering')"
TWO_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def settle(page) -> None:
    """Before measuring or a picture: the cross-fade over and the fitting done."""
    page.wait_for_function(CALM, polling="raf")
    page.evaluate(TWO_FRAMES)


def shoot(page, name: str) -> None:
    for folder in SHOTS:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def not_cut(page, selector: str) -> bool:
    """The element shows all its text: nothing overflows its box, and no line is clamped with "…"."""
    return page.eval_on_selector(selector, "(e) => e.scrollHeight <= e.clientHeight + 1 && "
                                           "getComputedStyle(e).webkitLineClamp === 'none'")


def inside_live(page) -> bool:
    """The idle words and QR code stay within the centre: nothing runs over the bands."""
    live = box(page, "#live")
    for selector in ("#live .layer:not(.is-leaving) .idle-words", "#live .layer:not(.is-leaving) .idle-qr"):
        inner = box(page, selector)
        if inner["y"] < live["y"] - 1 or inner["y"] + inner["height"] > live["y"] + live["height"] + 1:
            return False
    return not_cut(page, "#live .layer:not(.is-leaving) .idle-words")


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_the_screen_from_the_back_of_the_room(room, lang):
    server, ev, moderator, ids = room
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=SIZES["1080"])
            page.set_default_timeout(BROWSER_WAIT_MS)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.url}/e/{ev['code']}/screen?lang={lang}")
            expect(page.locator("#live .layer:not(.is-leaving) .idle-qr img")).to_be_visible()
            title = {"en": events_domain.DEMO_TITLE, **{k: v["title"] for k, v in translations.DEMO_TRANSLATIONS.items()}}
            expect(page.locator("#event-title")).to_have_text(title[lang])

            # Nothing on air: the QR code is over a third of the screen's height, the code beside it.
            drive(moderator, "event:update", {"active_theme": None, "submissions_open": True})
            for size, viewport in SIZES.items():
                page.set_viewport_size(viewport)
                settle(page)
                qr = box(page, "#live .layer:not(.is-leaving) .idle-qr img")
                assert qr["height"] >= viewport["height"] / 3, (size, qr)
                assert page.locator("#qr").is_hidden()  # the band's QR code gives way to the big one
                expect(page.locator("#live .layer:not(.is-leaving) .idle-code strong")).to_have_text(ev["code"])
                assert not_cut(page, "#event-title"), size
                assert inside_live(page), size
                shoot(page, f"screen-{lang}-{size}-idle")

            # On air, in a segment: the band's QR stays ≥ 200 px at 1080p; the guiding question shows whole.
            drive(moderator, "event:update", {"active_theme": "finance"})
            drive(moderator, "question:moderate", {"id": ids[0], "action": "live"})
            for size, viewport in SIZES.items():
                page.set_viewport_size(viewport)
                expect(page.locator("#live .layer:not(.is-leaving) .live-text")).to_be_visible()
                settle(page)
                if size == "1080":
                    assert box(page, "#qr")["height"] >= 200
                assert not_cut(page, "#segment-prompt") and not_cut(page, "#event-title"), size
                # Next up: the question takes most of each row.
                rows = page.locator("#next .layer:not(.is-leaving) .next-item")
                assert rows.count() >= 1
                for i in range(rows.count()):
                    row = rows.nth(i).bounding_box()
                    text = rows.nth(i).locator(".next-text").bounding_box()
                    assert text["width"] >= 0.6 * row["width"], (size, i, text, row)
                shoot(page, f"screen-{lang}-{size}-live")

            # Closed: as prominent as "Ask at …".
            drive(moderator, "event:update", {"submissions_open": False})
            expect(page.locator("#band-closed")).to_be_visible()
            how = page.eval_on_selector(".band-how", "(e) => parseFloat(getComputedStyle(e).fontSize)")
            closed = page.eval_on_selector("#band-closed", "(e) => parseFloat(getComputedStyle(e).fontSize)")
            assert closed >= how
            shoot(page, f"screen-{lang}-720-closed-live")
            drive(moderator, "question:moderate", {"id": ids[0], "action": "unlive"})
            expect(page.locator("#live .layer:not(.is-leaving) .idle-closed")).to_be_visible()
            for size, viewport in SIZES.items():
                page.set_viewport_size(viewport)
                settle(page)
                assert inside_live(page), size
                # With the segment band on too, the QR code still takes a third of the height.
                qr = box(page, "#live .layer:not(.is-leaving) .idle-qr img")
                assert qr["height"] >= viewport["height"] / 3, (size, qr)
                shoot(page, f"screen-{lang}-{size}-closed-idle")
        finally:
            drive(moderator, "event:update", {"submissions_open": True, "active_theme": None})
            browser.close()
    assert errors == []


# On air in turn: a short, a middling, a long and a very long question (the kind whose last word,
# "paperwork?", was cut off), in each language.
ON_AIR = [
    ("short", "Who pays for the paperwork?"),
    ("middling", "What would make cross-border payments cheaper for a firm of five people, and who fills in "
                 "the paperwork?"),
    ("long", "How can small exporters get faster customs clearance at the border, and who pays for the single "
             "window once the donors leave, and what should the Group ask governments to simplify in the "
             "paperwork?"),
    ("very-long", "Comment les petites et moyennes entreprises exportatrices peuvent-elles obtenir un dédouanement "
                  "plus rapide à la frontière, qui paiera le guichet unique lorsque les donateurs partiront, "
                  "quelles procédures le Groupe devrait-il demander aux gouvernements de simplifier, et dans "
                  "quels délais, pour que les entreprises de cinq personnes ne passent plus leurs semaines à "
                  "remplir la paperwork?"),
]

# The live text as measured in the page: its size, whether anything is cut, and whether 8 % larger
# would still fit (then the routine stopped too small, unless it is at its cap of 18 % of the height).
MEASURE_LIVE = """(text) => {
  const box = text.closest('.live-box');
  const stage = document.getElementById('stage');
  const size = parseFloat(getComputedStyle(text).fontSize);
  const shows = (b) => b.scrollHeight <= b.clientHeight + 1 && b.scrollWidth <= b.clientWidth + 1;
  const whole = shows(box) && text.scrollWidth <= text.clientWidth + 1;
  text.style.fontSize = `${size * 1.08}px`;
  const largerFits = shows(box) && text.scrollWidth <= text.clientWidth + 1;
  text.style.fontSize = `${size}px`;
  return {size, whole, largerFits, cap: stage.clientHeight * 0.18,
          box: [box.scrollHeight, box.clientHeight, box.scrollWidth, box.clientWidth]};
}"""


@pytest.fixture
def stage_room():
    """A live server whose questions are all approved, to put on air one after another; one per
    test, so that a language's run starts with nothing on air whatever the one before left."""
    with approved_questions("f", [(name, "finance", text) for name, text in ON_AIR], QA_RATE_LIMITS="off") as room:
        yield room


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_the_question_on_air_is_as_large_as_fits_and_never_cut(stage_room, lang):
    server, ev, moderator, ids = stage_room
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=SIZES["1080"])
            page.set_default_timeout(BROWSER_WAIT_MS)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.url}/e/{ev['code']}/screen?lang={lang}")
            # A segment on for the second half: its band takes room from the centre.
            for segment in (None, "finance"):
                drive(moderator, "event:update", {"active_theme": segment})
                for name, _ in ON_AIR:
                    drive(moderator, "question:moderate", {"id": ids[name], "action": "live"})
                    for size, viewport in (*SIZES.items(), ("1080", SIZES["1080"])):  # and back: a resize
                        page.set_viewport_size(viewport)
                        live = page.locator(f'#live .layer:not(.is-leaving)[data-id="{ids[name]}"] .live-text')
                        expect(live).to_be_visible()
                        settle(page)
                        m = live.evaluate(MEASURE_LIVE)
                        where = (lang, segment, name, size, m)
                        assert m["whole"], where
                        assert m["size"] >= m["cap"] - 1 or not m["largerFits"], where
                        if name == "short":
                            assert m["size"] >= viewport["height"] * 0.055, where  # ≥ 60 px at 1080p
                    if lang == "en":
                        shoot(page, f"screen-fit-{segment or 'all'}-{name}")
        finally:
            drive(moderator, "event:update", {"active_theme": None})
            browser.close()
    assert errors == []
