"""Moderation: every transition of the contract, on-air uniqueness, edits, queue order."""
import json
import threading

import pytest
from sqlalchemy import select

from qa.domain import events, moderation, questions
from qa.domain.errors import DomainError
from qa.models import Question, QuestionHistory


@pytest.fixture
def ev(session):
    return events.create_event(session, {"title": "T"})


def ask(session, ev, cid="c1"):
    return questions.submit(session, ev, "p1", {"client_id": cid, "theme": "finance", "text": f"Q {cid}"}).question


def act(session, ev, q, action):
    return moderation.moderate(session, ev.id, {"id": q.id, "action": action})


def reach(session, ev, status):
    """A question in the given status (live ones are approved + live)."""
    q = ask(session, ev, cid=status)
    steps = {"pending": [], "approved": ["approve"], "rejected": ["reject"],
             "answered": ["approve", "answer"], "live": ["approve", "live"]}[status]
    for step in steps:
        act(session, ev, q, step)
    return q


# (start, action) -> (status after, live after); None means refused with conflict.
TRANSITIONS = {
    ("pending", "approve"): ("approved", False),
    ("pending", "reject"): ("rejected", False),
    ("pending", "answer"): None,
    ("pending", "live"): None,
    ("pending", "unlive"): None,
    ("pending", "restore"): None,
    ("approved", "approve"): None,
    ("approved", "reject"): ("rejected", False),
    ("approved", "answer"): ("answered", False),
    ("approved", "live"): ("approved", True),
    ("approved", "unlive"): None,
    ("approved", "restore"): None,
    ("rejected", "approve"): None,
    ("rejected", "reject"): None,
    ("rejected", "answer"): None,
    ("rejected", "live"): None,
    ("rejected", "unlive"): None,
    ("rejected", "restore"): ("pending", False),
    ("answered", "approve"): None,
    ("answered", "reject"): ("rejected", False),
    ("answered", "answer"): None,
    ("answered", "live"): ("answered", True),
    ("answered", "unlive"): None,
    ("answered", "restore"): ("approved", False),
    ("live", "approve"): None,
    ("live", "reject"): ("rejected", False),
    ("live", "answer"): ("answered", False),
    ("live", "live"): None,
    ("live", "unlive"): ("approved", False),
    ("live", "restore"): None,
}


@pytest.mark.parametrize("start, action", sorted(TRANSITIONS))
def test_transition(session, ev, start, action):
    q = reach(session, ev, start)
    before = (q.status, q.live)
    expected = TRANSITIONS[(start, action)]
    if expected is None:
        with pytest.raises(DomainError) as err:
            act(session, ev, q, action)
        assert err.value.code == "conflict" and err.value.message
        session.expire_all()
        fresh = session.get(Question, q.id)
        assert (fresh.status, fresh.live) == before
    else:
        change = act(session, ev, q, action)
        assert (change.question.status, change.question.live) == expected
        assert change.status_changed == (expected[0] != before[0])


def test_already_approved_says_so(session, ev):
    q = reach(session, ev, "approved")
    with pytest.raises(DomainError, match="already approved"):
        act(session, ev, q, "approve")


def test_at_most_one_question_on_air(session, ev):
    a, b = reach(session, ev, "live"), reach(session, ev, "approved")
    change = act(session, ev, b, "live")
    assert [o.id for o in change.also] == [a.id]
    live = session.scalars(select(Question.id).where(Question.live.is_(True))).all()
    assert live == [b.id]


def test_approve_appends_and_restore_keeps_place(session, ev):
    a, b, c = (ask(session, ev, cid=str(i)) for i in range(3))
    for q in (c, a, b):
        act(session, ev, q, "approve")
    assert questions.public_ids(session, ev.id) == [c.id, a.id, b.id]
    act(session, ev, a, "answer")
    act(session, ev, a, "restore")
    assert questions.public_ids(session, ev.id) == [c.id, a.id, b.id]
    act(session, ev, a, "reject")
    act(session, ev, a, "restore")
    act(session, ev, a, "approve")
    assert questions.public_ids(session, ev.id) == [c.id, b.id, a.id]


