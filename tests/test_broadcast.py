"""What qa/web/broadcast.py sends, and when: the paced order, new questions in scoring chunks, and a
fresh start for each app."""
from __future__ import annotations

import time

from qa.extensions import db
from qa.web import broadcast
from qa.web.join_cache import event_cache
from qa.web.presence import Client, presence


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
    # `orders` keeps its turns in a pace of its own; `votes` in the app's, shared by the processes.
    assert broadcast.orders._own._ends and app.extensions["qa_pace"]._ends and event_cache._events

    other = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "other"),
                        "QA_ENV": make_env(f"sqlite:///{tmp_path / 'other.sqlite3'}")})
    try:
        assert presence.counts(eid) == {"participants": 0, "moderators": 0, "screens": 0}
        assert presence.clients == {}
        assert not broadcast.orders._own._ends  # no pace carried over
        assert other.extensions["qa_pace"] is not app.extensions["qa_pace"]
        assert not other.extensions["qa_pace"]._ends
        assert not event_cache._events
        assert broadcast.orders.interval == broadcast.ORDER_INTERVAL  # this app set none
    finally:
        db.engine_of(other).dispose()
