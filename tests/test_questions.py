"""Asking and voting: validation, idempotency, exact counts, who sees what."""
import pytest
from sqlalchemy import func, select

from qa.domain import events, moderation, questions
from qa.domain.errors import DomainError
from qa.models import Question, Vote


@pytest.fixture
def ev(session):
    return events.create_event(session, {"title": "T"})


def ask(session, ev, pid="p1", cid="c1", **kw):
    payload = {"client_id": cid, "theme": "finance", "text": "How do I pay?", **kw}
    return questions.submit(session, ev, pid, payload).question


def count(session, model=Question):
    return session.scalar(select(func.count()).select_from(model))


def test_submit_stores_pending_question(session, ev):
    q = ask(session, ev, name="  Ana ", text="  Why?  ")
    d = questions.question_to_dict(q)
    assert d == {"id": q.id, "theme": "finance", "text": "Why?", "name": "Ana", "status": "pending",
                 "votes": 0, "live": False, "created_at": d["created_at"], "language": None, "reply": None}
    assert d["created_at"].endswith("Z") and "T" in d["created_at"]


def test_submit_is_idempotent_per_participant(session, ev):
    a = questions.submit(session, ev, "p1", {"client_id": "x", "theme": "finance", "text": "A"})
    b = questions.submit(session, ev, "p1", {"client_id": "x", "theme": "other", "text": "changed"})
    c = questions.submit(session, ev, "p2", {"client_id": "x", "theme": "finance", "text": "A"})
    assert a.created and not b.created and c.created
    assert a.question.id == b.question.id != c.question.id
    assert b.question.text == "A" and count(session) == 2


def test_resend_after_close_still_returns_the_question(session, ev):
    q = ask(session, ev)
    events.update_event(session, ev.id, {"submissions_open": False})
    assert ask(session, ev).id == q.id


@pytest.mark.parametrize("payload, code, field", [
    (None, "bad_request", None),
    ([1], "bad_request", None),
    ({"theme": "finance", "text": "t"}, "bad_request", "client_id"),
    ({"client_id": 1, "theme": "finance", "text": "t"}, "bad_request", "client_id"),
    ({"client_id": "c", "theme": "finance", "text": ""}, "invalid", "text"),
    ({"client_id": "c", "theme": "finance", "text": " \n\t "}, "invalid", "text"),
    ({"client_id": "c", "theme": "finance", "text": "x" * 501}, "invalid", "text"),
    ({"client_id": "c", "theme": "finance", "text": 7}, "bad_request", "text"),
    ({"client_id": "c", "theme": "nope", "text": "t"}, "invalid", "theme"),
    ({"client_id": "c", "theme": ["finance"], "text": "t"}, "bad_request", "theme"),
    ({"client_id": "c", "text": "t"}, "bad_request", "theme"),
    ({"client_id": "c", "theme": "finance", "text": "t", "name": "n" * 61}, "invalid", "name"),
    ({"client_id": "c" * 65, "theme": "finance", "text": "t"}, "invalid", "client_id"),
])
def test_submit_refuses_bad_input(session, ev, payload, code, field):
    with pytest.raises(DomainError) as err:
        questions.submit(session, ev, "p1", payload)
    assert (err.value.code, err.value.field) == (code, field)
    assert count(session) == 0


def test_text_at_the_limit_is_accepted(session, ev):
    assert len(ask(session, ev, text="é" * 500).text) == 500


def test_submit_when_closed(session, ev):
    events.update_event(session, ev.id, {"submissions_open": False})
    with pytest.raises(DomainError) as err:
        ask(session, ev)
    assert err.value.code == "closed" and count(session) == 0