def test_live_does_not_move_a_question(session, ev):
    a, b = reach(session, ev, "approved"), reach(session, ev, "answered")
    act(session, ev, a, "live")
    assert questions.public_ids(session, ev.id) == [a.id, b.id]


@pytest.mark.parametrize("payload, code", [
    (None, "bad_request"), ({"action": "approve"}, "bad_request"),
    ({"id": 1, "action": "publish"}, "bad_request"), ({"id": 1}, "bad_request"),
    ({"id": 1.0, "action": "approve"}, "bad_request"), ({"id": 12345, "action": "approve"}, "not_found"),
])
def test_moderate_refuses_bad_input(session, ev, payload, code):
    ask(session, ev)
    with pytest.raises(DomainError) as err:
        moderation.moderate(session, ev.id, payload)
    assert err.value.code == code


def test_history_keeps_every_action(session, ev):
    q = reach(session, ev, "answered")
    rows = session.scalars(select(QuestionHistory).where(QuestionHistory.question_id == q.id)).all()
    assert [(r.action, json.loads(r.detail)) for r in rows] == [
        ("approve", {"from": "pending", "to": "approved"}),
        ("answer", {"from": "approved", "to": "answered"}),
    ]


def test_edit_text_and_theme_keeps_original(session, ev):
    q = ask(session, ev)
    moderation.edit(session, ev.id, ev, {"id": q.id, "text": " Fixed typo ", "theme": "digitalization"})
    session.expire_all()
    fresh = session.get(Question, q.id)
    assert (fresh.text, fresh.theme) == ("Fixed typo", "digitalization")
    h = session.scalars(select(QuestionHistory).where(QuestionHistory.action == "edit")).one()
    assert json.loads(h.detail)["from"] == {"text": "Q c1", "theme": "finance"}


@pytest.mark.parametrize("payload, code", [
    ({"id": 1}, "bad_request"), ({"id": 1, "text": ""}, "invalid"), ({"id": 1, "text": "x" * 501}, "invalid"),
    ({"id": 1, "theme": "nope"}, "invalid"), ({"id": 1, "text": 3}, "bad_request"), ({"id": 99, "text": "x"}, "not_found"),
])
def test_edit_refuses_bad_input(session, ev, payload, code):
    ask(session, ev)
    with pytest.raises(DomainError) as err:
        moderation.edit(session, ev.id, ev, payload)
    assert err.value.code == code
    session.expire_all()
    assert session.get(Question, 1).text == "Q c1"


def test_reorder_full_and_partial(session, ev):
    a, b, c, d = (ask(session, ev, cid=str(i)) for i in range(4))
    for q in (a, b, c, d):
        act(session, ev, q, "approve")
    assert moderation.reorder(session, ev.id, {"ids": [d.id, c.id, b.id, a.id]}) == [d.id, c.id, b.id, a.id]
    # Only b and a swap; d and c keep their slots.
    assert moderation.reorder(session, ev.id, {"ids": [a.id, b.id]}) == [d.id, c.id, a.id, b.id]


@pytest.mark.parametrize("ids, code", [
    (None, "bad_request"), ([], "bad_request"), (["1"], "bad_request"), ([True], "bad_request"),
    ([1, 1], "invalid"), ([1, 999], "not_found"), ([1, 3], "conflict"),
])
def test_reorder_refuses_bad_input(session, ev, ids, code):
    a, b, pending = ask(session, ev, "a"), ask(session, ev, "b"), ask(session, ev, "c")
    act(session, ev, a, "approve")
    act(session, ev, b, "approve")
    with pytest.raises(DomainError) as err:
        moderation.reorder(session, ev.id, {"ids": ids})
    assert err.value.code == code
    assert questions.public_ids(session, ev.id) == [a.id, b.id]


