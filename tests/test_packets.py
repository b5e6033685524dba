"""Packet encoding (qa/web/packets.py): the same bytes on the wire as python-socketio's own."""
from __future__ import annotations

import pytest
from socketio import packet as stock

from qa.web.packets import Packet, PreEncoded, dumps

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
