"""A hostile Socket.IO client: Engine.IO v4 over a WebSocket, spoken by hand.

python-socketio's client refuses to send what an attacker would (reserved event names,
broken packets, lying attachment counts), so tests of what the server survives write
the frames themselves. Only ever pointed at a test server on 127.0.0.1.
"""
from __future__ import annotations

import json
from typing import Any

import websocket

from live_server import LiveServer


class RawSocket:
    def __init__(self, url: str, auth: Any, timeout: float = 5.0) -> None:
        self.closed = False
        self.received: list[str | bytes] = []
        self._ack_id = 0
        self.url = url
        self.event_code = auth.get("event") if isinstance(auth, dict) else None
        self.ws = websocket.create_connection(
            url.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket", timeout=timeout)
        try:
            opened = self.ws.recv()
            assert isinstance(opened, str) and opened.startswith("0"), opened
            self.send_text("40" + self.dumps(auth))
            self.joined = self._read_until(lambda m: isinstance(m, str) and m.startswith(("40", "44")), timeout)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def dumps(value: Any) -> str:
        # ensure_ascii: a lone surrogate goes out as its JSON escape, as a browser could send it.
        return json.dumps(value, separators=(",", ":"))

    def send_text(self, text: str) -> None:
        self._send(self.ws.send, text)

    def send_bytes(self, data: bytes) -> None:
        self._send(self.ws.send_binary, data)

    def _send(self, send, payload) -> None:
        """Send unless closed; a server that dropped the socket closes it here too."""
        if self.closed:
            return
        try:
            send(payload)
        except (websocket.WebSocketException, OSError):
            self.close()

    def event(self, data: Any, ack: bool = False) -> None:
        """A Socket.IO EVENT packet whose array is `data`, whatever it holds."""
        ack_id = ""
        if ack:
            self._ack_id += 1
            ack_id = str(self._ack_id)
        self.send_text("42" + ack_id + self.dumps(data))

    def binary_event(self, name: Any, attachments: int, placeholder: int, blob: bytes) -> None:
        """A BINARY_EVENT announcing `attachments` frames, pointing at frame `placeholder`."""
        self.send_text(f"45{attachments}-" + self.dumps([name, {"_placeholder": True, "num": placeholder}]))
        for _ in range(attachments):
            self.send_bytes(blob)

    def _read_until(self, done, seconds: float) -> Any:
        self.ws.settimeout(seconds)
        while True:
            message = self.ws.recv()
            if message == "2":  # the server's ping
                self.ws.send("3")
                continue
            self.received.append(message)
            if done(message):
                return message

    def drain(self, seconds: float) -> None:
        """Read (and answer pings) until the server has been quiet for `seconds`."""
        if self.closed:
            return
        try:
            self._read_until(lambda _m: False, seconds)
        except websocket.WebSocketTimeoutException:
            pass
        except (websocket.WebSocketException, OSError):
            self.close()

    def close(self) -> None:
        self.closed = True
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass  # the server may already have dropped it; the socket is released either way
        if self.ws.sock is not None:
            self.ws.sock.close()


def server_log(server: LiveServer) -> str:
    """What a running LiveServer has written so far, read through its own stdout descriptor
    (a new file description: reading moves no offset the server writes at)."""
    assert server.proc is not None and server.proc.poll() is None, "the server is not running"
    with open(f"/proc/{server.proc.pid}/fd/1", encoding="utf-8", errors="replace") as log:
        return log.read()
