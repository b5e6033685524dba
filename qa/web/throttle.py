"""Coalescer: run a flush at most once per interval per key, batching what arrives meanwhile;
paced across processes by qa/web/pacing.py when the app runs behind Redis."""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Callable

from flask import Flask

from ..extensions import socketio


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
