"""Issue 17 in a real browser: written answers, labels and the star on the desk, the
participant's side (confirmation, errors in view, theme choice, a draft event, a trailing
slash) and the desk's similar hints, positions and one-row actions.

A real `python run.py` (tests/live_server.py), a desk at 1440×900 and phones at 390×844;
questions are seeded through python-socketio clients. Screenshots land in tests/artifacts/.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import requests

from conftest import BROWSER_WAIT_MS, need_browser

need_browser()
from playwright import sync_api  # noqa: E402

from live_server import ROOT, LiveServer  # noqa: E402
# python-socketio clients that seed questions, as the desk's tests make them (`clients` is a
# fixture: it uses this module's `server`).
from test_desk_browser import clients, is_ack, relay_sockets, wait_until  # noqa: E402,F401

expect = sync_api.expect

ARTIFACTS = ROOT / "tests" / "artifacts"
ADMIN = "replies-admin"
WAIT_S = 10
DESK = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
expect.set_options(timeout=BROWSER_WAIT_MS)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory(prefix="qa-replies-") as workdir:
        env = {
            "QA_DATABASE_URL": f"sqlite:///{Path(workdir) / 'replies.db'}",
            "QA_INSTANCE_PATH": workdir,
            "QA_ADMIN_TOKEN": ADMIN,
            "QA_SECRET_KEY": "replies-secret",
            "QA_ASYNC_MODE": "eventlet",
        }
        srv = LiveServer(env, args=("--no-demo",)).start()
        try:
            yield srv
        finally:
            output = srv.stop()
            if "Traceback" in output:
                print(output)


def create_event(server, title: str) -> dict:
    res = requests.post(server.url + "/api/events", json={"title": title},
                        headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5)
    assert res.status_code == 201, res.text
    return res.json()


def shot(page, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"issue17-{name}.png"), full_page=full_page)


def in_view(page, selector: str) -> bool:
    return page.evaluate("""(sel) => {
        const box = document.querySelector(sel).getBoundingClientRect();
        return box.height > 0 && box.top >= 0 && box.bottom <= innerHeight;
    }""", selector)


# ---- Item 3: written answers -------------------------------------------------------------


def test_a_written_answer_reaches_the_asker_and_by_choice_everyone(server, clients, contexts, console):
    ev = create_event(server, "Written answers")
    asker = console.watch(contexts(viewport=PHONE).new_page(), "asker")
    other = console.watch(contexts(viewport=PHONE).new_page(), "other participant")
    desk = console.watch(contexts(viewport=DESK).new_page(), "moderator")
    for page, link in ((asker, "participant"), (other, "participant"), (desk, "moderator")):
        page.goto(ev["links"][link])
    expect(asker.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(desk.locator("#main")).to_be_visible()

    text = "Will the Group publish its recommendations on trade finance for MSMEs?"
    asker.locator(".chip", has_text="Access to finance").click()
    asker.fill("#ask-text", text)
    asker.click("#ask-send")
    # Item 6: the confirmation is on the page, in view, not only said to screen readers.
    expect(asker.locator("#ask-sent")).to_have_text("✓Sent — a moderator will review it.")
    assert in_view(asker, "#ask-sent")

    card = desk.locator("#incoming-list .card", has_text=text)
    card.locator("[data-action=approve]").click()
    queued = desk.locator("#queue-list .card", has_text=text)
    expect(queued).to_be_visible()

    # On air, the speaker answers; the moderator writes it down from the On air panel: a private
    # answer, marked answered (and so off air) in the same step.
    queued.locator("[data-action=live]").click()
    expect(desk.locator("#onair .onair-text")).to_have_text(text)
    desk.locator("#onair button", has_text="Reply").click()
    form = queued.locator(".reply-form")
    expect(form.locator("textarea")).to_be_focused()
    form.locator("textarea").fill("Yes: the Group will publish them after its June meeting.")
    expect(form.locator(".reply-public")).not_to_be_checked()
    form.locator(".reply-answer").check()
    shot(desk, "desk-reply-form")
    form.locator("button[type=submit]").click()
    answered = desk.locator("#answered-list .card", has_text=text)
    expect(desk.locator("#onair .onair-empty")).to_be_visible()
    expect(answered.locator(".card-reply")).to_contain_text("for the asker only")
    expect(answered.locator(".card-reply-text")).to_have_text("Yes: the Group will publish them after its June meeting.")

    mine = asker.locator("#mine-list .mine-item", has_text=text)
    expect(mine.locator(".status")).to_have_text("Answered")
    expect(mine.locator(".reply-text")).to_have_text("Yes: the Group will publish them after its June meeting.")
    expect(mine.locator(".reply-kind")).to_contain_text("only you see it")
    # Not in the public list, on the asker's page nor anyone else's.
    public_card = other.locator("#public-list .question", has_text=text)
    expect(public_card.locator(".status-answered")).to_be_visible()
    expect(public_card.locator(".q-reply")).to_be_hidden()
    expect(asker.locator("#public-list .question", has_text=text).locator(".q-reply")).to_be_hidden()

    # The asker reloads: the private answer is still theirs.
    asker.reload()
    expect(asker.locator("#mine-list .mine-item", has_text=text).locator(".reply-text")).to_be_visible()

    # Made public: everyone sees it under the question, the desk says so.
    answered.locator("[data-action=reply]").click()
    form = answered.locator(".reply-form")
    expect(form.locator("textarea")).to_have_value("Yes: the Group will publish them after its June meeting.")
    form.locator(".reply-public").check()
    form.locator("button[type=submit]").click()
    expect(answered.locator(".card-reply")).to_contain_text("public")
    expect(public_card.locator(".reply-text")).to_have_text("Yes: the Group will publish them after its June meeting.")
    expect(asker.locator("#mine-list .mine-item", has_text=text).locator(".reply-kind")).to_contain_text("everyone sees it")

    # A refused answer loses nothing: the text stays and the error is beside it.
    answered.locator("[data-action=reply]").click()
    form = answered.locator(".reply-form")
    form.locator("textarea").fill("x" * 2001)  # past the limit: maxlength stops the typing, not a paste
    desk.evaluate("document.querySelector('.reply-form textarea').removeAttribute('maxlength')")
    form.locator("textarea").fill("y" * 2001)
    form.locator("button[type=submit]").click()
    expect(form.locator(".field-error")).to_contain_text("too long")
    expect(form.locator("textarea")).to_have_value("y" * 2001)
    form.locator("button", has_text="Cancel").click()

    other.wait_for_timeout(300)
    shot(other, "participant-public-answer", full_page=True)
    shot(asker, "participant-my-answer", full_page=True)
    shot(desk, "desk-answers")
    assert console.errors == []


# ---- Item 4: labels and the star ------------------------------------------------------------


def test_labels_and_star_filter_the_desk_and_stay_private(server, clients, contexts, console):
    ev = create_event(server, "Labels and stars")
    moderator = clients(ev["code"], "moderator", ev["moderator_token"])
    askers = [clients(ev["code"]) for _ in range(2)]
    texts = ["How will customs data be shared between borders?", "Which banks lend to micro exporters?",
             "Can e-signatures count for certificates of origin?"]
    for i, text in enumerate(texts):
        moderator.call("question:moderate", {"id": askers[i % 2].ask(text)["id"], "action": "approve"})

    desk = console.watch(contexts(viewport=DESK).new_page(), "moderator")
    phone = console.watch(contexts(viewport=PHONE).new_page(), "participant")
    desk.goto(ev["links"]["moderator"])
    phone.goto(ev["links"]["participant"])
    first, second, third = (desk.locator("#queue-list > .card", has_text=t) for t in texts)
    expect(third).to_be_visible()

    # A new label on the first, typed.
    first.locator("[data-action=labels]").click()
    editor = first.locator(".labels-form")
    editor.locator("input").fill("for the Group")
    editor.locator("input").press("Enter")
    expect(editor.locator(".label-chip")).to_have_text(["for the Group×"])
    editor.locator("input").fill("follow-up")
    editor.locator("button[type=submit]").click()
    expect(editor.locator(".label-chip")).to_have_count(2)
    editor.locator("button", has_text="Done").click()
    expect(first.locator(".card-labels .label-chip")).to_have_text(["for the Group", "follow-up"])

    # The second picks an existing one with a click.
    second.locator("[data-action=labels]").click()
    second.locator(".label-pick", has_text="follow-up").click()
    expect(second.locator(".labels-form .label-chip")).to_have_text(["follow-up×"])
    # A bad label is refused beside the field; what is typed stays.
    second.locator(".labels-form input").fill("a; b")
    second.locator(".labels-form input").press("Enter")
    expect(second.locator(".labels-form .field-error")).to_contain_text(";")
    expect(second.locator(".labels-form input")).to_have_value("a; b")
    second.locator(".labels-form input").press("Escape")

    # Star the third, with the keyboard.
    third.locator(".card-text").click()
    desk.keyboard.press("s")
    expect(third.locator(".star-toggle")).to_have_attribute("aria-pressed", "true")

    # Filters: by label, then starred only.
    desk.select_option("#label-filter", "follow-up")
    expect(desk.locator("#queue-list > .card")).to_have_count(2)
    desk.select_option("#label-filter", "for the Group")
    expect(desk.locator("#queue-list > .card .card-text")).to_have_text([texts[0]])
    shot(desk, "desk-label-filter")
    desk.select_option("#label-filter", "")
    desk.check("#star-filter")
    expect(desk.locator("#queue-list > .card .card-text")).to_have_text([texts[2]])
    desk.uncheck("#star-filter")
    expect(desk.locator("#queue-list > .card")).to_have_count(3)

    # A second desk sees them at once; a participant never does.
    desk2 = console.watch(contexts(viewport=DESK).new_page(), "moderator 2")
    desk2.goto(ev["links"]["moderator"])
    expect(desk2.locator("#queue-list > .card", has_text=texts[0]).locator(".label-chip")).to_have_count(2)
    moderator.call("question:star", {"id": next(q["id"] for q in requests.get(
        f"{server.url}/api/events/{ev['code']}/questions", timeout=5).json()["questions"] if q["text"] == texts[1]),
        "starred": True})
    expect(second.locator(".star-toggle")).to_have_attribute("aria-pressed", "true")
    expect(phone.locator("#public-list .question")).to_have_count(3)
    body = phone.locator("body").inner_text()
    assert "for the Group" not in body and "follow-up" not in body
    assert phone.locator(".star-toggle, .label-chip").count() == 0
    shot(desk, "desk-labels-star")
    assert console.errors == []


# ---- Item 6: the participant's side ---------------------------------------------------------


def test_a_label_typed_while_the_last_ones_ack_is_on_its_way_is_kept(server, clients, contexts, console):
    """The update that shows a new label reaches the desk before the ack of the request that
    added it: a moderator (or a test) can type the next label in between, and that ack must
    not wipe it."""
    ev = create_event(server, "Labels typed fast")
    moderator = clients(ev["code"], "moderator", ev["moderator_token"])
    text = "Will the single window cover phytosanitary certificates?"
    moderator.call("question:moderate", {"id": clients(ev["code"]).ask(text)["id"], "action": "approve"})

    desk = console.watch(contexts(viewport=DESK).new_page(), "moderator")
    relay = relay_sockets(desk, only=is_ack)
    desk.goto(ev["links"]["moderator"])
    card = desk.locator("#queue-list > .card", has_text=text)
    expect(card).to_be_visible()
    wait_until(desk, relay.all_upgraded, "the desk's sockets to upgrade to WebSockets")

    card.locator("[data-action=labels]").click()
    editor = card.locator(".labels-form")
    relay.hold = True
    editor.locator("input").fill("for the Group")
    editor.locator("input").press("Enter")
    expect(editor.locator(".label-chip")).to_have_text(["for the Group×"])  # by the broadcast
    editor.locator("input").fill("follow-up")
    wait_until(desk, lambda: relay.acks_held() == 1, "the label's ack")
    relay.release()
    expect(card.locator(".labels-form .label-input")).to_have_value("follow-up")
    desk.wait_for_timeout(200)  # the ack's handler has run by now: the text must still be there
    expect(card.locator(".labels-form .label-input")).to_have_value("follow-up")
    card.locator(".labels-form button[type=submit]").click()
    expect(card.locator(".labels-form .label-chip")).to_have_text(["for the Group×", "follow-up×"])
    expect(card.locator(".labels-form .label-input")).to_have_value("")
    assert console.errors == []


def test_participant_theme_choice_errors_in_view_draft_and_trailing_slash(server, clients, contexts, console):
    res = requests.post(server.url + "/api/admin/events", json={"title": "Not open yet"},
                        headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5)
    assert res.status_code == 201, res.text
    draft = res.json()
    phone = console.watch(contexts(viewport=PHONE).new_page(), "participant")
    # With a trailing slash too.
    phone.goto(f"{server.url}/e/{draft['code']}/")
    expect(phone.locator("#ask-closed .notice-title")).to_have_text("Questions open soon.")
    expect(phone.locator("#ask-form")).to_be_hidden()
    shot(phone, "participant-draft")

    # Opened (as the console does), then closed: "closed", not "soon", without a reload.
    moderator = clients(draft["code"], "moderator", draft["moderator_token"])
    moderator.call("event:update", {"submissions_open": True})
    expect(phone.locator("#ask-form")).to_be_visible()
    # No theme chosen for the asker while no segment is on.
    expect(phone.locator("#theme-chips input:checked")).to_have_count(0)
    phone.fill("#ask-text", "Where can a small exporter find the rules of origin for each market?")
    phone.locator("#ask-text").scroll_into_view_if_needed()
    phone.click("#ask-send")
    error = phone.locator("#ask-error")
    expect(error).to_have_text("Choose a theme for your question.")
    assert in_view(phone, "#ask-error") and in_view(phone, "#ask-send")
    send_box, error_box = phone.locator("#ask-send").bounding_box(), error.bounding_box()
    assert 0 <= error_box["y"] - (send_box["y"] + send_box["height"]) < 40, (send_box, error_box)
    shot(phone, "participant-error")
    # The text is still there; choosing a theme and sending works.
    expect(phone.locator("#ask-text")).not_to_have_value("")
    phone.locator(".chip", has_text="Other issues").click()
    phone.click("#ask-send")
    expect(phone.locator("#ask-sent")).to_be_visible()
    expect(error).to_be_hidden()

    # A segment on: its theme is chosen.
    moderator.call("event:update", {"active_theme": "digitalization"})
    expect(phone.locator("#theme-chips input:checked")).to_have_value("digitalization")
    moderator.call("event:update", {"submissions_open": False})
    expect(phone.locator("#ask-closed .notice-title")).to_have_text("Questions are closed for now.")
    assert console.errors == []


# ---- Item 7: the desk ----------------------------------------------------------------------


def test_desk_similar_hints_both_ways_positions_while_editing_segment_note_one_row(
        server, clients, contexts, console):
    ev = create_event(server, "The desk")
    code = ev["code"]
    moderator = clients(code, "moderator", ev["moderator_token"])
    askers = [clients(code) for _ in range(3)]
    queued = [f"Queue question {i}: how do customs unions treat parcel number {i}?" for i in range(1, 6)]
    ids = []
    for i, text in enumerate(queued):
        q = askers[i % 3].ask(text, theme="trade-facilitation")
        moderator.call("question:moderate", {"id": q["id"], "action": "approve"})
        ids.append(q["id"])

    desk = console.watch(contexts(viewport=DESK).new_page(), "moderator")
    desk.goto(ev["links"]["moderator"])
    expect(desk.locator("#queue-list > .card")).to_have_count(5)

    # One row of actions on every queue card, and more than three cards in view.
    rows = desk.evaluate("""() => Array.from(document.querySelectorAll('#queue-list > .card')).map((card) =>
        new Set(Array.from(card.querySelectorAll('.card-actions .button')).map((b) => Math.round(b.getBoundingClientRect().top))).size)""")
    assert rows == [1] * 5, rows
    visible = desk.evaluate("""() => { const body = document.getElementById('queue-body').getBoundingClientRect();
        return Array.from(document.querySelectorAll('#queue-list > .card'))
          .filter((c) => c.getBoundingClientRect().bottom <= body.bottom).length; }""")
    assert visible > 3, visible
    shot(desk, "desk-queue-1440")

    # Similar questions: the first shows the second as soon as the second arrives.
    older = "How can women-led small businesses get export credit insurance?"
    newer = "How do women-led small businesses get export credit insurance cheaply?"
    askers[0].ask(older)
    expect(desk.locator("#incoming-list .card", has_text=older)).to_be_visible()
    askers[1].ask(newer)
    # By their own text: each card's hint holds the other's text too.
    newer_card = desk.locator("#incoming-list > .card").filter(has=desk.locator(".card-text", has_text=newer))
    older_card = desk.locator("#incoming-list > .card").filter(has=desk.locator(".card-text", has_text=older))
    expect(newer_card.locator(".similar")).to_contain_text(older)
    expect(older_card.locator(".similar")).to_contain_text(newer)
    # A queued question learns of a later, similar one too, with a merge the right way round.
    askers[2].ask("Queue question 2: how do customs unions treat parcel number 2 and 3?")
    second = desk.locator("#queue-list > .card", has_text=queued[1])
    expect(second.locator(".similar button")).to_have_text(["Merge here"])
    shot(desk, "desk-similar")

    # Editing a queued card: its number follows a reorder made by someone else.
    fourth = desk.locator(f"#queue-list > .card[data-id='{ids[3]}']")  # its text is in a field while edited
    expect(fourth.locator(".card-pos")).to_have_text("#4")
    fourth.locator("[data-action=edit]").click()
    fourth.locator(".edit-form textarea").fill("Being edited")
    moderator.call("queue:reorder", {"ids": [ids[3], ids[0], ids[1], ids[2], ids[4]]})
    expect(fourth.locator(".card-pos")).to_have_text("#1")
    expect(fourth.locator(".edit-form textarea")).to_have_value("Being edited")
    fourth.locator(".edit-form textarea").press("Escape")

    # A segment on: the queue says the screen shows only that theme's next questions.
    expect(desk.locator("#queue-segment")).to_be_hidden()
    moderator.call("event:update", {"active_theme": "finance"})
    expect(desk.locator("#queue-segment")).to_contain_text("Access to finance")
    shot(desk, "desk-segment")
    assert console.errors == []
