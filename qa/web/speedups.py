"""Every place the app reaches into its libraries' internals for speed, behind one switch.

`QA_SPEEDUPS=off` turns all of them off and the app runs on the libraries as shipped:
the way to tell whether a fault is ours or theirs, and what an upgrade falls back to when
`check_internals()` reports that an internal these rely on changed shape (the suite runs
once with them off, and tests/test_speedups.py checks the shapes). What each one saved is
measured in docs/benchmarks.md; each keeps a line or two of why here.

- `Packet`: python-socketio's packet, with a plain loop for `data_is_binary` and JSON
  encoded once for a value many packets share (`PreEncoded`: the public question list a
  join storm sends to every join). Passed as python-socketio's `serializer`, a documented
  hook, but overriding `encode` and `data_is_binary`, which are not.
- `EventContext`: Flask matches a Socket.IO connection's path to its route once, not per
  event (Werkzeug's matcher leaves a reference cycle per match).
- `install_socketio_routes`: a route for the Socket.IO path, so that no event's request
  context holds a NotFound and its traceback in a cycle.
- `tune_collector` and `collect_when_quiet`: the cycle collector's thresholds, frozen
  start-up objects, and young generations collected in a pause of the traffic.

Not here, because they are not optional: qa/web/inbound.py (what a client may send) and
qa/web/websocket.py (the threading and gevent modes' WebSocket); run.py's listener (one per port).
"""
from __future__ import annotations

import gc
import inspect
import json
from typing import Any, Callable

from flask import Flask
from flask.ctx import RequestContext
from socketio import packet

SOCKETIO_PATH = "/socket.io/"  # python-socketio's default, which the contract keeps

# The internals relied on, as (what, the object, its parameters as the pinned versions have them).
INTERNALS = (
    ("socketio.packet.Packet.encode", packet.Packet.encode, ["self"]),
    ("socketio.packet.Packet.data_is_binary", packet.Packet.data_is_binary, ["data"]),
    ("flask.ctx.RequestContext.match_request", RequestContext.match_request, ["self"]),
    ("flask.Flask.request_context", Flask.request_context, ["self", "environ"]),
)


def check_internals() -> list[str]:
    """What changed shape among the internals these speedups override: [] when none did."""
    problems = []
    for name, obj, expected in INTERNALS:
        params = list(inspect.signature(obj).parameters)
        if params != expected:
            problems.append(f"{name}{tuple(params)} is no longer {name}{tuple(expected)}")
    if not hasattr(packet.Packet, "json") or not hasattr(packet.Packet.json, "dumps"):
        problems.append("socketio.packet.Packet.json.dumps is gone")
    return problems


def enabled(app: Flask) -> bool:
    return bool(app.config.get("SPEEDUPS", True))


# --- Socket.IO packets ------------------------------------------------------------------


def dumps(value: Any) -> str:
    """JSON as python-socketio writes it (compact separators), PreEncoded parts copied in."""
    if isinstance(value, PreEncoded):
        return value.text
    if isinstance(value, dict) and _holds_pre_encoded(value.values()):
        return "{" + ",".join(f"{json.dumps(_key(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list) and _holds_pre_encoded(value):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value, separators=(",", ":"))


class PreEncoded:
    """A JSON value encoded once and sent as is in every packet that carries it.

    Only as an event's argument or as a value in an argument's dict (a snapshot's
    `questions`), which is where a shared value sits; the value must not change afterwards.
    Only in emits that skip the message queue (`ignore_queue=True`): the queue carries JSON.
    """

    __slots__ = ("text",)

    def __init__(self, value: Any) -> None:
        self.text = json.dumps(value, separators=(",", ":"))

    def __repr__(self) -> str:
        return f"PreEncoded({self.text[:40]!r}{'…' if len(self.text) > 40 else ''})"


def shared(value: Any, app: Flask) -> Any:
    """`value` as many packets will carry it: encoded once, or as is with the speedups off."""
    return PreEncoded(value) if enabled(app) else value


def _key(k: Any) -> str:
    if not isinstance(k, str):
        raise TypeError(f"a dict holding PreEncoded values needs str keys, not {k!r}")
    return k


def _holds_pre_encoded(values) -> bool:
    """A PreEncoded among these values, or among the values of a dict among them."""
    for v in values:
        if isinstance(v, PreEncoded):
            return True
        if isinstance(v, dict) and any(isinstance(w, PreEncoded) for w in v.values()):
            return True
    return False


class Packet(packet.Packet):
    """Encoding a join's snapshot was over half of a join storm's CPU: the stock walk for
    bytes (a list and a lambda per container) and the same list JSON-encoded per join."""

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        # The stock answer (bytes or bytearray anywhere in lists and dicts), without recursion.
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, (bytes, bytearray)):
                return True
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return False

    def encode(self):
        if (self.packet_type not in (packet.EVENT, packet.ACK) or self.data is None
                or not (isinstance(self.data, list) and _holds_pre_encoded(self.data))):
            return super().encode()
        # As the stock encode writes a packet without attachments.
        encoded = str(self.packet_type)
        if self.namespace is not None and self.namespace != "/":
            encoded += self.namespace + ","
        if self.id is not None:
            encoded += str(self.id)
        return encoded + dumps(self.data)


