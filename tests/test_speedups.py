"""qa/web/speedups.py: the same bytes on the wire and the same routes as the libraries as
shipped, internals of the shapes overridden, and a switch that turns every speedup off."""
from __future__ import annotations

import collections
import gc
import json

import pytest
from flask import Flask
from socketio import packet as stock
from werkzeug.exceptions import NotFound
from werkzeug.routing import MapAdapter
from werkzeug.test import EnvironBuilder

from conftest import make_env, received
from qa import create_app, schema
from qa.domain import events as events_domain
from qa.extensions import db, socketio
from qa.web import inbound, speedups
from qa.web.speedups import SOCKETIO_PATH, Packet, PreEncoded, dumps



@pytest.fixture
def app(database_url, tmp_path):
    """These tests are of the speedups themselves: on, whatever QA_SPEEDUPS says for the suite."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "QA_ENV": make_env(database_url, QA_SPEEDUPS="on")})
    schema.upgrade(db.engine_of(app))
    yield app
    from qa.web import broadcast

    assert broadcast.settle(), "a broadcast flush was still running 5 s after the test"
    db.engine_of(app).dispose()


# --- packets -------------------------------------------------------------------------------

QUESTIONS = [{"id": i, "theme": "finance", "text": f"Question «{i}» \u202e\"quoted\" \\ </script>",
              "name": None if i % 2 else "Aïcha", "status": "approved", "votes": i, "live": i == 3,
              "created_at": "2026-11-29T08:00:00+00:00"} for i in range(1, 6)]
PAYLOADS = [
    None, "text", 5, [], {}, [1, "two", None, True, 2.5],
    {"event": {"code": "ABC123", "themes": [{"key": "other", "label": "Other issues"}]},
     "questions": QUESTIONS, "participant": "token"},
    {"counts": {"1": 3, "2": 0}}, [[{"deep": [{"deeper": {}}]}]],
]


@pytest.mark.parametrize("data", [
    b"x", bytearray(b"x"), [1, b"x"], {"a": {"b": [b"x"]}}, [[[[bytearray(b"")]]]],
    "x", 1, None, [], {}, [1, {"a": ["b", {"c": None}]}], {"a": ("tuple", b"not walked, as upstream")},
])
def test_binary_detection_answers_as_python_socketio_does(data):
    assert Packet.data_is_binary(data) == stock.Packet.data_is_binary(data)


def test_deep_payloads_do_not_recurse():
    deep: list = []
    for _ in range(5000):  # deeper than the recursion limit of the stock walk
        deep = [deep]
    assert Packet.data_is_binary(deep) is False


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("packet_type, pid", [(stock.EVENT, None), (stock.EVENT, 7), (stock.ACK, 7)])
@pytest.mark.parametrize("namespace", [None, "/", "/admin"])
def test_packets_without_shared_parts_are_encoded_as_upstream(payload, packet_type, pid, namespace):
    data = ["snapshot", payload] if packet_type == stock.EVENT else [payload]
    ours = Packet(packet_type, data=data, namespace=namespace, id=pid).encode()
    assert ours == stock.Packet(packet_type, data=data, namespace=namespace, id=pid).encode()


@pytest.mark.parametrize("namespace, pid", [(None, None), ("/admin", 12)])
def test_a_shared_part_is_copied_in_as_the_same_json(namespace, pid):
    event = {"code": "ABC123", "title": "Small businesses in trade"}
    plain = ["snapshot", {"event": event, "questions": QUESTIONS, "participant": "t"}]
    shared = ["snapshot", {"event": PreEncoded(event), "questions": PreEncoded(QUESTIONS), "participant": "t"}]
    expected = stock.Packet(stock.EVENT, data=plain, namespace=namespace, id=pid).encode()
    encoded = Packet(stock.EVENT, data=shared, namespace=namespace, id=pid).encode()
    assert encoded == expected
    # and a client reads back exactly the plain value
    assert stock.Packet(encoded_packet=encoded).data == plain
    # an event argument may itself be shared
    assert Packet(stock.EVENT, data=["votes", PreEncoded({"counts": {"1": 2}})]).encode() == \
        stock.Packet(stock.EVENT, data=["votes", {"counts": {"1": 2}}]).encode()


def test_dumps_matches_compact_json():
    for value in PAYLOADS:
        assert dumps(value) == stock.Packet.json.dumps(value, separators=(",", ":"))
    assert dumps({"a": PreEncoded([1, 2])}) == '{"a":[1,2]}'
    with pytest.raises(TypeError):
        dumps({1: PreEncoded([])})  # only str keys: the JSON of other keys is the caller's job


def test_snapshot_of_a_join_reads_as_the_questions(connect):
    """Through the app: a join's snapshot, sent with its public list shared, reads back as dicts."""
    m, p = connect("moderator"), connect("participant")
    ack = p.emit("question:submit", {"client_id": "a", "theme": "finance", "text": "Who pays the fees?"},
                 callback=True)
    assert m.emit("question:moderate", {"id": ack["question"]["id"], "action": "approve"}, callback=True)["ok"]
    for role in ("participant", "screen"):
        snap = [x["args"][0] for x in connect(role).get_received() if x["name"] == "snapshot"][0]
        assert [q["id"] for q in snap["questions"]] == [ack["question"]["id"]], role
        assert snap["questions"][0]["text"] == "Who pays the fees?"