def test_a_batch_of_submissions_is_stored_as_if_one_by_one(session, ev):
    other = events.create_event(session, {"title": "Other", "moderation": "post"})
    old = ask(session, ev, pid="p1", cid="sent")
    moderation.block(session, ev.id, {"id": ask(session, ev, pid="rude", cid="r").id})
    parse = questions.parse_submission

    def req(event, pid, cid, **kw):
        return parse(event.id, pid, {"client_id": cid, "theme": "finance", "text": "How?", **kw})

    out = questions.submit_batch(session, [
        req(ev, "p1", "sent", text=5),          # already acked: returned, even with a bad field now
        req(ev, "p1", "new"), req(ev, "p1", "new", text="Changed?"),  # the second is the first
        req(ev, "p2", "x", theme="weather"), req(ev, "p2", "y", text=""),
        req(ev, "rude", "again"),
        req(other, "p1", "a"), req(other, "p1", "b"),   # post-moderation: published in order
    ])
    assert out[0].question.id == old.id and not out[0].created
    assert out[1].created and out[2].question is out[1].question and not out[2].created
    assert out[1].question.text == "How?"
    assert [o.code for o in out[3:6]] == ["invalid", "invalid", "forbidden"]
    assert [(o.question.status, o.question.position) for o in out[6:]] == [("approved", 1), ("approved", 2)]
    assert count(session) == 2 + 1 + 2


def publish(session, ev, q):
    moderation.moderate(session, ev.id, {"id": q.id, "action": "approve"})


def test_votes_are_exact_and_idempotent(session, ev):
    q = ask(session, ev)
    publish(session, ev, q)
    assert questions.vote(session, ev.id, "a", {"id": q.id}).votes == 1
    again = questions.vote(session, ev.id, "a", {"id": q.id, "up": True})
    assert again.votes == 1 and not again.changed
    assert questions.vote(session, ev.id, "b", {"id": q.id}).votes == 2
    assert questions.vote(session, ev.id, "a", {"id": q.id, "up": False}).votes == 1
    assert questions.vote(session, ev.id, "a", {"id": q.id, "up": False}).changed is False
    assert count(session, Vote) == 1
    assert questions.vote_counts(session, [q.id]) == {str(q.id): 1}


@pytest.mark.parametrize("payload, code", [
    ("1", "bad_request"), ({"id": "1"}, "bad_request"), ({"id": True}, "bad_request"),
    ({"id": 1, "up": "yes"}, "bad_request"), ({"id": 999}, "not_found"),
])
def test_vote_refuses_bad_input(session, ev, payload, code):
    publish(session, ev, ask(session, ev))
    with pytest.raises(DomainError) as err:
        questions.vote(session, ev.id, "a", payload)
    assert err.value.code == code
    assert count(session, Vote) == 0


def test_a_batch_of_votes_is_applied_as_if_one_by_one(session, ev):
    a, b, pending = ask(session, ev, cid="a"), ask(session, ev, cid="b"), ask(session, ev, cid="c")
    publish(session, ev, a)
    publish(session, ev, b)
    questions.vote(session, ev.id, "old", {"id": b.id})
    other = events.create_event(session, {"title": "Other"})
    req = questions.VoteRequest
    out = questions.vote_batch(session, [
        req(ev.id, "x", a.id, True), req(ev.id, "x", a.id, True),      # the second changes nothing
        req(ev.id, "y", a.id, True), req(ev.id, "y", a.id, False),     # cast and taken back: no row
        req(ev.id, "old", b.id, False), req(ev.id, "old", b.id, True),  # taken back and cast again
        req(ev.id, "x", pending.id, True), req(other.id, "x", a.id, True), req(ev.id, "x", 99999, True),
    ])
    assert [(o.votes, o.changed) for o in out[:6]] == [(1, True), (1, False), (1, True), (1, True),
                                                      (1, True), (1, True)]
    assert [o.code for o in out[6:]] == ["conflict", "not_found", "not_found"]
    assert questions.vote_counts(session, [a.id, b.id]) == {str(a.id): 1, str(b.id): 1}
    stored = set(session.execute(select(Vote.question_id, Vote.participant_id)).all())
    assert stored == {(a.id, "x"), (b.id, "old")}


