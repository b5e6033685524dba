"""Who gets what, in which room.

Rooms: `e:<id>` holds everyone in an event (participants, screens and
moderators), `e:<id>:mod` only its moderators, `p:<pid>` one participant's
sockets (several tabs or devices share an identity).
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

from cachetools import TTLCache
from flask import Flask, current_app

from ..domain.moderation import Change
from ..domain.questions import (PUBLIC, public_ids, question_for_asker, question_for_moderators, question_to_dict,
                                questions_by_id, questions_of_author, vote_counts)
from ..extensions import db, socketio
from ..models import Event, Question
from ..domain.events import event_to_dict, find_event, normalize_code
from ..domain import snapshot
from ..domain.similarity import similar_to_many
from .metrics import counting_emits
from . import speedups

socketio = counting_emits(socketio)  # every broadcast below is counted for /metrics

# At most 4 `votes` messages per second per event, as received: at exactly 0.25 s apart a
# client's one-second window caught 5 whenever delivery jitter brought two closer together.
VOTE_INTERVAL = 0.3
PRESENCE_INTERVAL = 1.0
PUBLIC_LIST_TTL = 1.0  # seconds; see PublicList
VERSION_CHECK_INTERVAL = 0.25  # seconds between two checks of public_version by joins; see PublicList
EVENT_TTL = 1.0  # seconds; see EventCache
EVENT_CACHE_SIZE = 10_000  # events; past it, the least recently used make room


def everyone(event_id: int) -> str:
    return f"e:{event_id}"


def moderators(event_id: int) -> str:
    return f"e:{event_id}:mod"


def participant(pid: str) -> str:
    return f"p:{pid}"


class PublicList:
    """Each event's public questions as joins are sent them, built once and shared by every join.

    Rebuilt when this process broadcasts a change to them (the functions below call
    `invalidate`), when the database's `snapshot.public_version` differs (a change made by
    another process, or outside a broadcast; checked at most every VERSION_CHECK_INTERVAL,
    not per join: in a join storm the check was a tenth of the server's CPU), and at the
    latest after PUBLIC_LIST_TTL, in case clocks of several machines make a newer change
    look older. The lists are never changed once built: joins read them without a lock.
    """

    def __init__(self, ttl: float = PUBLIC_LIST_TTL, check_every: float = VERSION_CHECK_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.check_every = check_every
        self._clock = clock  # a test's own clock, so that none patches the process's
        # event id -> (version, built at, last checked at, entries)
        self._lists: dict[int, tuple[tuple, float, float, snapshot.Entries]] = {}
        # event id -> (the entries it was made from, their dicts encoded once for every join)
        self._encoded: dict[int, tuple[snapshot.Entries, Any]] = {}

    def get(self, session, event_id: int) -> snapshot.Entries:
        cached = self._lists.get(event_id)
        now = self._clock()
        if cached is not None and now - cached[2] < self.check_every and now - cached[1] < self.ttl:
            return cached[3]
        version = snapshot.public_version(session, event_id)
        if cached is not None and cached[0] == version and now - cached[1] < self.ttl:
            self._lists[event_id] = (version, cached[1], now, cached[3])
            return cached[3]
        entries = snapshot.public_entries(session, event_id)
        self._lists[event_id] = (version, now, now, entries)
        self._encoded.pop(event_id, None)
        return entries

    def encoded(self, event_id: int, entries: snapshot.Entries) -> Any:
        """`entries` as a snapshot's `questions`, JSON-encoded once per list, not per join."""
        cached = self._encoded.get(event_id)
        if cached is None or cached[0] is not entries:
            view = speedups.shared(snapshot.screen_view(entries), current_app)
            cached = self._encoded[event_id] = (entries, view)
        return cached[1]

    def invalidate(self, event_id: int) -> None:
        self._lists.pop(event_id, None)
        self._encoded.pop(event_id, None)

    def clear(self) -> None:
        self._lists.clear()
        self._encoded.clear()


public_list = PublicList()


