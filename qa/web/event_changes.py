"""An organiser changed an event: tell its sockets. One function for the console, /api/admin and the CLI.

In the server it reaches this process's sockets, and the other processes' through the
message queue. The CLI is a process without sockets: with QA_MESSAGE_QUEUE set its
messages go through the queue to the servers (Flask-SocketIO's "emitting from an
external process"); without one there is no one to tell.
"""
from __future__ import annotations

from ..extensions import socketio
from ..models import Event
from . import broadcast
from .join_cache import event_cache
from .presence import presence
from .rooms import everyone, moderators

# What an organiser can do to an event, as far as its sockets are concerned.
CHANGES = ("updated", "token", "deleted")


def event_changed(event: Event | int, change: str = "updated") -> int:
    """Tell the event's sockets; returns how many of this process's sockets were closed.

    updated: everyone gets `event:update` (title, themes, open or closed…); needs the Event.
    token: the moderator token changed, the moderators' sockets are closed (`moderator:revoked`).
    deleted: every socket of the event is closed (`event:closed`); an id is enough.
    """
    if change not in CHANGES:
        raise ValueError(f"unknown change {change!r}: one of {', '.join(CHANGES)}")
    if change == "updated":
        if not isinstance(event, Event):
            raise TypeError("an update needs the Event itself, to send its new state")
        broadcast.event_updated(event)
        return 0
    event_id = event.id if isinstance(event, Event) else event
    return _disconnect(event_id, "moderator" if change == "token" else None)


def _disconnect(event_id: int, role: str | None) -> int:
    """Close the event's sockets (its moderators only, unless role is None).

    This process's sockets are disconnected here. With several processes, the others'
    moderator sockets are taken out of the moderators' room through the message queue
    (so they stop receiving pending questions at once), told `moderator:revoked` (the
    page leaves), and refused and disconnected at their next action (qa/web/sockets.py
    checks the token before each one).
    """
    if role == "moderator":
        room = moderators(event_id)
    else:
        room = everyone(event_id)
        event_cache.forget(event_id)  # closed or deleted: no join from the cache
    socketio.emit("moderator:revoked" if role == "moderator" else "event:closed", {}, to=room)
    socketio.close_room(room)
    sids = [
        sid for sid, client in list(presence.clients.items())
        if client.event_id == event_id and (role is None or client.role == role)
    ]
    for sid in sids:
        socketio.server.disconnect(sid)
    return len(sids)
