"""The Flask app class: request contexts that match a Socket.IO connection's path once.

Flask-SocketIO runs every Socket.IO event in a request context made from the
connection's handshake environ, and Flask matches its path to a route on each
push. Werkzeug's matcher builds a recursive closure per match: a reference cycle
of 8 objects that only the cycle collector frees. In a vote storm that was ~11,700
objects a second, a young-generation collection of ~40,000 every ~3.5 s, each a
50-80 ms pause of the whole server (docs/benchmarks.md, sixth pass). The handshake's
path and the routes do not change while the socket lives, so the first match is
kept in its environ and reused by every later event.
"""
from __future__ import annotations

from flask import Flask
from flask.ctx import RequestContext

_MATCHED = "qa.matched"  # environ key: (url_rule, view_args) of the first successful match


class EventContext(RequestContext):
    def match_request(self) -> None:
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