class EventCache:
    """What a participant's or screen's join needs of an event, by code, for EVENT_TTL.

    Finding the event and building its dict (themes, translations) was a fifth of a
    join's CPU in a join storm, the same for every join. Changes made through this
    process drop the entry at once (`event_updated`, `event_closed`); another process's
    are seen within EVENT_TTL, as its `event:update` broadcast reaches the sockets
    already joined. Moderators always read the event afresh: their token must be current.
    """

    def __init__(self, ttl: float = EVENT_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        # code -> (id, dict); `clock` is a test's own, so that none patches the process's
        self._events: TTLCache[str, tuple[int, dict]] = TTLCache(EVENT_CACHE_SIZE, ttl, timer=clock)
        self._lock = threading.Lock()  # a TTLCache is not safe across threads (QA_ASYNC_MODE=threading)

    def get(self, session, code: Any) -> tuple[int, dict]:
        """(event id, event dict) for a join code; DomainError not_found as find_event."""
        key = normalize_code(code) or None
        if key is not None:
            with self._lock:
                cached = self._events.get(key)
            if cached is not None:
                return cached
        event = find_event(session, code)
        entry = (event.id, event_to_dict(event))
        if key is not None:
            with self._lock:
                self._events[key] = entry
        return entry

    def forget(self, event_id: int) -> None:
        with self._lock:
            for code, (cached_id, _) in list(self._events.items()):
                if cached_id == event_id:
                    self._events.pop(code, None)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


event_cache = EventCache()


def question_changed(event_id: int, q: Question, *, was_public: bool, status_changed: bool) -> None:
    public_list.invalidate(event_id)
    payload = {"question": question_to_dict(q)}
    if q.status in PUBLIC:
        socketio.emit("question:update", payload, to=everyone(event_id))
    else:
        if was_public:
            socketio.emit("question:remove", {"id": q.id}, to=everyone(event_id))
        socketio.emit("question:update", payload, to=moderators(event_id))
    if status_changed:  # the asker's own view: a reply only they may read stays on their page
        socketio.emit("question:mine", {"question": question_for_asker(q)}, to=participant(q.participant_id))


def _flush_submissions(app: Flask, event_id: int, question_ids: set) -> None:
    """New questions to the moderators (with `similar`), and to everyone when already public.

    Runs after the askers' acks, a burst at a time: scoring similar questions is the
    costliest part of a submission, and the index is synced once per burst, not per question.
    """
    session = db.session
    new = questions_by_id(session, question_ids)
    for start in range(0, len(new), SIMILARITY_CHUNK):
        if start:
            # Under eventlet or gevent nothing else runs while this scores: let the acks and
            # broadcasts waiting meanwhile go out (a 2,000-question burst blocked for 40-90 ms).
            socketio.sleep(0)
        chunk = new[start:start + SIMILARITY_CHUNK]
        similar = similar_to_many(session, event_id, chunk)
        for q in chunk:
            socketio.emit("question:new", {"question": {**question_to_dict(q), "similar": similar[q.id]}},
                          to=moderators(event_id))
    public = [q for q in new if q.status in PUBLIC]  # post-moderation: public at once
    if public:
        public_list.invalidate(event_id)
        for q in public:
            socketio.emit("question:update", {"question": question_to_dict(q)}, to=everyone(event_id))
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
        socketio.emit("question:mine", {"question": question_for_asker(q)}, to=participant(q.participant_id))


def private_changed(event_id: int, q: Question) -> None:
    """What only moderators see (labels, star, a private reply) changed: to the moderators only.
    Their desks keep these fields when a public `question:update` of the same question, which
    carries none of them, comes after."""
    socketio.emit("question:update", {"question": question_for_moderators(q)}, to=moderators(event_id))


def author_blocked(event_id: int, q: Question, blocked: bool) -> None:
    """Tell every moderator desk which questions now have a blocked (or unblocked) author."""
    ids = questions_of_author(db.session, event_id, q.participant_id)
    socketio.emit("participant:blocked", {"ids": ids, "blocked": blocked}, to=moderators(event_id))


def queue_order(event_id: int, ids: list[int]) -> None:
    public_list.invalidate(event_id)
    socketio.emit("queue:order", {"ids": ids}, to=everyone(event_id))


def event_updated(event: Event) -> None:
    event_cache.forget(event.id)
    socketio.emit("event:update", {"event": event_to_dict(event)}, to=everyone(event.id))


class Coalescer:
    """Run `flush(key, items)` at most once per `interval` per key, batching what arrives.

    The first item after a quiet spell goes out at once; a burst is gathered
    and sent as one message when the interval is up. Flushes never overlap (a slow
    one delays the next), and a failed one is tried again with its items, up to
    `retries` times, so that a briefly locked database delays a broadcast, not loses it.
    """

    def __init__(self, interval: float, flush: Callable[[Flask, int, set], None], retries: int = 3,
                 paced_as: str | None = None):
        """`paced_as`: the name under which every process of the app shares one pace (the app's
        `qa_pace`, qa/web/pacing.py, when it runs behind Redis); items are then ids (ints)."""
        self.interval = interval
        self.retries = retries
        self.paced_as = paced_as
        self._flush = flush
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._failures: dict[int, int] = defaultdict(int)
        self._running = 0
        self._pending: dict[int, set] = defaultdict(set)
        self._scheduled: set[int] = set()
        self._last: dict[int, float] = {}

    def add(self, app: Flask, key: int, item=None, wait: float | None = None) -> None:
        """`wait`: seconds until the flush, instead of what is left of the interval since the last."""
        with self._lock:
            if item is not None:
                self._pending[key].add(item)
            if key in self._scheduled:
                return
            self._scheduled.add(key)
            if wait is None:
                wait = max(0.0, self._last.get(key, 0.0) + self.interval - time.monotonic())
        socketio.start_background_task(self._run, app, key, wait)

    def _run(self, app: Flask, key: int, wait: float) -> None:
        if wait:
            socketio.sleep(wait)
        with self._lock:
            items = self._pending.pop(key, set())
            self._scheduled.discard(key)
            self._last[key] = time.monotonic()
            self._running += 1
        try:
            pace = app.extensions.get("qa_pace") if self.paced_as else None
            if pace is not None:
                turn = pace.take(self.paced_as, key, self.interval, items)
                if not turn.go:
                    # Another process sends next, with our items; look again when its slot frees
                    # in case it had sent before they were left for it.
                    if turn.retry_in is not None:
                        self.add(app, key, wait=turn.retry_in)
                    return
                items = turn.items
            with self._flushing, app.app_context():
                self._flush(app, key, items)
            self._failures.pop(key, None)
        except Exception:  # a failed broadcast must not kill the worker
            app.logger.exception("broadcast flush failed for %s", key)
            self._failures[key] += 1
            if self._failures[key] <= self.retries:
                for item in items:
                    self.add(app, key, item)
                if not items:
                    self.add(app, key)
            else:
                self._failures.pop(key, None)
        finally:
            with self._lock:
                self._running -= 1

    def forget(self) -> None:
        """Drop the timings and failure counts of an earlier app: keyed by event id, they
        would pace this app's events of the same ids (each test's database starts at 1)."""
        with self._lock:
            self._last.clear()
            self._failures.clear()

    def idle(self) -> bool:
        """Nothing scheduled and no flush running."""
        with self._lock:
            return not self._scheduled and not self._running


def _flush_votes(app: Flask, event_id: int, question_ids: set) -> None:
    counts = vote_counts(db.session, sorted(question_ids))
    if counts:
        public_list.invalidate(event_id)
        socketio.emit("votes", {"counts": counts}, to=everyone(event_id))


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


@dataclass
class Client:
    event_id: int
    role: str
    participant_id: str | None = None
    address: str | None = None
    lang: str | None = None  # "en", "fr" or "es": acks are answered in it (qa/i18n.py)
    token: str | None = None  # a moderator's token, checked again before each action (rotation)


class Presence:
    """Connected sockets of this process, by sid, and counts by event and role."""

    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self._lock = threading.Lock()
        self._counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._by_address: dict[str, int] = defaultdict(int)
        self.announcer = Coalescer(PRESENCE_INTERVAL, self._announce)

    def join(self, sid: str, client: Client, max_per_address: int = 0) -> bool:
        """Count a new socket; False (and not counted) if its address already has too many.
        A socket is counted once, however often this is called for it."""
        with self._lock:
            if sid in self.clients:
                return True
            if client.address and max_per_address and self._by_address[client.address] >= max_per_address:
                return False
            self.clients[sid] = client
            self._counts[client.event_id][client.role] += 1
            if client.address:
                self._by_address[client.address] += 1
            return True

    def clear(self) -> None:
        with self._lock:
            self.clients.clear()
            self._counts.clear()
            self._by_address.clear()

    def leave(self, sid: str) -> Client | None:
        with self._lock:
            client = self.clients.pop(sid, None)
            if client is not None:
                self._counts[client.event_id][client.role] -= 1
                if client.address:
                    self._by_address[client.address] -= 1
                    if not self._by_address[client.address]:
                        del self._by_address[client.address]
        return client

    def counts(self, event_id: int) -> dict[str, int]:
        with self._lock:
            c = self._counts.get(event_id, {})
            return {
                "participants": c.get("participant", 0),
                "moderators": c.get("moderator", 0),
                "screens": c.get("screen", 0),
            }

    def by_role(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        with self._lock:
            for client in self.clients.values():
                totals[client.role] += 1
        return dict(totals)

    def _announce(self, app: Flask, event_id: int, _items: set) -> None:
        socketio.emit("presence", self.counts(event_id), to=moderators(event_id))


presence = Presence()
