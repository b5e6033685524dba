"""What joins read, built once (qa/web/join_cache.py)."""
from __future__ import annotations

import pytest

from qa.domain import events as events_domain
from qa.extensions import db
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

# --- presence ---------------------------------------------------------------------
