"""Broadcast helpers: the Coalescer (qa/web/throttle.py), presence counts (qa/web/presence.py), the join
caches (qa/web/join_cache.py) and what qa/web/broadcast.py sends."""
from __future__ import annotations

import threading
import time

import pytest
from flask import current_app

from conftest import received
from qa.domain import events as events_domain
from qa.extensions import db
from qa.web import broadcast
from qa.web.join_cache import EventCache, event_cache
from qa.web.presence import PRESENCE_INTERVAL, Client, presence
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
def recorder():
    return Recorder()


def test_first_item_flushes_at_once(app, recorder):
    """After a quiet spell the first item goes out immediately, in an app context of the given app."""
    c = Coalescer(INTERVAL, recorder)
    start = time.monotonic()
    c.add(app, 1, "a")
    (at, key, items, flask_app), = recorder.wait(1)
    assert at - start < INTERVAL / 2
    assert (key, items) == (1, {"a"})
    assert flask_app is app


def test_burst_is_merged_into_one_flush(app, recorder):
    """Items arriving within the interval after a flush go out together, once, when it is up."""
    c = Coalescer(INTERVAL, recorder)
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


def test_processes_sharing_a_pace_flush_in_turn_and_lose_nothing(app, redis_url):
    """Two coalescers, as two processes behind Redis, fed at once: together at most one flush
    per interval, and every item goes out exactly once, from one or the other."""
    import uuid

    from qa.web.pacing import RedisPace

    app.extensions["qa_pace"] = RedisPace(redis_url, prefix=f"qa:test:{uuid.uuid4().hex[:8]}")
    rec = Recorder()
    a, b = Coalescer(0.2, rec, paced_as="votes"), Coalescer(0.2, rec, paced_as="votes")
    try:
        deadline, n = time.monotonic() + 1.5, 0
        while time.monotonic() < deadline and n < 1000:
            a.add(app, 5, 2 * n)  # even items from one process, odd from the other
            b.add(app, 5, 2 * n + 1)
            n += 1
            time.sleep(0.01)
        assert wait_until_idle(a) and wait_until_idle(b)
        time.sleep(0.3)  # a look again after the last slot, if one was scheduled
        assert wait_until_idle(a) and wait_until_idle(b)
    finally:
        app.extensions.pop("qa_pace").close()
    sent = [(t, items) for t, _k, items, _app in rec.calls if items]
    starts = [t for t, _ in sent]
    assert all(later - earlier >= 0.2 - 0.03 for earlier, later in zip(starts, starts[1:])), starts
    flat = [i for _, items in sent for i in items]
    assert sorted(flat) == list(range(2 * n))  # all of them, none twice


