"""Group commit: requests that arrive while a write is running are written together next.

Under load one commit per request is what limits throughput (a vote storm is a
thousand small transactions a second, each with its own fsync on SQLite). Here
the first caller writes its own request at once; callers that arrive while it
does wait, and the first of them to get the writer's lock writes everything
queued so far in one batch. No timer and no extra latency when it is quiet; the
busier the server, the bigger the batch. Works with real threads and with
eventlet's or gevent's green ones (run.py patches `threading` before this runs).
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Generic, TypeVar

Req = TypeVar("Req")
Res = TypeVar("Res")


class _Slot(Generic[Req]):
    __slots__ = ("request", "result", "error", "done")

    def __init__(self, request: Req) -> None:
        self.request = request
        self.result = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommit(Generic[Req, Res]):
    def __init__(self, write: Callable[[list[Req]], list[Res]], max_batch: int = 500) -> None:
        """`write(requests)` returns one result per request, in order, or raises for all."""
        self._write = write
        self.max_batch = max_batch
        self._queue: list[_Slot] = []
        self._queue_lock = threading.Lock()
        self._writer = threading.Lock()
        self.gather_rounds = 4
        self.batches = 0  # written so far; with `requests`, the mean batch size (tests, metrics)
        self.requests = 0

    def submit(self, request: Req) -> Res:
        slot = _Slot(request)
        with self._queue_lock:
            self._queue.append(slot)
        while not slot.done:
            with self._writer:
                if slot.done:
                    break
                self._gather()
                with self._queue_lock:
                    batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                self._run(batch)
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _gather(self) -> None:
        """Let requests that are ready to queue do so before the batch is taken.

        A SQLite write blocks the whole process under eventlet or gevent, so nothing can
        queue while it runs; yielding to the other green threads (or, with real threads,
        the GIL) for as long as the queue keeps growing, a few times at most, is what
        lets a burst form a batch. Costs one switch when nobody is waiting.
        """
        for _ in range(self.gather_rounds):
            before = len(self._queue)
            time.sleep(0)
            if len(self._queue) == before:
                return

    def _run(self, batch: list[_Slot]) -> None:
        self.batches += 1
        self.requests += len(batch)
        try:
            results = self._write([s.request for s in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"group commit: {len(results)} results for {len(batch)} requests")
        except BaseException as exc:  # every waiter learns of the failure; none waits forever
            for s in batch:
                s.error, s.done = exc, True
            return
        for s, result in zip(batch, results):
            s.result, s.done = result, True
