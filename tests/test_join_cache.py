"""What joins read, built once (qa/web/join_cache.py)."""
from __future__ import annotations

import contextlib
import threading
import time

import pytest
import socketio
from sqlalchemy.orm import Session

from conftest import approved_questions
from qa.domain import events as events_domain
from qa.extensions import db
from qa.web import join_cache
from qa.web.join_cache import EventCache


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


def test_an_event_read_while_it_changed_is_not_kept(app, event, monkeypatch):
    """A join read the event, a moderator's update was committed and forgotten before the join
    stored it: stored, every join for the next TTL was sent the event as it was."""
    cache = EventCache(ttl=3600, clock=lambda: 1000.0)
    real = join_cache.find_event

    def read_then_changed(session, code):
        found = real(session, code)
        monkeypatch.setattr(join_cache, "find_event", real)
        with Session(session.get_bind()) as other:  # the moderator's request, in another thread
            events_domain.update_event(other, event["id"], {"submissions_open": False})
        cache.forget(event["id"])
        return found

    monkeypatch.setattr(join_cache, "find_event", read_then_changed)
    with app.app_context():
        assert cache.get(db.session, event["code"])[1]["submissions_open"] is True  # read first
        assert cache.get(db.session, event["code"])[1]["submissions_open"] is False


def _on_air(messages: list) -> int | None:
    """The question a screen shows on air after `messages` (its snapshots and updates), as screen.js does."""
    live = None
    for name, data in messages:
        if name == "snapshot":
            live = next((q["id"] for q in data["questions"] if q.get("live")), None)
        elif name == "question:update" and data["question"].get("live"):
            live = data["question"]["id"]
        elif name in ("question:update", "question:remove") and live == (data.get("question") or data)["id"]:
            live = None
    return live


def _received(client: socketio.SimpleClient) -> list[tuple[str, dict]]:
    """What `client` has received and not yet been asked for."""
    messages = []
    while True:
        try:
            messages.append(tuple(client.receive(timeout=0.01)))
        except socketio.exceptions.TimeoutError:
            return messages


def test_screens_joining_as_questions_go_live_all_end_on_the_one_on_air():
    """Real screens join in bursts while the moderator puts one question after another on air.
    Under the threading server a join's read and the moderator's commit interleave, as they do
    in production; a join that cached the list read just before the change then sent it again
    as its "fresh" snapshot: about one screen in ten kept the question before on air."""
    asked = [(i, "finance", f"How do payments work, part {i}?") for i in range(4)]
    with approved_questions("j", asked, QA_RATE_LIMITS="off") as (server, ev, moderator, ids), \
            contextlib.ExitStack() as closing:

        def screen() -> socketio.SimpleClient:
            c = socketio.SimpleClient()
            c.connect(server.url, auth={"event": ev["code"], "role": "screen"}, transports=["websocket"],
                      wait_timeout=10)
            closing.callback(c.disconnect)
            return c

        wrong = []
        for burst in range(12):
            screens: list[socketio.SimpleClient] = []
            joins = [threading.Thread(target=lambda: screens.append(screen())) for _ in range(8)]
            for t in joins:
                t.start()
            on_air = ids[burst % len(ids)]
            assert moderator.call("question:moderate", {"id": on_air, "action": "live"}, timeout=10)["ok"]
            for t in joins:
                t.join(timeout=10)
            assert len(screens) == 8
            time.sleep(0.5)  # the joins' snapshots and the broadcast delivered
            for s in screens:
                messages = _received(s)
                if _on_air(messages) != on_air:
                    wrong.append((burst, on_air, [(n, d if n != "snapshot" else "…") for n, d in messages]))
                s.disconnect()
        assert wrong == []