def packet_base(app: Flask) -> type[packet.Packet]:
    return Packet if enabled(app) else packet.Packet


# --- Flask request contexts -------------------------------------------------------------

_MATCHED = "qa.matched"  # environ key: (url_rule, view_args) of the first successful match


class EventContext(RequestContext):
    """Flask-SocketIO pushes a context made from a socket's handshake environ for every event;
    the path and the routes do not change while the socket lives, so the first match is kept."""

    def match_request(self) -> None:
        if not enabled(self.app):
            return super().match_request()
        environ = self.request.environ
        matched = environ.get(_MATCHED)
        if matched is not None:
            self.request.url_rule, view_args = matched
            self.request.view_args = dict(view_args)  # a context may change its own copy
            return
        super().match_request()
        if self.request.routing_exception is None:
            environ[_MATCHED] = (self.request.url_rule, dict(self.request.view_args or {}))


class App(Flask):
    def request_context(self, environ: dict) -> RequestContext:
        return EventContext(self, environ)


def install_socketio_routes(app: Flask, view: Callable) -> None:
    """Without a route for the Socket.IO path every event's context kept a NotFound with its
    traceback, ~57 objects per vote left for the cycle collector. The Socket.IO middleware
    answers the path before Flask does, so `view` runs only if that middleware is missing.
    Werkzeug matches a WebSocket handshake only to a rule marked for WebSockets."""
    if not enabled(app):
        return
    app.add_url_rule(SOCKETIO_PATH, "socketio", view, methods=["GET", "POST"], strict_slashes=False)
    app.add_url_rule(SOCKETIO_PATH, "socketio", view, methods=["GET"], strict_slashes=False, websocket=True)


# --- the cycle collector ------------------------------------------------------------------

# CPython's default thresholds (700, 10, 10) ran a full collection every second of a join
# storm, 65-220 ms each; what exists once the app is ready lives as long as the process.
GC_THRESHOLDS = (50_000, 20, 10)
# A burst leaves young objects that live on; collected when no event was handled for
# QUIET_CHECK seconds rather than in the next burst, as a 50-60 ms pause.
QUIET_CHECK = 0.5
QUIET_YOUNG = 10_000


def tune_collector(app: Flask) -> bool:
    """Freeze what start-up made and raise the thresholds; False (nothing done) when off."""
    if not enabled(app):
        return False
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return True


def collect_when_quiet(sleep: Callable[[float], Any], handled: Callable[[], int],
                       count: Callable[[], tuple[int, int, int]] = gc.get_count,
                       collect: Callable[[int], Any] = gc.collect) -> None:
    """Collect the young generations (0 and 1) in a pause of the traffic, not in the next burst.

    `handled()` counts the events handled so far; unchanged after QUIET_CHECK seconds means quiet.
    """
    seen = handled()
    while True:
        sleep(QUIET_CHECK)
        now = handled()
        if now == seen and count()[0] >= QUIET_YOUNG:
            collect(1)
        seen = now
