"""qa/web/contexts.py: a Socket.IO connection's environ is matched to its route once."""
from __future__ import annotations

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import MapAdapter
from werkzeug.test import EnvironBuilder

from qa.web.sockets import SOCKETIO_PATH

WEBSOCKET = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


@pytest.fixture
def matches(monkeypatch) -> list:
    """Every call of Werkzeug's matcher, by path."""
    calls: list[str] = []
    original = MapAdapter.match

    def counting(self, path_info=None, *args, **kwargs):
        calls.append(path_info or self.path_info)
        return original(self, path_info, *args, **kwargs)

    monkeypatch.setattr(MapAdapter, "match", counting)
    return calls


@pytest.mark.parametrize("transport, headers", [("polling", {}), ("websocket", WEBSOCKET)])
def test_every_event_of_a_socket_reuses_the_first_match(app, matches, transport, headers):
    environ = EnvironBuilder(path=SOCKETIO_PATH, query_string={"EIO": "4", "transport": transport},
                             headers=headers).get_environ()
    rules = []
    for _ in range(3):  # what Flask-SocketIO does for each event: a context from the same environ
        with app.request_context(environ) as ctx:
            assert ctx.request.routing_exception is None
            rules.append(ctx.request.url_rule)
    assert len(matches) == 1
    assert rules[0] is rules[1] is rules[2] and rules[0].endpoint == "socketio"


def test_a_failed_match_is_tried_again_and_still_fails(app, matches):
    environ = EnvironBuilder(path="/no/such/page").get_environ()
    for _ in range(2):
        with app.request_context(environ) as ctx:
            assert isinstance(ctx.request.routing_exception, NotFound)
            assert ctx.request.url_rule is None
    assert len(matches) == 2


def test_each_context_gets_its_own_view_args(app, matches):
    environ = EnvironBuilder(path="/e/ABC123").get_environ()
    with app.request_context(environ) as ctx:
        assert ctx.request.view_args == {"code": "ABC123"}
        ctx.request.view_args.pop("code")  # as a url_value_preprocessor may
    with app.request_context(environ) as ctx:
        assert ctx.request.view_args == {"code": "ABC123"}
    assert len(matches) == 1


def test_requests_still_reach_their_views(client, event):
    assert client.get(f"/e/{event['code']}").status_code == 200
    assert client.get("/no/such/page").status_code == 404