def test_two_moderators_at_once_never_corrupt(app, ev):
    """Many threads approve and put live the same questions: each transition happens once."""
    from qa.extensions import db

    with app.app_context():
        qs = [ask(db.session, ev, cid=str(i)).id for i in range(5)]
    results: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def worker():
        for qid in qs:
            for action in ("approve", "live"):
                with app.app_context():
                    try:
                        moderation.moderate(db.session, ev.id, {"id": qid, "action": action})
                        ok = True
                    except DomainError as exc:
                        assert exc.code == "conflict"
                        ok = False
                with lock:
                    results.append((qid, action, ok))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(not t.is_alive() for t in threads)
    with app.app_context():
        for qid in qs:
            assert sum(ok for q, a, ok in results if q == qid and a == "approve") == 1
        live = db.session.scalars(select(Question.id).where(Question.live.is_(True))).all()
        assert len(live) == 1
        positions = db.session.scalars(select(Question.position)).all()
        assert sorted(positions) == list(range(1, 6))


def vote(session, ev, q, *pids):
    for pid in pids:
        questions.vote(session, ev.id, pid, {"id": q.id})


def test_merge_moves_votes_once_and_keeps_the_author(session, ev):
    target = questions.submit(session, ev, "p1", {"client_id": "t", "theme": "finance", "text": "Trade finance?"}).question
    dup = questions.submit(session, ev, "p2", {"client_id": "d", "theme": "finance", "text": "Finance for trade?",
                                               "name": "Bea"}).question
    act(session, ev, target, "approve")
    act(session, ev, dup, "approve")
    vote(session, ev, target, "x", "y")
    vote(session, ev, dup, "y", "z")
    change, merged_target = moderation.merge(session, ev.id, {"id": dup.id, "into": target.id})
    assert merged_target.votes == 3  # x, y, z: y only once
    assert change.question.status == "rejected" and change.question.merged_into == target.id
    assert change.was_public and change.order_changed
    assert questions.public_ids(session, ev.id) == [target.id]
    history = session.scalars(select(QuestionHistory).where(
        QuestionHistory.question_id == target.id, QuestionHistory.action == "merge")).one()
    assert json.loads(history.detail) == {"from": dup.id, "name": "Bea", "text": "Finance for trade?", "votes": 2}
    assert questions.question_to_dict(change.question)["merged_into"] == target.id
    # Votes stay exact: y votes again on the target and nothing doubles.
    assert questions.vote(session, ev.id, "y", {"id": target.id}).votes == 3


@pytest.mark.parametrize("payload, code", [
    ({"id": 1, "into": 1}, "invalid"), ({"id": 1}, "bad_request"), ({"id": 1, "into": "2"}, "bad_request"),
    ({"id": 1, "into": 99}, "not_found"),
])
def test_merge_refuses_bad_input(session, ev, payload, code):
    ask(session, ev, "a")
    ask(session, ev, "b")
    with pytest.raises(DomainError) as err:
        moderation.merge(session, ev.id, payload)
    assert err.value.code == code


def test_merge_twice_or_into_a_merged_question_is_refused(session, ev):
    a, b, c = ask(session, ev, "a"), ask(session, ev, "b"), ask(session, ev, "c")
    moderation.merge(session, ev.id, {"id": a.id, "into": b.id})
    with pytest.raises(DomainError, match="already merged"):
        moderation.merge(session, ev.id, {"id": a.id, "into": c.id})
    with pytest.raises(DomainError, match="merge into that one"):
        moderation.merge(session, ev.id, {"id": c.id, "into": a.id})


def test_post_moderation_publishes_at_once(session, ev):
    events.update_event(session, ev.id, {"moderation": "post"})
    first, second = ask(session, ev, "1"), ask(session, ev, "2")
    assert (first.status, second.status) == ("approved", "approved")
    assert questions.public_ids(session, ev.id) == [first.id, second.id]
    act(session, ev, first, "reject")
    assert questions.public_ids(session, ev.id) == [second.id]


