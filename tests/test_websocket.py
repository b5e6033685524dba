"""The WebSocket's end in every async mode (qa/web/websocket.py), byte for byte against a real `python run.py`."""
from __future__ import annotations

import base64
import os
import socket
import time

import pytest
import requests

from conftest import ADMIN_TOKEN
from live_server import LiveServer

WAIT = 5.0  # seconds; the longest a read waits for the server


@pytest.fixture(scope="module", params=["threading", "gevent", "eventlet"])
def server(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("ws") / "qa.sqlite3"
    env = {"QA_DATABASE_URL": f"sqlite:///{path}", "QA_SECRET_KEY": "s", "QA_ADMIN_TOKEN": ADMIN_TOKEN,
           "QA_MESSAGE_QUEUE": "", "QA_RATE_LIMITS": "off", "QA_ASYNC_MODE": request.param}
    with LiveServer(env, args=("--no-demo",)) as srv:
        yield srv


@pytest.fixture
def raw(server):
    """raw() -> a plain TCP connection to the server, closed after the test."""
    made: list[socket.socket] = []

    def _open() -> socket.socket:
        s = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        made.append(s)
        return s

    yield _open
    for s in made:
        s.close()


def frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One client frame (masked, as a browser sends it), payload under 126 bytes."""
    mask = os.urandom(4) if mask is None else mask
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked server frame in data; AssertionError on anything else."""
    frames, i = [], 0
    while i < len(data):
        assert i + 2 <= len(data), f"a cut frame header at {i}: {data[i:]!r}"
        b0, b1 = data[i], data[i + 1]
        assert b0 & 0x70 in (0, 0x40) and b0 & 0x0F in (0, 1, 2, 8, 9, 10), f"not a frame at {i}: {data[i:]!r}"
        assert not b1 & 0x80, "a server frame is never masked"
        n, i = b1 & 0x7F, i + 2
        if n == 126:
            n, i = int.from_bytes(data[i:i + 2], "big"), i + 2
        elif n == 127:
            n, i = int.from_bytes(data[i:i + 8], "big"), i + 8
        assert i + n <= len(data), f"a cut frame at {i}: {data[i:]!r}"
        frames.append((b0 & 0x0F, data[i:i + n]))
        i += n
    return frames


def open_websocket(s: socket.socket, port: int) -> bytes:
    """A new engine.io session straight over WebSocket; returns what came after the 101."""
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        assert chunk, data
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return rest


def read_until_closed(s: socket.socket, timeout: float = WAIT) -> bytes:
    data, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data  # closed with frames of ours still unread: as good as a FIN here
        except socket.timeout:
            continue
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"the server kept the connection open {timeout}s after the WebSocket ended; got {data!r}")


def test_the_server_hangs_up_after_a_websocket_and_writes_no_http_onto_it(server, raw):
    """Werkzeug read the browser's frames after the WebSocket's end as a request and answered
    "HTTP/1.0 400 Bad request syntax" on the WebSocket: Chrome's "Invalid frame header"; gevent's
    pywsgi read them as a request too, and kept the connection open."""
    s = raw()
    s.settimeout(0.2)
    first = open_websocket(s, server.port)
    s.sendall(frame(1, b"40"))  # Socket.IO CONNECT, no auth: refused (no event)
    time.sleep(0.3)
    s.sendall(frame(8, (1000).to_bytes(2, "big")))  # the browser leaves
    time.sleep(0.3)
    try:
        s.sendall(frame(1, b"3"))  # a frame already on its way as the server closed
    except OSError:
        pass  # already hung up: nothing of ours is left for anyone to read as HTTP
    data = first + read_until_closed(s, timeout=1.0)  # at once: a client waited 3 s under gevent
    assert b"HTTP/" not in data, data
    assert "Invalid HTTP method" not in server.log(), server.log()
    frames = server_frames(data)  # whole frames only (the close frame's answer may be lost to the reset)
    assert any(op == 1 and payload.startswith(b"44") for op, payload in frames), frames  # the refusal


def test_a_websocket_still_carries_a_whole_session(server, raw):
    """The wrapper changes how frames are written, not what: a join over a bare WebSocket."""
    ev = requests.post(server.url + "/api/events", json={"title": "Frames"},
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5).json()
    s = raw()
    s.settimeout(0.2)
    data = open_websocket(s, server.port)
    auth = ('40{"event":"%s","role":"screen"}' % ev["code"]).encode()
    s.sendall(frame(1, auth))
    deadline = time.monotonic() + WAIT
    while b'"snapshot"' not in data and time.monotonic() < deadline:
        try:
            data += s.recv(65536)
        except socket.timeout:
            pass
    s.sendall(frame(8, (1000).to_bytes(2, "big")))
    frames = server_frames(data + read_until_closed(s))
    assert frames[0][0] == 1 and frames[0][1].startswith(b"0{"), frames  # engine.io OPEN
    assert any(payload.startswith(b'42["snapshot"') for _op, payload in frames), frames
    assert frames[-1][0] == 8, frames


@pytest.mark.parametrize("handler, hangs_up", [("werkzeug", False), ("ours", True)])
def test_werkzeug_lets_a_connection_go_after_a_websocket_only_with_our_handler(handler, hangs_up):
    """What simple-websocket does under Werkzeug (writes the 101 itself, then ends with
    ConnectionError), and bytes the browser sent meanwhile: Werkzeug's own handler reads
    them as the next request and answers HTTP on the WebSocket; RequestHandler hangs up."""
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    from qa.web.websocket import RequestHandler

    def upgraded(environ, start_response):
        environ["werkzeug.socket"].sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                           b"Connection: Upgrade\r\n\r\n\x88\x02\x03\xe8")  # and a close frame
        time.sleep(0.3)  # the browser's frames arrive while the WebSocket is ending
        raise ConnectionError()

    srv = make_server("127.0.0.1", 0, upgraded, threaded=True,
                      request_handler=RequestHandler if handler == "ours" else WSGIRequestHandler)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", srv.server_port), timeout=WAIT) as s:
            s.sendall(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                      b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            time.sleep(0.1)
            # The browser's close frame, and a frame whose masked bytes hold a line end: Werkzeug
            # reads a request line up to one (the browser's random masks make one sooner or later).
            s.sendall(frame(8, (1000).to_bytes(2, "big")) + frame(1, b"2\r\n", mask=bytes(4)))
            s.settimeout(0.2)
            if hangs_up:
                data = read_until_closed(s)
            else:
                data, deadline = b"", time.monotonic() + 2
                while b"Bad request" not in data and time.monotonic() < deadline:
                    try:
                        data += s.recv(65536)
                    except socket.timeout:
                        pass
        after_upgrade = data.split(b"\r\n\r\n", 1)[1]
        if hangs_up:
            assert after_upgrade == b"\x88\x02\x03\xe8", data  # the close frame, and nothing after it
        else:  # an HTTP/0.9 error page on the WebSocket: what Chrome called "Invalid frame header"
            assert b"Bad request syntax" in after_upgrade, data
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=WAIT)
