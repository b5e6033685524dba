"""Who is connected, and the counts the moderators see (qa/web/presence.py)."""
from __future__ import annotations

import time

from conftest import received
from qa.domain import events as events_domain
from qa.extensions import db
from qa.web.presence import PRESENCE_INTERVAL, presence

WAIT = 2.0  # seconds; the longest any test waits for an announcement


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