def test_moderation_mode_is_validated(session, ev):
    with pytest.raises(DomainError) as err:
        events.update_event(session, ev.id, {"moderation": "none"})
    assert err.value.code == "invalid"
    with pytest.raises(DomainError):
        events.create_event(session, {"title": "T", "moderation": "later"})
    assert events.create_event(session, {"title": "T", "moderation": "post"}).moderation == "post"


def test_a_merged_question_cannot_be_restored(session, ev):
    """Found by the state machine: restore used to bring a merged duplicate back to pending."""
    a, b = ask(session, ev, "a"), ask(session, ev, "b")
    moderation.merge(session, ev.id, {"id": a.id, "into": b.id})
    with pytest.raises(DomainError, match="merged into question"):
        act(session, ev, a, "restore")
    session.expire_all()
    assert session.get(Question, a.id).status == "rejected"


# ---- Written replies, labels and the star ------------------------------------------------


def reply(session, ev, q, **payload):
    return moderation.reply(session, ev.id, {"id": q.id, **payload})


def test_reply_private_then_public_then_taken_back(session, ev):
    q = reach(session, ev, "approved")
    change = reply(session, ev, q, text="  We will raise it with the Group.  ")
    assert change.question.reply_text == "We will raise it with the Group."
    assert change.question.reply_public is False and change.status_changed is False
    # Public view: no private reply; the asker's and the moderators' views have it.
    assert questions.question_to_dict(q)["reply"] is None
    mine = questions.question_for_asker(q)["reply"]
    assert mine["text"] == "We will raise it with the Group." and mine["public"] is False and mine["at"].endswith("Z")
    assert questions.question_for_moderators(q)["reply"] == mine

    reply(session, ev, q, text="We will raise it with the Group.", public=True)
    assert questions.question_to_dict(q)["reply"] == {**mine, "public": True}  # same text: same time

    reply(session, ev, q, text=None)
    assert q.reply_text is None and questions.question_for_asker(q)["reply"] is None
    actions = [h.action for h in session.scalars(
        select(QuestionHistory).where(QuestionHistory.question_id == q.id).order_by(QuestionHistory.id))]
    assert actions == ["approve", "reply", "reply", "reply"]


def test_reply_and_mark_answered_in_one_step(session, ev):
    q = reach(session, ev, "live")
    change = reply(session, ev, q, text="Yes.", public=True, answer=True)
    assert (q.status, q.live, change.status_changed, change.was_public) == ("answered", False, True, True)
    # Already answered: replying again with answer=true keeps it answered.
    change = reply(session, ev, q, text="Yes, in March.", public=True, answer=True)
    assert q.status == "answered" and change.status_changed is False and q.reply_text == "Yes, in March."


@pytest.mark.parametrize("status", ["pending", "rejected"])
def test_reply_to_unpublished_question(session, ev, status):
    q = reach(session, ev, status)
    # A private word to the asker is fine whatever the status...
    reply(session, ev, q, text="Off topic here; see the Group's page.")
    assert q.reply_text and q.status == status
    # ...but only a published question can be marked answered, and then nothing is stored.
    with pytest.raises(DomainError) as err:
        reply(session, ev, q, text="Another text", answer=True)
    assert err.value.code == "conflict"
    session.expire_all()
    assert q.reply_text == "Off topic here; see the Group's page." and q.status == status


@pytest.mark.parametrize("payload, code", [
    ({}, "bad_request"),                                  # no text at all
    ({"text": 5}, "bad_request"),
    ({"text": "   "}, "invalid"),
    ({"text": "x" * (moderation.REPLY_LIMIT + 1)}, "invalid"),
    ({"text": "ok", "public": "yes"}, "bad_request"),
    ({"text": "ok", "answer": None}, "bad_request"),
])
def test_reply_refuses_bad_input(session, ev, payload, code):
    q = reach(session, ev, "approved")
    with pytest.raises(DomainError) as err:
        reply(session, ev, q, **payload)
    assert err.value.code == code and err.value.message
    session.expire_all()
    assert q.reply_text is None