def test_vote_only_on_public_questions_of_the_same_event(session, ev):
    pending = ask(session, ev)
    with pytest.raises(DomainError) as err:
        questions.vote(session, ev.id, "a", {"id": pending.id})
    assert err.value.code == "conflict"
    other = events.create_event(session, {"title": "Other"})
    publish(session, ev, pending)
    with pytest.raises(DomainError) as err:
        questions.vote(session, other.id, "a", {"id": pending.id})
    assert err.value.code == "not_found"


def test_participant_view(session, ev):
    mine_pending = ask(session, ev, pid="me", cid="1")
    mine_public = ask(session, ev, pid="me", cid="2")
    theirs_pending = ask(session, ev, pid="you", cid="1")
    theirs_public = ask(session, ev, pid="you", cid="2")
    for q in (theirs_public, mine_public):
        publish(session, ev, q)
    questions.vote(session, ev.id, "me", {"id": theirs_public.id})
    view = {d["id"]: d for d in questions.participant_view(session, ev.id, "me")}
    assert set(view) == {mine_pending.id, mine_public.id, theirs_public.id}
    assert theirs_pending.id not in view
    assert view[mine_pending.id]["mine"] and "mine" not in view[theirs_public.id]
    assert view[theirs_public.id]["voted"] and "voted" not in view[mine_public.id]
    # Public questions come first, in queue order (approval order here).
    assert list(view)[:2] == [theirs_public.id, mine_public.id]


def test_lists_by_role(session, ev):
    a, b, c = (ask(session, ev, cid=str(i)) for i in range(3))
    publish(session, ev, b)
    publish(session, ev, a)
    moderation.moderate(session, ev.id, {"id": c.id, "action": "reject"})
    assert [q.id for q in questions.public_questions(session, ev.id)] == [b.id, a.id]
    assert questions.public_ids(session, ev.id) == [b.id, a.id]
    assert [q.id for q in questions.all_questions(session, ev.id)] == [b.id, a.id, c.id]


# ---- Language, profanity flag, blocked authors, names policy, hidden themes ----------------


def test_question_keeps_the_language_it_was_written_in(session, ev):
    fr = ask(session, ev, cid="fr", text="Comment le Groupe peut-il aider les petites entreprises à exporter ?")
    es = ask(session, ev, cid="es", text="¿Cómo puede el Grupo ayudar a las pequeñas empresas a exportar?")
    short = questions.submit(session, ev, "p1", {"client_id": "s", "theme": "finance", "text": "Visa?"},
                             language="es").question
    assert (fr.language, es.language, short.language) == ("fr", "es", "es")
    assert questions.question_to_dict(fr)["language"] == "fr"


def test_profanity_flags_and_holds_a_question_even_in_post_moderation(session, ev):
    ev.moderation = "post"
    session.commit()
    rude = questions.submit(session, ev, "p1", {"client_id": "r", "theme": "finance",
                                                "text": "Why is this customs form such shit?"},
                            profanity_filter=True).question
    clean = questions.submit(session, ev, "p1", {"client_id": "c", "theme": "finance",
                                                 "text": "¿Cómo trabajar con las aduanas de Scunthorpe?"},
                             profanity_filter=True).question
    unfiltered = questions.submit(session, ev, "p1", {"client_id": "u", "theme": "finance",
                                                      "text": "Why is this customs form such shit?"}).question
    assert (rude.status, rude.flag) == ("pending", "profanity")  # flagged, kept, never dropped
    assert questions.question_to_dict(rude)["flag"] == "profanity"
    assert (clean.status, clean.flag) == ("approved", None)  # Spanish "con" is not the French word
    assert (unfiltered.status, unfiltered.flag) == ("approved", None)  # the filter is optional
    assert "flag" not in questions.question_to_dict(clean)


def test_blocked_author_cannot_ask_again_in_that_event_only(session, ev):
    first = ask(session, ev, cid="a")
    moderation.block(session, ev.id, {"id": first.id})
    with pytest.raises(DomainError) as err:
        ask(session, ev, cid="b")
    assert err.value.code == "forbidden"
    assert count(session) == 1  # what was sent before stays for the moderators
    assert ask(session, ev, cid="a").id == first.id  # a resend of an acked question still answers
    other = events.create_event(session, {"title": "Other"})
    assert ask(session, other, cid="b").event_id == other.id  # another event is not affected
    moderation.block(session, ev.id, {"id": first.id, "blocked": False})
    assert ask(session, ev, cid="c").status == "pending"


