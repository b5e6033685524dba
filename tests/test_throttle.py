"""The Coalescer (qa/web/throttle.py): one flush per interval per key, bursts merged, failures retried,
each turn given by a pace (qa/web/pacing.py): its own, the app's in this process, or one through Redis."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from flask import Flask, current_app

from qa.web.pacing import LocalPace, Pace, RedisPace, Turn
from qa.web.throttle import Coalescer

INTERVAL = 0.5
WAIT = 2.0  # seconds; the longest any test waits for a background flush


class Recorder:
    """A fake flush: records (time, key, items, app) and lets a test wait for calls."""

    def __init__(self, fail_first: bool = False, fail_always: bool = False) -> None:
        self.calls: list[tuple[float, int, set, object]] = []
        self._cond = threading.Condition()
        self._fail_first = fail_first
        self._fail_always = fail_always

    def __call__(self, app, key, items) -> None:
        with self._cond:
            self.calls.append((time.monotonic(), key, set(items), current_app._get_current_object()))
            self._cond.notify_all()
            if self._fail_always or (self._fail_first and len(self.calls) == 1):
                raise RuntimeError("broadcast failed")

    def wait(self, n: int, timeout: float = WAIT) -> list[tuple[float, int, set, object]]:
        """Wait until at least n calls happened; return them all."""
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.calls) >= n, timeout), self.calls
            return list(self.calls)


@pytest.fixture
def database_url(tmp_path) -> str:
    """The Coalescer never reads the database: one app on SQLite, not one per engine."""
    return f"sqlite:///{tmp_path / 'qa.sqlite3'}"


@pytest.fixture
def recorder():
    return Recorder()


class Spy:
    """The pace it wraps, with every take recorded: (name, key, interval, items asked with, turn)."""

    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self.takes: list[tuple[str, int, float, set, Turn]] = []

    def take(self, name: str, key: int, interval: float, items: set) -> Turn:
        asked = set(items)  # the pace may keep the caller's set
        turn = self.pace.take(name, key, interval, items)
        self.takes.append((name, key, interval, asked, turn))
        return turn

    def close(self) -> None:
        self.pace.close()


def make_pace(kind: str, request) -> Pace:
    if kind == "local":
        return LocalPace()
    if kind == "redis":
        return RedisPace(request.getfixturevalue("redis_url"), prefix=f"qa:test:{uuid.uuid4().hex[:8]}")
    assert kind == "no redis"
    return RedisPace("redis://127.0.0.1:1/0")  # nothing listens on port 1: each process on its own pace


@pytest.fixture
def app_pace(app, request):
    """Install the pace named by the test's parameter as the app's `qa_pace` (none for "own": a
    coalescer's own), and the app's own back after."""
    if request.param == "own":
        yield None
        return
    own = app.extensions["qa_pace"]
    app.extensions["qa_pace"] = pace = Spy(make_pace(request.param, request))
    yield pace
    app.extensions["qa_pace"] = own
    pace.close()


def test_first_item_flushes_at_once(app, recorder):
    """After a quiet spell the first item goes out immediately, in an app context of the given app."""
    c = Coalescer(INTERVAL, recorder)
    start = time.monotonic()
    c.add(app, 1, "a")
    (at, key, items, flask_app), = recorder.wait(1)
    assert at - start < INTERVAL / 2
    assert (key, items) == (1, {"a"})
    assert flask_app is app


@pytest.mark.parametrize("app_pace", ["own", "local", "redis", "no redis"], indirect=True)
def test_burst_is_merged_into_one_flush(app, recorder, app_pace):
    """Items arriving within the interval after a flush go out together, once, when it is up:
    whichever pace gives the turns (without Redis, each process on its own pace)."""
    c = Coalescer(INTERVAL, recorder, paced_as=None if app_pace is None else "votes")
    c.add(app, 7, "a")
    first = recorder.wait(1)[0][0]
    for item in ("b", "c", "d", "c"):
        c.add(app, 7, item)
    calls = recorder.wait(2)
    assert [(key, items) for _, key, items, _ in calls] == [(7, {"a"}), (7, {"b", "c", "d"})]
    assert calls[1][0] - first >= INTERVAL - 0.1
    time.sleep(INTERVAL + 0.1)
    assert len(recorder.calls) == 2  # nothing left over, no empty flush


def test_quiet_spell_resets(app, recorder):
    """Once the interval has passed without items, the next item again goes out at once."""
    c = Coalescer(INTERVAL, recorder)
    c.add(app, 1, "a")
    recorder.wait(1)
    time.sleep(INTERVAL + 0.05)
    start = time.monotonic()
    c.add(app, 1, "b")
    at, key, items, _ = recorder.wait(2)[1]
    assert at - start < INTERVAL / 2
    assert items == {"b"}


def test_keys_are_independent(app, recorder):
    """A burst held back on one key does not delay another key."""
    c = Coalescer(INTERVAL, recorder)
    c.add(app, 1, "a")
    recorder.wait(1)
    c.add(app, 1, "b")  # held for the interval
    start = time.monotonic()
    c.add(app, 2, "x")
    calls = recorder.wait(2)
    assert (calls[1][1], calls[1][2]) == (2, {"x"})
    assert calls[1][0] - start < INTERVAL / 2
    calls = recorder.wait(3)
    assert (calls[2][1], calls[2][2]) == (1, {"b"})


def test_add_without_item_still_flushes(app, recorder):
    """add() with no item (as presence uses it) schedules a flush with no items."""
    c = Coalescer(INTERVAL, recorder)
    c.add(app, 3)
    assert [(key, items) for _, key, items, _ in recorder.wait(1)] == [(3, set())]


def test_failed_flush_is_tried_again_and_does_not_stop_later_ones(app):
    """A flush that raises is logged and tried again with its items; later items still go out."""
    rec = Recorder(fail_first=True)
    c = Coalescer(INTERVAL, rec)
    c.add(app, 1, "a")
    rec.wait(1)
    c.add(app, 1, "b")
    assert set().union(*(items for _t, _k, items, _a in rec.wait(2)[1:])) >= {"a"}
    assert wait_until_idle(c)
    sent = set().union(*(items for _t, _k, items, _a in rec.calls[1:]))
    assert sent == {"a", "b"}


def test_a_flush_that_keeps_failing_is_given_up_after_its_retries(app):
    rec = Recorder(fail_always=True)
    c = Coalescer(INTERVAL, rec, retries=2)
    c.add(app, 1, "a")
    assert wait_until_idle(c)
    assert [items for _t, _k, items, _a in rec.calls] == [{"a"}] * 3


@pytest.mark.parametrize("app_pace", ["local", "redis"], indirect=True)
def test_processes_sharing_a_pace_flush_in_turn_and_lose_nothing(app, app_pace):
    """Two coalescers, as two processes behind Redis (or two sharing the pace of one), fed at once:
    together at most one flush per interval, and every item goes out exactly once, from one or the other."""
    rec = Recorder()
    a, b = Coalescer(0.2, rec, paced_as="votes"), Coalescer(0.2, rec, paced_as="votes")
    deadline, n = time.monotonic() + 1.5, 0
    while time.monotonic() < deadline and n < 1000:
        a.add(app, 5, 2 * n)  # even items from one process, odd from the other
        b.add(app, 5, 2 * n + 1)
        n += 1
        time.sleep(0.01)
    assert wait_until_idle(a) and wait_until_idle(b)
    time.sleep(0.3)  # a look again after the last slot, if one was scheduled
    assert wait_until_idle(a) and wait_until_idle(b)
    sent = [(t, items) for t, _k, items, _app in rec.calls if items]
    starts = [t for t, _ in sent]
    assert all(later - earlier >= 0.2 - 0.03 for earlier, later in zip(starts, starts[1:])), starts
    flat = [i for _, items in sent for i in items]
    assert sorted(flat) == list(range(2 * n))  # all of them, none twice


@pytest.mark.parametrize("app_pace", ["local", "redis"], indirect=True)
def test_each_flush_is_one_turn_of_the_apps_pace_whichever_it_is(app, recorder, app_pace):
    """A paced coalescer asks the app's pace, local or Redis, the same way: once per flush (after a
    turn it waits for the turn's end, not asking in vain), and flushes what the turn gives."""
    c = Coalescer(INTERVAL, recorder, paced_as="votes")
    c.add(app, 4, 1)
    recorder.wait(1)
    c.add(app, 4, 2)
    c.add(app, 4, 3)
    recorder.wait(2)
    time.sleep(INTERVAL + 0.1)  # the turn's end, after which nothing is left to ask for
    assert wait_until_idle(c)
    assert [items for _t, _k, items, _a in recorder.calls] == [{1}, {2, 3}]
    assert [(name, key, interval, asked, turn.go) for name, key, interval, asked, turn in app_pace.takes] == [
        ("votes", 4, INTERVAL, {1}, True), ("votes", 4, INTERVAL, {2, 3}, True)]
    assert [turn.items for *_, turn in app_pace.takes] == [{1}, {2, 3}]


def test_a_coalescer_of_its_own_pace_never_asks_the_apps(app, recorder):
    """Presence, submissions and orders are each process's own, even behind Redis."""
    spy = app.extensions["qa_pace"] = Spy(app.extensions["qa_pace"])
    c = Coalescer(INTERVAL, recorder)
    c.add(app, 1, "a")
    recorder.wait(1)
    assert spy.takes == []


def test_forget_starts_the_next_app_afresh(app, recorder):
    """After forget() (a new app) an event's next item goes out at once and in that app, even while
    a task of the earlier one waits out its turn for the same key (each test's event ids start at 1)."""
    c = Coalescer(INTERVAL, recorder)
    c.add(app, 1, "a")
    recorder.wait(1)
    c.forget()
    other = Flask("other")
    start = time.monotonic()
    c.add(other, 1, "b")
    at, key, items, flask_app = recorder.wait(2)[1]
    assert at - start < INTERVAL / 2
    assert (key, items, flask_app) == (1, {"b"}, other)
    time.sleep(INTERVAL + 0.1)
    assert len(recorder.calls) == 2 and wait_until_idle(c)


def wait_until_idle(c: Coalescer, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not c.idle():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# --- the event as joins see it ---------------------------------------------------------
