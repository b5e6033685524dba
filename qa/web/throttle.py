"""Coalescer: batch what arrives per key and flush it when a pace (qa/web/pacing.py) gives the
key its turn, so that one rule times a flush whether the process sends alone or shares the pace."""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Callable

from flask import Flask

from ..extensions import socketio
from .pacing import LocalPace, Pace


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
        `qa_pace`: through Redis behind a message queue, else this process's); items are then ids
        (ints). Without it the turns are this coalescer's own, in this process."""
        self.interval = interval
        self.retries = retries
        self.paced_as = paced_as
        self._flush = flush
        self._own = LocalPace()
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._failures: dict[int, int] = defaultdict(int)
        self._running = 0
        # Asked for and not yet handed to the pace; a key present with no items still gets a flush.
        self._pending: dict[int, set] = defaultdict(set)
        self._scheduled: set[int] = set()  # keys with a task taking their turns
        self._app_generation = 0  # one more with each forget(): an earlier app's tasks stop

    def add(self, app: Flask, key: int, item=None) -> None:
        with self._lock:
            pending = self._pending[key]
            if item is not None:
                pending.add(item)
            if key in self._scheduled:
                return
            self._scheduled.add(key)
            generation = self._app_generation
        socketio.start_background_task(self._run, app, key, generation)

    def _run(self, app: Flask, key: int, generation: int) -> None:
        """Take `key`'s turns while items keep coming; end after a turn during which none came."""
        pace: Pace = app.extensions["qa_pace"] if self.paced_as else self._own
        wait = 0.0
        while True:
            if wait > 0:
                socketio.sleep(wait)
            with self._lock:
                if generation != self._app_generation:  # the key is a later app's now
                    return
                items = self._pending.pop(key, None)
                if items is None:
                    self._scheduled.discard(key)
                    return
                self._running += 1
            wait, again = self._turn(app, pace, key, items)
            with self._lock:
                self._running -= 1
                if again is not None and generation == self._app_generation:
                    self._pending[key] |= again

    def _turn(self, app: Flask, pace: Pace, key: int, items: set) -> tuple[float, set | None]:
        """Ask the pace once, flush if it is our turn: (seconds until the next look, what to ask
        with then besides what arrives meanwhile, or None when nothing is owed)."""
        ends = 0.0
        try:
            turn = pace.take(self.paced_as or "", key, self.interval, items)
            if not turn.go:
                # Another sender's turn, which sends our items with its own; look again when it
                # ends in case it had sent before they were left for it.
                return (0.0, None) if turn.retry_in is None else (turn.retry_in, set())
            # Asking again before our turn ends would be refused. Timed from after the take, during
            # which the turn began.
            ends = time.monotonic() + (turn.retry_in or 0.0)
            items = turn.items
            with self._flushing, app.app_context():
                self._flush(app, key, items)
        except Exception:  # a failed broadcast must not kill the worker
            app.logger.exception("broadcast flush failed for %s", key)
            self._failures[key] += 1
            again = items if self._failures[key] <= self.retries else None
            if again is None:
                self._failures.pop(key, None)
            return (ends - time.monotonic() if ends else self.interval), again
        self._failures.pop(key, None)
        return ends - time.monotonic(), None

    def forget(self) -> None:
        """Drop what an earlier app left: keyed by event id, its turns, items and failure counts
        would pace or reach this app's events of the same ids (each test's database starts at 1),
        and a task still waiting out its turn would flush them in that app. A shared pace is the
        app's own (`qa_pace`), new with each app."""
        self._own.forget()
        with self._lock:
            self._app_generation += 1
            self._pending.clear()
            self._scheduled.clear()
            self._failures.clear()

    def idle(self) -> bool:
        """Nothing waiting for a turn and no flush running."""
        with self._lock:
            return not self._pending and not self._running