# --- request contexts ----------------------------------------------------------------------

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



@pytest.fixture
def room(connect) -> dict:
    return {"m": connect("moderator"), "p": connect("participant"), "p2": connect("participant")}


def test_events_leave_no_request_in_a_reference_cycle(room):
    """Each Socket.IO event runs in a Flask request context; nothing of it may be left for the
    cycle collector, whose pauses grew with it in a vote storm: a NotFound kept on every event
    (pauses up to 350 ms), then Werkzeug's matcher closure, 8 objects per event (50-80 ms)."""
    qid = room["p"].emit("question:submit", {"client_id": "v", "theme": "finance", "text": "Vote on me?"},
                         callback=True)["question"]["id"]
    assert room["m"].emit("question:moderate", {"id": qid, "action": "approve"}, callback=True)["ok"]
    voters = [room["p"], room["p2"]]
    events = 0
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(10):
            for p in voters:
                assert p.emit("question:vote", {"id": qid}, callback=True)["ok"]
                assert p.emit("question:vote", {"id": qid, "up": False}, callback=True)["ok"]
                events += 2
        gc.collect()
        left = collections.Counter(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert sum(left.values()) < events, left  # 8 per event without EventContext, 0 with it


@pytest.mark.parametrize("transport, headers", [
    ("polling", {}),
    ("websocket", {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}),
])
def test_an_event_request_context_matches_its_route_without_an_exception(app, transport, headers):
    """What Flask-SocketIO builds per event from the handshake's environ: its URL must match a
    route, or Flask keeps a routing exception (and its traceback, in a cycle) on each event.
    Werkzeug matches a WebSocket handshake only to a rule for WebSockets."""
    environ = EnvironBuilder(path=SOCKETIO_PATH, query_string={"EIO": "4", "transport": transport},
                             headers=headers).get_environ()
    with app.request_context(environ) as ctx:
        assert ctx.request.routing_exception is None
        assert ctx.request.url_rule.endpoint == "socketio"


def test_socketio_path_matches_a_route_that_says_what_it_is(app):
    """The route behind that: never reached through the Socket.IO middleware, which answers
    first; a request that gets to Flask anyway is told, in JSON, what the address is for."""
    for path in ("/socket.io/", "/socket.io"):
        assert app.url_map.bind("localhost").match(path)[0] == "socketio"
        with app.test_request_context(path, query_string={"EIO": "4", "transport": "websocket"},
                                      headers={"Accept": "application/json", "Accept-Language": "fr"}):
            r = app.full_dispatch_request()
        assert r.status_code == 400
        assert r.get_json()["error"] == {"code": "bad_request",
                                         "message": "Cette adresse est réservée aux clients Socket.IO."}

# --- every event the app sends ---------------------------------------------------------------

SENT = {"snapshot", "question:new", "question:update", "question:remove", "question:mine", "queue:order",
        "votes", "event:update", "participant:blocked"}


def _plain(value):
    """What a packet carries with its PreEncoded parts read back as values."""
    if isinstance(value, PreEncoded):
        return json.loads(value.text)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_every_event_the_app_sends_is_encoded_as_upstream(app, connect, event, monkeypatch):
    """A whole session (ask, publish, vote, go live, edit, reply, reorder, merge, block, the
    segment) and the joins after it: each packet, acks included, has the bytes the stock
    encoder would write for the same values."""
    from qa.web import broadcast

    sent: list = []  # every packet the server encodes, with what it wrote
    original = Packet.encode

    def recording(pkt):
        encoded = original(pkt)
        sent.append((pkt, encoded))
        return encoded

    monkeypatch.setattr(Packet, "encode", recording)
    m, p, s = connect("moderator"), connect("participant"), connect("screen")

    def call(c, name, payload):
        ack = c.emit(name, payload, callback=True)
        assert ack["ok"], (name, ack)
        return ack

    ids = [call(p, "question:submit", {"client_id": f"c{i}", "theme": "finance", "text": f"Fees «{i}» </script>?"}
                )["question"]["id"] for i in range(3)]
    for qid in ids:
        call(m, "question:moderate", {"id": qid, "action": "approve"})
    call(p, "question:vote", {"id": ids[0]})
    call(m, "question:moderate", {"id": ids[0], "action": "live"})
    call(m, "question:edit", {"id": ids[1], "text": "Edited \u202e text"})
    call(m, "question:reply", {"id": ids[1], "text": "Yes, see the report.", "public": True})
    call(m, "queue:reorder", {"ids": list(reversed(ids))})
    call(m, "question:merge", {"id": ids[2], "into": ids[1]})
    call(m, "question:moderate", {"id": ids[1], "action": "reject"})
    call(m, "participant:block", {"id": ids[0], "blocked": True})
    call(m, "event:update", {"active_theme": "finance"})
    assert broadcast.settle()
    for role in ("participant", "screen", "moderator"):
        connect(role)
    names = set()
    assert sent
    for pkt, encoded in sent:
        expected = stock.Packet(pkt.packet_type, data=_plain(pkt.data), namespace=pkt.namespace, id=pkt.id).encode()
        assert encoded == expected, pkt.data
        if pkt.packet_type == stock.EVENT:
            names.add(pkt.data[0])
    assert SENT <= names, SENT - names
    for c in (m, p, s):
        received(c)


# --- the internals overridden ----------------------------------------------------------------


def test_internals_have_the_shapes_overridden():
    """Fails, saying which, when an upgrade of python-socketio or Flask changes a method that
    speedups.py or inbound.py overrides: check the override (or run with QA_SPEEDUPS=off)."""
    assert speedups.check_internals() == []
    # inbound.py's guard checks its own hook when it wraps it; a changed one is refused loudly.
    server = type("Server", (), {"_handle_event": lambda self, eio_sid, namespace, data: None})()
    with pytest.raises(inbound.LibraryChanged, match="_handle_event"):
        inbound.guard(server)


def test_a_changed_internal_is_reported_by_name(monkeypatch):
    monkeypatch.setattr(speedups, "INTERNALS", (("socketio.packet.Packet.encode", lambda self, binary: None,
                                                 ["self"]),))
    assert speedups.check_internals() == [
        "socketio.packet.Packet.encode('self', 'binary') is no longer socketio.packet.Packet.encode('self',)"]


# --- the cycle collector ---------------------------------------------------------------------


class _Stop(Exception):
    pass


def test_collector_is_tuned_for_a_long_lived_server(app):
    """What exists at start is frozen out of collections and the young generation is collected
    rarely: full collections of a process holding thousands of sockets stalled it."""
    before = gc.get_threshold()
    try:
        assert speedups.tune_collector(app) is True
        assert gc.get_threshold() == speedups.GC_THRESHOLDS == (50_000, 20, 10)
        assert gc.get_freeze_count() > 1_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.parametrize("young, expected", [(10_000, [1, 1]), (9_999, [])])
def test_young_objects_are_collected_when_no_event_was_handled(young, expected):
    """A burst's leftovers are collected in the next pause of the traffic, not in the next burst."""
    collected: list[int] = []
    handled = iter([0, 4, 9, 9, 9])  # read at start, then after each look: busy, busy, quiet, quiet
    looks: list[float] = []

    def sleep(seconds: float) -> None:
        looks.append(seconds)
        if len(looks) > 4:
            raise _Stop

    with pytest.raises(_Stop):
        speedups.collect_when_quiet(sleep, lambda: next(handled), count=lambda: (young, 0, 0),
                                    collect=collected.append)
    assert looks == [speedups.QUIET_CHECK] * 5
    assert speedups.QUIET_YOUNG == 10_000 and collected == expected


# --- the switch ------------------------------------------------------------------------------


@pytest.fixture
def stock_app(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "QA_ENV": make_env(f"sqlite:///{tmp_path / 'qa.sqlite3'}", QA_SPEEDUPS="off")})
    schema.upgrade(db.engine_of(app))
    yield app
    db.engine_of(app).dispose()


