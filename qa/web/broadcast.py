"""Who gets what, in which room (the rooms: qa/web/rooms.py), and the paced broadcasts
(votes, new questions, the queue's order)."""
from __future__ import annotations

import time

from flask import Flask, current_app

from ..domain.moderation import Change
from ..domain.questions import (PUBLIC, public_ids, question_for_asker, question_for_moderators, question_to_dict,
                                questions_by_id, questions_of_author, vote_counts)
from ..extensions import db, socketio
from ..models import Event, Question
from ..domain.events import event_to_dict
from ..domain.similarity import similar_in_chunks
from .join_cache import event_cache, public_list
from .metrics import counting_emits
from .presence import presence
from .rooms import everyone, moderators, participant
from .throttle import Coalescer

socketio = counting_emits(socketio)  # every broadcast below is counted for /metrics


class SentCounts:
    """How many messages this process has sent to each event's audiences (everyone, the
    moderators, the askers). A join reads its snapshot after entering its rooms, so a change
    made after the read reaches it; one sent between the read and the snapshot reaches it first
    and the older snapshot undoes it, so the join reads and sends the snapshot again when the
    count of an audience it belongs to moved meanwhile (qa/web/sockets.py). Only the change
    matters, not the value: two increments racing between threads still change it."""

    def __init__(self) -> None:
        self._counts: dict[tuple[int, str], int] = {}

    def bump(self, event_id: int, audience: str) -> None:
        key = (event_id, audience)
        self._counts[key] = self._counts.get(key, 0) + 1

    def of(self, event_id: int, audiences: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(self._counts.get((event_id, audience), 0) for audience in audiences)

    def clear(self) -> None:
        self._counts.clear()


sent = SentCounts()
# The audiences each role's socket is in.
AUDIENCES = {"moderator": ("everyone", "moderators"), "participant": ("everyone", "askers"), "screen": ("everyone",)}


# Each counted before it goes, so that a join checking after its own snapshot went sees it.
def _to_everyone(event_id: int, name: str, payload: dict) -> None:
    sent.bump(event_id, "everyone")
    socketio.emit(name, payload, to=everyone(event_id))


def _to_moderators(event_id: int, name: str, payload: dict) -> None:
    sent.bump(event_id, "moderators")
    socketio.emit(name, payload, to=moderators(event_id))


def _to_asker(event_id: int, q: Question) -> None:
    sent.bump(event_id, "askers")
    socketio.emit("question:mine", {"question": question_for_asker(q)}, to=participant(q.participant_id))


# At most 4 `votes` messages per second per event, as received: at exactly 0.25 s apart a
# client's one-second window caught 5 whenever delivery jitter brought two closer together.
VOTE_INTERVAL = 0.3


def question_changed(event_id: int, q: Question, *, was_public: bool, status_changed: bool) -> None:
    public_list.invalidate(event_id)
    payload = {"question": question_to_dict(q)}
    if q.status in PUBLIC:
        _to_everyone(event_id, "question:update", payload)
    else:
        if was_public:
            _to_everyone(event_id, "question:remove", {"id": q.id})
        _to_moderators(event_id, "question:update", payload)
    if status_changed:  # the asker's own view: a reply only they may read stays on their page
        _to_asker(event_id, q)


def _flush_submissions(app: Flask, event_id: int, question_ids: set) -> None:
    """New questions to the moderators (with `similar`), and to everyone when already public.

    Runs after the askers' acks, a burst at a time: scoring similar questions is the
    costliest part of a submission, and the index is synced once per burst, not per question.
    """
    session = db.session
    new = questions_by_id(session, question_ids)
    for chunk, similar in similar_in_chunks(session, event_id, new, SIMILARITY_CHUNK):
        for q in chunk:
            _to_moderators(event_id, "question:new",
                           {"question": {**question_to_dict(q), "similar": similar[q.id]}})
        # Under eventlet or gevent nothing else runs while the next chunk is scored: let the acks
        # and broadcasts waiting meanwhile go out (a 2,000-question burst blocked for 40-90 ms).
        socketio.sleep(0)
    public = [q for q in new if q.status in PUBLIC]  # post-moderation: public at once
    if public:
        public_list.invalidate(event_id)
        for q in public:
            _to_everyone(event_id, "question:update", {"question": question_to_dict(q)})
        orders.add(app, event_id)


SUBMISSION_INTERVAL = 0.05  # seconds: a burst of questions is scored and sent together
SIMILARITY_CHUNK = 16  # questions scored between two yields to other green threads
ORDER_INTERVAL = 2.0  # seconds: see `orders`


def moderation_applied(event_id: int, change: Change) -> None:
    for other in change.also:
        question_changed(event_id, other, was_public=True, status_changed=False)
    question_changed(
        event_id, change.question, was_public=change.was_public, status_changed=change.status_changed
    )
    if change.order_changed:
        orders.add(current_app._get_current_object(), event_id)


def reply_given(event_id: int, change: Change) -> None:
    """A written answer: the public view as any change (a private one shows there as none), the
    whole of it to the moderators and to the asker, who hear of it even when the status stays."""
    moderation_applied(event_id, change)
    q = change.question
    private_changed(event_id, q)
    if not change.status_changed:
        _to_asker(event_id, q)


def private_changed(event_id: int, q: Question) -> None:
    """What only moderators see (labels, star, a private reply) changed: to the moderators only.
    Their desks keep these fields when a public `question:update` of the same question, which
    carries none of them, comes after."""
    _to_moderators(event_id, "question:update", {"question": question_for_moderators(q)})


def author_blocked(event_id: int, q: Question, blocked: bool) -> None:
    """Tell every moderator desk which questions now have a blocked (or unblocked) author."""
    ids = questions_of_author(db.session, event_id, q.participant_id)
    _to_moderators(event_id, "participant:blocked", {"ids": ids, "blocked": blocked})


def queue_order(event_id: int, ids: list[int]) -> None:
    public_list.invalidate(event_id)
    _to_everyone(event_id, "queue:order", {"ids": ids})


def event_updated(event: Event) -> None:
    event_cache.forget(event.id)
    _to_everyone(event.id, "event:update", {"event": event_to_dict(event)})


def _flush_votes(app: Flask, event_id: int, question_ids: set) -> None:
    counts = vote_counts(db.session, sorted(question_ids))
    if counts:
        public_list.invalidate(event_id)
        _to_everyone(event_id, "votes", {"counts": counts})


def _flush_order(app: Flask, event_id: int, _items: set) -> None:
    queue_order(event_id, public_ids(db.session, event_id))


votes = Coalescer(VOTE_INTERVAL, _flush_votes, paced_as="votes")  # 4 a second per event, not per process
submissions = Coalescer(SUBMISSION_INTERVAL, _flush_submissions)
# After an approval or a removal the order changes only at its end or by a gap, which the
# `question:update` / `question:remove` just sent already say: `queue:order` follows at most
# every ORDER_INTERVAL. Sent with each approval it doubled the messages of a fan-out to
# thousands (the cost of a broadcast is per message and recipient). A reorder is sent at once.
orders = Coalescer(ORDER_INTERVAL, _flush_order)


def init_app(app: Flask) -> None:
    """Start each app of this process from scratch: what the previous one cached, counted or
    timed by event id or code belongs to another database (in tests, every test has its own),
    so that the order in which tests run cannot change what they see."""
    public_list.clear()
    event_cache.clear()
    presence.clear()
    sent.clear()
    for coalescer in (votes, submissions, orders, presence.announcer):
        coalescer.forget()
    # Tests read the trailing `queue:order` after settle(), which would wait the whole interval.
    orders.interval = app.config.get("ORDER_INTERVAL", ORDER_INTERVAL)


def settle(timeout: float = 5.0) -> bool:
    """Wait until the broadcasts that read the database have gone out (tests, before an
    app's engine is disposed: a flush after that would open a connection nobody closes)."""
    deadline = time.monotonic() + timeout
    while not (votes.idle() and submissions.idle() and orders.idle()):
        if time.monotonic() > deadline:
            return False
        socketio.sleep(0.01)
    return True


