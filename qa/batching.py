"""Group commit: requests that arrive while a write is running are written together next.

Under load one commit per request is what limits throughput (a vote storm is a
thousand small transactions a second, each with its own fsync on SQLite). Here
one caller at a time leads: it writes everything queued so far in one batch, its
own request first among them; callers that arrive meanwhile wait on their own
event (not on a shared lock: thousands of waiters on one lock woke one another
in turn, one trip through eventlet's hub each, and a vote storm stalled). When
the leader's request is written it hands the lead to the oldest waiter. No timer
and no extra latency when it is quiet; the busier the server, the bigger the
batch. Works with real threads and with eventlet's or gevent's green ones
(run.py patches `threading` and `time` before this runs).
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Generic, TypeVar

Req = TypeVar("Req")
Res = TypeVar("Res")


class _Slot(Generic[Req]):
    __slots__ = ("request", "result", "error", "done", "leads", "wake")

    def __init__(self, request: Req) -> None:
        self.request = request
        self.result = None
        self.error: BaseException | None = None
        self.done = False
        self.leads = False
        self.wake = threading.Event()  # set after `done` or `leads` changes


class GroupCommit(Generic[Req, Res]):
    def __init__(self, write: Callable[[list[Req]], list[Res]], max_batch: int = 500,
                 shared_failures: tuple[type[BaseException], ...] = (),
                 clock: Callable[[], float] = time.monotonic,
                 pause: Callable[[float], None] | None = None) -> None:
        """`write(requests)` returns one result per request, in order, or raises for all.

        A batch that raises is written again in halves, down to the request that fails, so
        one bad request fails alone and the others are stored (see `_write_apart`); except
        for `shared_failures` (a database that is down or busy), which every request of
        the batch gets at once, since writing them apart would only fail them one by one."""
        self._write = write
        self.shared_failures = shared_failures
        # What times the gathering (`pause`: time.sleep, looked up when called, as run.py may
        # patch it); a test passes its own instead of patching the process's clock.
        self._clock = clock
        self._pause = pause
        self.max_batch = max_batch
        self.gather_rounds = 4
        self.gather_seconds = 0.005  # past this, no further round
        self._queue: list[_Slot] = []
        self._lock = threading.Lock()
        self._leader: _Slot | None = None
        self.batches = 0  # written so far; with `requests`, the mean batch size (tests, metrics)
        self.requests = 0

    def submit(self, request: Req) -> Res:
        slot = _Slot(request)
        with self._lock:
            self._queue.append(slot)
            if self._leader is None:
                self._leader, slot.leads = slot, True
        while not slot.done:
            if slot.leads:
                self._lead(slot)
            else:
                slot.wake.wait()
                slot.wake.clear()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _lead(self, slot: _Slot) -> None:
        try:
            self._gather()
            with self._lock:
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            self._run(batch)  # the leader's slot is the oldest: always in this batch
        except BaseException:
            # Interrupted while leading (a green thread killed as it yielded): leave, and let
            # the next one lead, or everyone behind would wait for ever.
            with self._lock:
                if slot in self._queue:
                    self._queue.remove(slot)
            self._hand_over(slot)
            raise
        self._hand_over(slot)

    def _hand_over(self, slot: _Slot) -> None:
        with self._lock:
            slot.leads = False
            nxt = self._queue[0] if self._queue else None
            self._leader = nxt
            if nxt is not None:
                nxt.leads = True
                nxt.wake.set()

    def _gather(self) -> None:
        """Let requests that are ready to queue do so before the batch is taken.

        A SQLite write blocks the whole process under eventlet or gevent, so nothing can
        queue while it runs; yielding to the other green threads (or, with real threads,
        the GIL) for as long as the queue keeps growing, a few times at most, is what
        lets a burst form a batch. Costs one switch when nobody is waiting. Under a steady
        stream the queue grows every round, so rounds are also bounded in time: on a busy
        server one trip round the hub takes milliseconds (it runs every ready green thread,
        broadcasts included), and four of them per batch were most of a vote's wait
        (docs/benchmarks.md, fifth pass).
        """
        start = self._clock()
        for _ in range(self.gather_rounds):
            before = len(self._queue)
            (self._pause or time.sleep)(0)
            if len(self._queue) == before or self._clock() - start > self.gather_seconds:
                return

    def _run(self, batch: list[_Slot]) -> None:
        self.batches += 1
        self.requests += len(batch)
        try:
            outcomes = self._write_apart(batch)
        except BaseException as exc:  # every waiter learns of the failure; none waits forever
            outcomes = [(None, exc)] * len(batch)
        for s, (result, error) in zip(batch, outcomes):
            s.result, s.error, s.done = result, error, True
            s.wake.set()

    def _write_apart(self, batch: list[_Slot]) -> list[tuple[Any, BaseException | None]]:
        """(result, error) per slot. One participant's malformed request (a value its checks
        let through, then the database refused) used to fail the whole group: every honest
        request written with it was answered `internal`. Halving the failed part instead
        finds the bad ones in about 2·log2(n) writes each, and everyone else is stored."""
        try:
            results = self._write([s.request for s in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"group commit: {len(results)} results for {len(batch)} requests")
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, self.shared_failures):
                return [(None, exc)] * len(batch)
            half = len(batch) // 2
            return self._write_apart(batch[:half]) + self._write_apart(batch[half:])
        return [(result, None) for result in results]
