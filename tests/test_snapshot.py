"""The shared public list joins are sent: same content as the full per-join view, and never stale."""
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qa.domain import events, moderation, questions, snapshot
from qa.models import Question
from qa.web.join_cache import PublicList


@pytest.fixture
def ev(session):
    return events.create_event(session, {"title": "T"})


def ask(session, ev, pid, cid, text="How do I pay?"):
    return questions.submit(session, ev, pid, {"client_id": cid, "theme": "finance", "text": text}).question


def act(session, ev, q, action):
    moderation.moderate(session, ev.id, {"id": q.id, "action": action})


def test_same_as_the_full_participant_view(session, ev):
    """Own unpublished questions (also ones holding a queue place), mine/voted flags, display order."""
    qs = [ask(session, ev, pid, str(i)) for i, pid in enumerate(["me", "you", "me", "you", "me", "you"])]
    for q in qs[1:5]:
        act(session, ev, q, "approve")
    act(session, ev, qs[2], "reject")  # mine, was in the queue: keeps its position
    act(session, ev, qs[4], "answer")
    moderation.reorder(session, ev.id, {"ids": [qs[4].id, qs[3].id, qs[1].id]})
    questions.vote(session, ev.id, "me", {"id": qs[3].id})
    questions.vote(session, ev.id, "me", {"id": qs[4].id})
    entries = snapshot.public_entries(session, ev.id)

    def view(pid):  # None stands for the shared public list
        own = snapshot.participant_view(session, ev.id, pid, entries)
        return snapshot.screen_view(entries) if own is None else own

    for pid in ("me", "you", "nobody"):
        assert view(pid) == questions.participant_view(session, ev.id, pid), pid
    # Who owns nothing (a new identity, or one that never asked or voted) gets the shared list.
    assert snapshot.participant_view(session, ev.id, None, entries) is None
    assert snapshot.participant_view(session, ev.id, "nobody", entries) is None
    assert snapshot.participant_view(session, ev.id, "you", entries) is not None
    assert snapshot.screen_view(entries) == \
        [questions.question_to_dict(q) for q in questions.public_questions(session, ev.id)]
    # The shared dicts are not touched by the per-participant flags.
    assert all("mine" not in item and "voted" not in item for _key, item in entries)


def test_version_follows_every_change_to_the_public_list(session, ev):
    a, b = ask(session, ev, "p", "a"), ask(session, ev, "p", "b")
    seen = [snapshot.public_version(session, ev.id)]

    def changed():
        now = snapshot.public_version(session, ev.id)
        assert now not in seen
        seen.append(now)

    act(session, ev, a, "approve")
    changed()
    act(session, ev, b, "approve")
    changed()
    questions.vote(session, ev.id, "v", {"id": a.id})
    changed()
    moderation.edit(session, ev.id, ev, {"id": a.id, "text": "Reworded"})
    changed()
    moderation.reorder(session, ev.id, {"ids": [b.id, a.id]})
    changed()
    act(session, ev, a, "reject")
    changed()


def test_public_list_is_rebuilt_after_a_change_made_elsewhere(session, ev):
    """Another process changes the database without this one broadcasting anything."""
    q = ask(session, ev, "p", "a")
    act(session, ev, q, "approve")
    cache = PublicList(ttl=3600, check_every=0)
    first = cache.get(session, ev.id)
    assert cache.get(session, ev.id) is first  # unchanged: the same list, not rebuilt
    session.execute(update(Question).where(Question.id == q.id).values(votes=Question.votes + 5))
    session.commit()
    assert cache.get(session, ev.id)[0][1]["votes"] == 5
    cache.invalidate(ev.id)
    assert cache.get(session, ev.id) is not first


def test_joins_check_for_changes_made_elsewhere_at_most_every_interval(session, ev, monkeypatch):
    """In a join storm the version query ran per join; now once per interval."""
    act(session, ev, ask(session, ev, "p", "a"), "approve")
    clock = [1000.0]
    checks = []
    real = snapshot.public_version
    monkeypatch.setattr(snapshot, "public_version", lambda *a: checks.append(1) or real(*a))
    cache = PublicList(ttl=3600, check_every=0.25, clock=lambda: clock[0])
    first = cache.get(session, ev.id)
    for _ in range(50):
        clock[0] += 0.001
        assert cache.get(session, ev.id) is first
    assert len(checks) == 1
    session.execute(update(Question).values(votes=Question.votes + 1))
    session.commit()
    assert cache.get(session, ev.id) is first  # not checked yet: within the interval
    clock[0] += 0.25
    assert cache.get(session, ev.id)[0][1]["votes"] == 1 and len(checks) == 2


def _change_elsewhere(session, cache, ev, q, votes):
    """What a moderator's request does in another thread: commit a change, then invalidate."""
    with Session(session.get_bind()) as other:
        other.execute(update(Question).where(Question.id == q.id).values(votes=votes))
        other.commit()
    cache.invalidate(ev.id)


def test_a_list_read_while_it_changed_is_not_kept(session, ev, monkeypatch):
    """A join built the list from the database as it was, a change was committed and invalidated
    before the join stored it: stored, it was sent as current to every join for the next
    check_every (a screen joining as a question went live showed it as "next up")."""
    q = ask(session, ev, "p", "a")
    act(session, ev, q, "approve")
    cache = PublicList(ttl=3600, check_every=3600, clock=lambda: 1000.0)
    real = snapshot.public_entries

    def read_then_changed(s, event_id):
        entries = real(s, event_id)
        monkeypatch.setattr(snapshot, "public_entries", real)
        _change_elsewhere(session, cache, ev, q, 7)
        return entries

    monkeypatch.setattr(snapshot, "public_entries", read_then_changed)
    assert cache.get(session, ev.id)[0][1]["votes"] == 0  # this join's read came first
    assert cache.get(session, ev.id)[0][1]["votes"] == 7


def test_a_list_is_read_after_the_invalidation_that_asked_for_it(session, ev):
    """The caller's transaction began before a change (SQLite reads from the database as it was
    then): the list is read afresh, not from that transaction, and kept only if current."""
    q = ask(session, ev, "p", "a")
    act(session, ev, q, "approve")
    cache = PublicList(ttl=3600, check_every=3600, clock=lambda: 1000.0)
    assert cache.get(session, ev.id)[0][1]["votes"] == 0
    session.close()
    assert session.scalar(select(Question.votes).where(Question.id == q.id)) == 0  # begins a transaction
    _change_elsewhere(session, cache, ev, q, 3)
    assert cache.get(session, ev.id)[0][1]["votes"] == 3
    assert cache.get(session, ev.id)[0][1]["votes"] == 3