def test_block_refuses_bad_input(session, ev):
    q = ask(session, ev)
    for payload, code in [({"id": q.id + 99}, "not_found"), ({"id": q.id, "blocked": None}, "bad_request"),
                          ({"id": q.id, "blocked": "yes"}, "bad_request"), ({}, "bad_request")]:
        with pytest.raises(DomainError) as err:
            moderation.block(session, ev.id, payload)
        assert err.value.code == code


def test_moderator_view_marks_blocked_authors(session, ev):
    a = ask(session, ev, pid="a", cid="1")
    b = ask(session, ev, pid="b", cid="1")
    moderation.block(session, ev.id, {"id": a.id})
    view = {q["id"]: q for q in questions.moderator_view(session, ev.id)}
    assert view[a.id].get("author_blocked") is True and "author_blocked" not in view[b.id]


@pytest.mark.parametrize("policy, name, stored, code", [
    ("asked", None, None, "invalid"),
    ("asked", "Ana", "Ana", None),
    ("optional", None, None, None),
    ("hidden", "Ana", None, None),
])
def test_names_policy(session, ev, policy, name, stored, code):
    ev.names_policy = policy
    session.commit()
    payload = {"client_id": "n", "theme": "finance", "text": "How?", **({"name": name} if name else {})}
    if code:
        with pytest.raises(DomainError) as err:
            questions.submit(session, ev, "p1", payload)
        assert (err.value.code, err.value.field) == (code, "name")
    else:
        assert questions.submit(session, ev, "p1", payload).question.name == stored


def test_hidden_theme_takes_no_new_questions(session, ev):
    kept = ask(session, ev, cid="before")
    ev.themes[1].hidden = True  # "finance"
    session.commit()
    with pytest.raises(DomainError) as err:
        ask(session, ev, cid="after")
    assert (err.value.code, err.value.field) == ("invalid", "theme")
    assert session.get(Question, kept.id).theme == "finance"


def test_views_of_a_reply_labels_and_star(session, ev):
    """The public view shows only a public reply; the asker's view any reply; only the
    moderators' view labels and the star. The participant snapshot agrees with participant_view."""
    from qa.domain import moderation, snapshot
    mine, other = ask(session, ev, pid="asker", cid="a"), ask(session, ev, pid="asker", cid="b")
    moderation.moderate(session, ev.id, {"id": mine.id, "action": "approve"})
    moderation.reply(session, ev.id, {"id": mine.id, "text": "Only for you."})
    moderation.reply(session, ev.id, {"id": other.id, "text": "Pending, but answered privately."})
    moderation.set_labels(session, ev.id, {"id": mine.id, "labels": ["follow-up"]})
    moderation.set_star(session, ev.id, {"id": mine.id, "starred": True})

    assert questions.question_to_dict(mine)["reply"] is None
    for view in (questions.participant_view(session, ev.id, "someone else"),
                 snapshot.screen_view(snapshot.public_entries(session, ev.id))):
        assert [q["reply"] for q in view] == [None]
        assert all("labels" not in q and "starred" not in q for q in view)
    asker_view = questions.participant_view(session, ev.id, "asker")
    assert {q["id"]: q["reply"]["text"] for q in asker_view} == {
        mine.id: "Only for you.", other.id: "Pending, but answered privately."}
    entries = snapshot.public_entries(session, ev.id)
    assert snapshot.participant_view(session, ev.id, "asker", entries) == asker_view
    assert entries[0][1]["reply"] is None  # the shared public entry was not changed
    mod = {q["id"]: q for q in questions.moderator_view(session, ev.id)}
    assert mod[mine.id]["labels"] == ["follow-up"] and mod[mine.id]["starred"] is True
    assert mod[other.id]["reply"]["public"] is False and mod[other.id]["labels"] == []
    assert questions.question_total(session, ev.id) == 2