def test_with_the_switch_off_the_libraries_run_as_shipped(stock_app, matches):
    app = stock_app
    assert app.config["SPEEDUPS"] is False
    assert socketio.server.packet_class is inbound.InboundStockPacket
    assert not issubclass(inbound.InboundStockPacket, Packet)
    assert "socketio" not in app.view_functions
    assert speedups.tune_collector(app) is False
    assert not isinstance(speedups.shared([1], app), PreEncoded)
    environ = EnvironBuilder(path="/e/ABC123").get_environ()
    for _ in range(2):
        with app.request_context(environ):
            pass
    assert len(matches) == 2  # matched per context, as Flask does
    # The loop still works end to end, its snapshot a plain list.
    with app.app_context():
        ev = events_domain.create_event(db.session, {"title": "Stock"})
        code, token = ev.code, ev.moderator_token
    flask_client = app.test_client()
    m = socketio.test_client(app, auth={"event": code, "role": "moderator", "token": token},
                             flask_test_client=flask_client)
    p = socketio.test_client(app, auth={"event": code, "role": "participant"}, flask_test_client=flask_client)
    try:
        qid = p.emit("question:submit", {"client_id": "a", "theme": "finance", "text": "Who pays?"},
                     callback=True)["question"]["id"]
        assert m.emit("question:moderate", {"id": qid, "action": "approve"}, callback=True)["ok"]
        s = socketio.test_client(app, auth={"event": code, "role": "screen"}, flask_test_client=flask_client)
        assert [q["id"] for q in received(s, "snapshot")[0]["questions"]] == [qid]
        assert p.emit("connect", {}, {"event": code}, callback=True)["error"]["code"] == "bad_request"
        s.disconnect()
    finally:
        m.disconnect()
        p.disconnect()
        from qa.web import broadcast

        assert broadcast.settle()


def test_the_app_class_is_flasks():
    assert issubclass(speedups.App, Flask)
