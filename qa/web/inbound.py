"""What a client may send before any handler sees it: readable packets, named events, and
never the server's own event names.

python-socketio dispatches a client's event by its name through the same table as its
own lifecycle calls, so a socket that sent an event named `connect` ran the connect
handler again (a ghost in the head count, and in the per-address count behind a proxy),
and one named `disconnect` ran the disconnect handler with any reason it liked (the
socket dropped from the count while still connected, its reason a new metric label).
Flask-SocketIO's catch-all `*` takes its own first argument as the socket id, so an event
named `*` was run in the context of whatever id the client wrote there; a name that is not
a string (a list, an object) failed with a TypeError inside the library. There is no hook
for this in either library: the server's `_handle_event`, the one place every EVENT and
BINARY_EVENT packet goes through, is wrapped once per server here, and a refused event is
answered as an unknown one, through the `REFUSED` handler, so its ack is an ordinary one.
"""
from __future__ import annotations

import inspect
import logging
from typing import Any

from flask import Flask
from socketio import packet

from . import speedups

log = logging.getLogger(__name__)

# The server's own names (python-socketio's lifecycle and Flask-SocketIO's catch-all);
# python-socketio's client keeps the same list as `reserved_events` for the other side.
RESERVED = frozenset({"connect", "disconnect", "connect_error", "*"})
# The event a refused packet is turned into; its handler answers `bad_request`.
REFUSED = "qa:refused"
NAME_LIMIT = 60  # characters of a refused name kept for the error message


class _RefusingDecode:
    """A packet as python-socketio decodes it, but a client's packet that breaks the protocol
    becomes the client leaving, not an exception inside the server.

    python-socketio raises on a malformed packet (a bad attachment count, an id or JSON it
    cannot read, a CONNECT_ERROR or unknown type from a client) and python-engineio logs each
    with a traceback, as many as a client cares to send. No event of this app takes binary
    data, so a binary packet (and the attachments that follow it, which then arrive as
    packets of their own) is such a packet too: no placeholder is ever looked up.
    """

    ACCEPTED = (packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK)

    def decode(self, encoded_packet: Any) -> int:
        problem = None
        if not isinstance(encoded_packet, str):
            problem = "binary data"
        else:
            try:
                super().decode(encoded_packet)
            except (ValueError, TypeError, RecursionError) as exc:  # JSONDecodeError is a ValueError; nesting
                problem = f"unreadable packet ({exc.__class__.__name__})"
            else:
                if self.packet_type not in self.ACCEPTED:
                    problem = f"packet type {self.packet_type!r}"
        if problem is not None:
            log.warning("a client broke the Socket.IO protocol (%s): it is disconnected", problem)
            self.packet_type, self.namespace, self.id, self.data = packet.DISCONNECT, None, None, None
        return 0  # attachments: none, ever


class InboundPacket(_RefusingDecode, speedups.Packet):
    pass


class InboundStockPacket(_RefusingDecode, packet.Packet):
    pass


def packet_class(app: Flask) -> type[packet.Packet]:
    """python-socketio's `serializer` for this app: with or without the speedups' encoding."""
    return InboundPacket if speedups.enabled(app) else InboundStockPacket


class LibraryChanged(RuntimeError):
    """python-socketio no longer has the method this guard wraps: check it before upgrading."""


def refused_name(data: Any) -> str | None:
    """Why an EVENT packet's `data` may not be dispatched: the reserved name it uses, "" if it
    has no name that is a string; None if it may."""
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        return ""
    name = data[0]
    return name if name in RESERVED or name == REFUSED else None


def guard(server: Any) -> None:
    """Wrap `server._handle_event` (python-socketio's Server) once with the name check."""
    handle = getattr(server, "_handle_event", None)
    if handle is None:
        raise LibraryChanged("socketio.Server._handle_event is gone: qa/web/inbound.py needs a new hook")
    if getattr(handle, "_qa_guarded", False):
        return
    params = list(inspect.signature(handle).parameters)
    if params != ["eio_sid", "namespace", "id", "data"]:
        raise LibraryChanged(f"socketio.Server._handle_event{tuple(params)} changed shape: "
                             "qa/web/inbound.py needs updating")

    def _handle_event(eio_sid: str, namespace: str | None, id: int | None, data: Any) -> Any:
        name = refused_name(data)
        if name is not None:
            data = [REFUSED, name[:NAME_LIMIT]]
        return handle(eio_sid, namespace, id, data)

    _handle_event._qa_guarded = True  # type: ignore[attr-defined]
    server._handle_event = _handle_event