def test_labels_are_tidied_and_follow_the_events_spelling(session, ev):
    a, b = reach(session, ev, "approved"), reach(session, ev, "pending")
    moderation.set_labels(session, ev.id, {"id": a.id, "labels": ["For the  Group", "follow-up", "Follow-Up"]})
    assert questions.question_for_moderators(a)["labels"] == ["For the Group", "follow-up"]
    # Another question picks an existing label in another case: the event's spelling is kept.
    moderation.set_labels(session, ev.id, {"id": b.id, "labels": ["FOR THE GROUP", "duplicate of the panel"]})
    assert questions.question_for_moderators(b)["labels"] == ["For the Group", "duplicate of the panel"]
    from qa.domain.labels import event_labels
    assert event_labels(session, ev.id) == ["duplicate of the panel", "follow-up", "For the Group"]
    # Labels and star are never in the public view.
    assert "labels" not in questions.question_to_dict(a) and "starred" not in questions.question_to_dict(a)
    moderation.set_labels(session, ev.id, {"id": a.id, "labels": []})
    assert a.labels is None and questions.question_for_moderators(a)["labels"] == []


@pytest.mark.parametrize("labels, code", [
    (None, "bad_request"),
    ("follow-up", "bad_request"),
    ([1], "bad_request"),
    ([" "], "invalid"),
    (["x" * 41], "invalid"),
    (["a; b"], "invalid"),
    ([f"l{i}" for i in range(9)], "invalid"),
])
def test_labels_refuse_bad_input(session, ev, labels, code):
    q = reach(session, ev, "approved")
    moderation.set_labels(session, ev.id, {"id": q.id, "labels": ["kept"]})
    with pytest.raises(DomainError) as err:
        moderation.set_labels(session, ev.id, {"id": q.id, "labels": labels})
    assert err.value.code == code and err.value.message
    session.expire_all()
    assert questions.question_for_moderators(q)["labels"] == ["kept"]


def test_an_event_has_a_bounded_number_of_labels(session, ev, monkeypatch):
    from qa.domain import labels
    monkeypatch.setattr(labels, "LABELS_PER_EVENT", 3)
    a, b = reach(session, ev, "approved"), reach(session, ev, "pending")
    moderation.set_labels(session, ev.id, {"id": a.id, "labels": ["one", "two"]})
    moderation.set_labels(session, ev.id, {"id": b.id, "labels": ["Two", "three"]})  # "two" is not new
    with pytest.raises(DomainError) as err:
        moderation.set_labels(session, ev.id, {"id": b.id, "labels": ["three", "four"]})
    assert err.value.code == "invalid" and "3" in err.value.message


def test_star(session, ev):
    q = reach(session, ev, "pending")
    moderation.set_star(session, ev.id, {"id": q.id, "starred": True})
    assert questions.question_for_moderators(q)["starred"] is True
    moderation.set_star(session, ev.id, {"id": q.id, "starred": False})
    assert questions.question_for_moderators(q)["starred"] is False
    for payload in ({"id": q.id}, {"id": q.id, "starred": "true"}, {"id": q.id, "starred": None}):
        with pytest.raises(DomainError) as err:
            moderation.set_star(session, ev.id, payload)
        assert err.value.code == "bad_request", payload


def test_reply_labels_and_star_stay_in_their_event(session, ev):
    other = events.create_event(session, {"title": "Other"})
    q = reach(session, ev, "approved")
    for call, payload in [(moderation.reply, {"text": "x"}), (moderation.set_labels, {"labels": ["x"]}),
                          (moderation.set_star, {"starred": True})]:
        with pytest.raises(DomainError) as err:
            call(session, other.id, {"id": q.id, **payload})
        assert err.value.code == "not_found"
