"""The WebSocket transport of the threading and gevent modes, made to end cleanly.

In threading mode (Werkzeug's server) python-engineio serves a WebSocket through
simple-websocket, and Chrome dropped about one such connection in five that was
refused or closed while packets were going out, with "Invalid frame header" or
"Data frame received after close". Two causes, both fixed here:

- Werkzeug kept reading the connection as HTTP once the WebSocket handler was done
  and wrote an HTTP error onto the WebSocket (see RequestHandler, which run.py serves
  threading mode with).
- Three real threads write to one connection (engine.io's writer sends the packets,
  simple-websocket's reader answers the client's close frame, the handler sends the
  upgrade's probe answer), each encoding with wsproto and writing with no lock, so a
  close and a packet could cross. Here each frame is encoded and written under one
  lock, and nothing is sent after the close.

gevent mode (gevent's pywsgi, WebSocket through simple-websocket too) had the first cause:
pywsgi kept the connection for a next request, read the client's close frame as one ("Invalid
HTTP method: '\\x88\\x82…'" in the log), and the client waited seconds for the TCP connection
to end. gevent_request_handler() gives run.py a handler that hangs up instead.

eventlet has a WebSocket server of its own and is not concerned.
"""
from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any, Iterator

import simple_websocket
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI
from werkzeug.serving import WSGIRequestHandler


class SerializedServer(simple_websocket.Server):
    """simple-websocket's server connection whose frames are each encoded and written whole,
    one at a time."""

    def __init__(self, environ: dict, **kwargs: Any) -> None:
        # Before the handshake, which the base class sends from its __init__.
        self._writing = threading.RLock()
        super().__init__(environ, **kwargs)

    def send(self, data) -> None:
        with self._writing:
            super().send(data)

    def close(self, reason=None, message=None) -> None:
        with self._writing:
            super().close(reason, message)

    def _handle_events(self):
        # The reader's replies (the close frame's answer, pongs) and its state changes.
        with self._writing:
            return super()._handle_events()


class ThreadingWebSocket(SimpleWebSocketWSGI):
    """python-engineio's threading WebSocket wrapper, over SerializedServer."""

    def __call__(self, environ, start_response):
        self.ws = SerializedServer(environ, **self.server_args)
        try:
            ret = self.app(self)
        finally:
            if self.ws.mode == "werkzeug":
                self._hang_up()
        # What the base class does: the server must not write a response on the upgraded socket.
        if self.ws.mode == "gunicorn":
            raise StopIteration()
        if self.ws.mode == "werkzeug":
            raise ConnectionError()
        return ret

    def _hang_up(self) -> None:
        """Say goodbye (a close frame, if nobody sent one yet) and end the TCP connection;
        RequestHandler then lets it go instead of reading it as HTTP."""
        try:
            self.close()
        except Exception:
            pass  # closed under us meanwhile: shutting down is all that is left
        end_tcp(self.ws.sock)


def end_tcp(sock: socket.socket) -> None:
    """End a TCP connection now, whatever else holds its descriptor (simple-websocket keeps a
    duplicate under gevent, so a close alone would leave the connection open)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the peer is gone already


@contextlib.contextmanager
def _let_go_if_upgraded(handler, upgrade: str, sock: socket.socket | None = None) -> Iterator[None]:
    """Once a request that upgraded to a WebSocket is done, its HTTP server handler must not
    keep the connection for a next request (and under gevent, `sock` is shut down too)."""
    try:
        yield
    finally:
        if upgrade.lower() == "websocket":
            handler.close_connection = True
            if sock is not None:
                end_tcp(sock)


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, which lets a connection go once it carried a WebSocket.

    Werkzeug does not know the connection was upgraded (simple-websocket wrote the 101
    itself), and keeps an HTTP/1.1 connection open for a next request once the WSGI app
    is done: it read the frames the browser sent after the WebSocket's end (its close
    frame) as a request line and wrote "HTTP/1.0 400 Bad request syntax" onto the
    WebSocket, which Chrome reported as "Invalid frame header".
    """

    def run_wsgi(self) -> None:
        with _let_go_if_upgraded(self, self.headers.get("Upgrade", "")):
            super().run_wsgi()


def gevent_request_handler() -> type:
    """gevent's pywsgi request handler, which lets a connection go once it carried a WebSocket.

    Made on demand: importing gevent.pywsgi is for gevent mode only.
    """
    from gevent import pywsgi

    class GeventRequestHandler(pywsgi.WSGIHandler):
        def handle_one_response(self) -> None:
            with _let_go_if_upgraded(self, self.environ.get("HTTP_UPGRADE", ""), self.socket):
                super().handle_one_response()

    return GeventRequestHandler


def install(eio_server) -> None:
    """Serve this engine.io server's WebSockets through ThreadingWebSocket (threading mode only)."""
    if eio_server.async_mode != "threading":
        return
    # A copy: the driver's dict is module-level, shared by every server of the process.
    eio_server._async = {**eio_server._async, "websocket": ThreadingWebSocket}