def wait_until_idle(c: Coalescer, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not c.idle():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# --- the event as joins see it ---------------------------------------------------------


def test_joins_share_the_event_until_it_changes_here_or_its_time_is_up(app, event):
    clock = [1000.0]
    cache = EventCache(ttl=1.0, clock=lambda: clock[0])
    with app.app_context():
        session = db.session
        eid, first = cache.get(session, event["code"])
        assert eid == event["id"] and first["title"] == "Test webinar"
        assert cache.get(session, f" {event['code'].lower()} ")[1] is first  # codes are forgiving
        ev = events_domain.update_event(session, event["id"], {"submissions_open": False})
        assert cache.get(session, event["code"])[1] is first  # changed elsewhere: kept for the TTL
        clock[0] += 1.0
        assert cache.get(session, event["code"])[1]["submissions_open"] is False
        events_domain.update_event(session, event["id"], {"submissions_open": True})
        cache.forget(ev.id)  # what broadcast.event_updated does for a change made here
        assert cache.get(session, event["code"])[1]["submissions_open"] is True
        with pytest.raises(events_domain.DomainError) as err:
            cache.get(session, "NOPE42")
        assert err.value.code == "not_found"


# --- presence ---------------------------------------------------------------------


def _plus(base: dict, **more: int) -> dict:
    return {k: base[k] + more.get(k, 0) for k in base}


def test_presence_counts(connect, event):
    """Connections are counted by event and role, and uncounted on disconnect."""
    base = presence.counts(event["id"])
    assert set(base) == {"participants", "moderators", "screens"}
    p1, p2 = connect("participant"), connect("participant")
    m, s = connect("moderator"), connect("screen")
    assert presence.counts(event["id"]) == _plus(base, participants=2, moderators=1, screens=1)
    p1.disconnect()
    s.disconnect()
    assert presence.counts(event["id"]) == _plus(base, participants=1, moderators=1)
    p2.disconnect()
    m.disconnect()
    assert presence.counts(event["id"]) == base


def test_presence_reaches_moderators_only(app, connect, event):
    """Moderators get presence counts (their snapshot, then `presence`); participants and screens never."""
    with app.app_context():
        other = events_domain.create_event(db.session, {"title": "Other"})
        other_code, other_id = other.code, other.id
    base = presence.counts(event["id"])
    m = connect("moderator")
    snap = received(m, "snapshot")[0]
    assert snap["presence"] == _plus(base, moderators=1)
    p, s = connect("participant"), connect("screen")
    connect("participant", event=other_code)  # another event's: not counted here
    want = _plus(base, moderators=1, participants=1, screens=1)
    seen = []
    deadline = time.monotonic() + PRESENCE_INTERVAL + WAIT
    while want not in seen and time.monotonic() < deadline:
        seen += received(m, "presence")
        time.sleep(0.02)
    assert want in seen, seen
    assert presence.counts(other_id)["participants"] >= 1
    assert received(p, "presence") == [] and received(s, "presence") == []
    p.disconnect()
    want = _plus(base, moderators=1, screens=1)
    deadline = time.monotonic() + PRESENCE_INTERVAL + WAIT
    while want not in seen and time.monotonic() < deadline:
        seen += received(m, "presence")
        time.sleep(0.02)
    assert want in seen, seen


def test_queue_order_after_a_burst_of_approvals_goes_out_once_more_not_per_approval(connect, monkeypatch):
    """Each approval's question:update leaves at once; queue:order at most every ORDER_INTERVAL,
    the last one with every approved id in order (the fan-out to thousands paid twice for it)."""
    monkeypatch.setattr(broadcast.orders, "interval", broadcast.ORDER_INTERVAL)  # conftest shortens it
    p, m, s = connect("participant"), connect("moderator"), connect("screen")
    ids = [p.emit("question:submit", {"client_id": str(i), "theme": "other", "text": f"Question {i}"},
                  callback=True)["question"]["id"] for i in range(5)]
    assert broadcast.settle()
    s.get_received()
    start = time.monotonic()
    for qid in ids:
        assert m.emit("question:moderate", {"id": qid, "action": "approve"}, callback=True)["ok"]
    at_once = s.get_received()
    assert [x["args"][0]["question"]["id"] for x in at_once if x["name"] == "question:update"] == ids
    assert broadcast.settle(timeout=broadcast.ORDER_INTERVAL + 5)
    orders = [x["args"][0]["ids"] for x in at_once + s.get_received() if x["name"] == "queue:order"]
    assert 1 <= len(orders) <= 2, orders
    assert orders[-1] == ids
    if len(orders) == 2:  # the first went at once; the rest of the burst waited out the interval
        assert time.monotonic() - start >= broadcast.ORDER_INTERVAL * 0.9


def test_a_burst_bigger_than_a_scoring_chunk_reaches_the_moderators_whole(connect, monkeypatch):
    """_flush_submissions scores a burst in chunks, yielding between them; nothing is lost
    or sent twice, and the later questions are scored against the earlier ones."""
    monkeypatch.setattr(broadcast, "SIMILARITY_CHUNK", 4)
    monkeypatch.setattr(broadcast.submissions, "interval", 0.5)  # one burst, gathered
    p, m = connect("participant"), connect("moderator")
    assert broadcast.settle()
    m.get_received()
    ids = [p.emit("question:submit", {"client_id": str(i), "theme": "finance",
                                      "text": f"Cross-border payment fees for small exporters, case {i}"},
                  callback=True)["question"]["id"] for i in range(11)]
    assert broadcast.settle()
    new = [x["args"][0]["question"] for x in m.get_received() if x["name"] == "question:new"]
    assert sorted(q["id"] for q in new) == ids
    last = next(q for q in new if q["id"] == ids[-1])
    assert {s["id"] for s in last["similar"]} & set(ids[:-1])


# --- one app's state is not the next one's ----------------------------------------------------


def test_a_new_app_starts_with_no_presence_cache_or_pace_left_by_the_last(app, event, tmp_path):
    """Module-level state is reset per app: event ids repeat from one test's database to the next,
    and what an earlier test counted or timed for event 1 changed what a later one saw."""
    from conftest import ORDER_INTERVAL, make_env
    from qa import create_app

    eid = event["id"]
    assert broadcast.orders.interval == ORDER_INTERVAL  # the conftest app's own, not the module's
    presence.join("left-by-the-last-app", Client(event_id=eid, role="participant"))
    with app.app_context():
        event_cache.get(db.session, event["code"])
    broadcast.orders.add(app, eid)
    broadcast.votes.add(app, eid)
    assert broadcast.settle()
    assert broadcast.orders._last and broadcast.votes._last and event_cache._events

    other = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "other"),
                        "QA_ENV": make_env(f"sqlite:///{tmp_path / 'other.sqlite3'}")})
    try:
        assert presence.counts(eid) == {"participants": 0, "moderators": 0, "screens": 0}
        assert presence.clients == {}
        assert not broadcast.orders._last and not broadcast.votes._last  # no pace carried over
        assert not event_cache._events
        assert broadcast.orders.interval == broadcast.ORDER_INTERVAL  # this app set none
    finally:
        with other.app_context():
            db.engine.dispose()
