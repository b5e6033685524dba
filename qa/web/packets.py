"""How Socket.IO packets are encoded: python-socketio's Packet, cheaper for large payloads.

Every join is sent a snapshot with the event's public questions (200 in the benchmark's
event), and encoding it was over half of a join storm's CPU (docs/benchmarks.md): python-
socketio walks every value of a packet looking for bytes to send as attachments
(`data_is_binary`, a third of the CPU, with a list and a lambda per container) and then
JSON-encodes it, the same list again for every join. Here the walk is a plain loop, and a
value shared by many packets is encoded once (`PreEncoded`) and copied in as text.

The app passes `Packet` to Flask-SocketIO as its `serializer` (python-socketio's hook for
a custom packet class); what goes on the wire is what the stock class would send.
"""
from __future__ import annotations

import json
from typing import Any

from socketio import packet


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
