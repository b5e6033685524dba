"""What joins read, built once and shared: an event's public questions (PublicList) and the
event itself by code (EventCache)."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from cachetools import TTLCache
from flask import current_app
from sqlalchemy.orm import Session

from ..domain import snapshot
from ..domain.events import event_to_dict, find_event, normalize_code
from . import speedups

PUBLIC_LIST_TTL = 1.0  # seconds; see PublicList
VERSION_CHECK_INTERVAL = 0.25  # seconds between two checks of public_version by joins; see PublicList
EVENT_TTL = 1.0  # seconds; see EventCache
EVENT_CACHE_SIZE = 10_000  # events; past it, the least recently used make room


class PublicList:
    """Each event's public questions as joins are sent them, built once and shared by every join.

    Rebuilt when this process broadcasts a change to them (the functions below call
    `invalidate`), when the database's `snapshot.public_version` differs (a change made by
    another process, or outside a broadcast; checked at most every VERSION_CHECK_INTERVAL,
    not per join: in a join storm the check was a tenth of the server's CPU), and at the
    latest after PUBLIC_LIST_TTL, in case clocks of several machines make a newer change
    look older. The lists are never changed once built: joins read them without a lock.

    A list is read in a transaction of its own, begun after the event's generation was noted,
    and kept only if no `invalidate` came meanwhile: a join that read the list just before a
    moderator's change, then stored it, had every join for the next check_every sent the
    list as it was (a screen joining as a question went live showed it as "next up").
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
        # event id -> a new object at each invalidate: a read that began under another is not kept
        self._generations: dict[int, object] = {}

    def get(self, session, event_id: int) -> snapshot.Entries:
        generation = self._generations.get(event_id)
        cached = self._lists.get(event_id)
        now = self._clock()
        if cached is not None and now - cached[2] < self.check_every and now - cached[1] < self.ttl:
            return cached[3]
        with Session(session.get_bind()) as fresh:
            version = snapshot.public_version(fresh, event_id)
            same = cached is not None and cached[0] == version and now - cached[1] < self.ttl
            entries = cached[3] if same else snapshot.public_entries(fresh, event_id)
        if self._generations.get(event_id) is generation:  # no invalidate since the read began
            self._lists[event_id] = (version, cached[1] if same else now, now, entries)
        return entries

    def encoded(self, event_id: int, entries: snapshot.Entries) -> Any:
        """`entries` as a snapshot's `questions`, JSON-encoded once per list, not per join."""
        cached = self._encoded.get(event_id)
        if cached is None or cached[0] is not entries:
            view = speedups.shared(snapshot.screen_view(entries), current_app)
            cached = self._encoded[event_id] = (entries, view)
        return cached[1]

    def invalidate(self, event_id: int) -> None:
        self._generations[event_id] = object()
        self._lists.pop(event_id, None)
        self._encoded.pop(event_id, None)

    def clear(self) -> None:
        self._generations.clear()
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
    As PublicList, an event read afresh before a `forget` is not kept.
    """

    def __init__(self, ttl: float = EVENT_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        # code -> (id, dict); `clock` is a test's own, so that none patches the process's
        self._events: TTLCache[str, tuple[int, dict]] = TTLCache(EVENT_CACHE_SIZE, ttl, timer=clock)
        self._lock = threading.Lock()  # a TTLCache is not safe across threads (QA_ASYNC_MODE=threading)
        self._generation = object()  # a new one at each forget: a read that began under another is not kept

    def get(self, session, code: Any) -> tuple[int, dict]:
        """(event id, event dict) for a join code; DomainError not_found as find_event."""
        key = normalize_code(code) or None
        if key is not None:
            with self._lock:
                cached = self._events.get(key)
            if cached is not None:
                return cached
        generation = self._generation
        with Session(session.get_bind()) as fresh:
            event = find_event(fresh, code)
            entry = (event.id, event_to_dict(event))
        if key is not None:
            with self._lock:
                if self._generation is generation:
                    self._events[key] = entry
        return entry

    def forget(self, event_id: int) -> None:
        with self._lock:
            self._generation = object()
            for code, (cached_id, _) in list(self._events.items()):
                if cached_id == event_id:
                    self._events.pop(code, None)

    def clear(self) -> None:
        with self._lock:
            self._generation = object()
            self._events.clear()


event_cache = EventCache()
