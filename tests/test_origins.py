"""Which browser origins may open a socket (qa/web/origins.py), alone and through the server."""
from __future__ import annotations

import pytest

from conftest import make_env
from qa import create_app
from qa.extensions import db
from qa.web.origins import origin_checker, own_origins

HOST = {"HTTP_HOST": "qa.example.org", "wsgi.url_scheme": "https"}
LOCAL = {"HTTP_HOST": "127.0.0.1:5000", "wsgi.url_scheme": "http"}
PROXIED = {**LOCAL, "HTTP_X_FORWARDED_HOST": "qa.example.org", "HTTP_X_FORWARDED_PROTO": "https"}


@pytest.mark.parametrize("extra, origin, environ, allowed", [
    # No Origin: not a browser (python-socketio, curl), so no cross-site risk.
    ((), None, HOST, True),
    ((), "", HOST, True),
    # The server's own origin, exactly.
    ((), "https://qa.example.org", HOST, True),
    ((), "https://qa.example.org/", HOST, True),
    ((), "http://qa.example.org", HOST, False),
    ((), "https://qa.example.org:8443", HOST, False),
    ((), "https://qa.example.org.evil.example", HOST, False),
    ((), "https://evil.example", HOST, False),
    ((), "null", HOST, False),
    ((), "http://127.0.0.1:5000", LOCAL, True),
    ((), "http://localhost:5000", LOCAL, False),
    # QA_ALLOWED_ORIGINS adds origins, and only those.
    (("https://slides.example",), "https://slides.example", HOST, True),
    (("https://slides.example/",), "https://slides.example", HOST, True),
    (("https://slides.example",), "https://slides.example/", HOST, True),
    (("https://slides.example",), "http://slides.example", HOST, False),
    (("https://slides.example",), "https://slides.example.evil", HOST, False),
    (("https://slides.example",), "https://qa.example.org", HOST, True),
    # Behind a proxy the browser's origin is the proxy's public one.
    ((), "https://qa.example.org", PROXIED, True),
    ((), "http://127.0.0.1:5000", PROXIED, True),
    ((), "http://qa.example.org", PROXIED, False),
    ((), "https://qa.example.org", {**LOCAL, "HTTP_X_FORWARDED_HOST": "qa.example.org, inner.local",
                                   "HTTP_X_FORWARDED_PROTO": "https, http"}, True),
    ((), "https://inner.local", {**LOCAL, "HTTP_X_FORWARDED_HOST": "qa.example.org, inner.local",
                                "HTTP_X_FORWARDED_PROTO": "https"}, False),
    ((), "https://127.0.0.1:5000", {**LOCAL, "HTTP_X_FORWARDED_PROTO": "https"}, True),
    ((), "http://qa.example.org", {**LOCAL, "HTTP_X_FORWARDED_HOST": "qa.example.org"}, True),
])
def test_origin_checker(extra, origin, environ, allowed):
    """No Origin and the server's own origin pass; others only if listed in QA_ALLOWED_ORIGINS."""
    assert origin_checker(extra)(origin, environ) is allowed


def test_own_origins_without_host():
    """Without a Host header there is no own origin to match."""
    assert own_origins({"wsgi.url_scheme": "http"}) == set()
    assert origin_checker(())("http://anything.example", {"wsgi.url_scheme": "http"}) is False


@pytest.fixture
def socket_server(tmp_path):
    """An app allowing one extra origin; its Engine.IO endpoint answers through Flask's test client."""
    env = make_env(f"sqlite:///{tmp_path / 'origins.sqlite3'}",
                   QA_ALLOWED_ORIGINS="https://slides.example, https://two.example/")
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "QA_ENV": env})
    yield app.test_client()
    db.engine_of(app).dispose()


def handshake(client, **headers: str):
    """Open an Engine.IO polling session, as a browser's first request does."""
    return client.get("/socket.io/?EIO=4&transport=polling", headers=headers)


@pytest.mark.parametrize("headers, allowed", [
    ({}, True),
    ({"Origin": "http://localhost"}, True),
    ({"Origin": "https://slides.example"}, True),
    ({"Origin": "https://two.example"}, True),
    ({"Origin": "https://localhost"}, False),
    ({"Origin": "http://evil.example"}, False),
    ({"Origin": "https://slides.example.evil"}, False),
    ({"Origin": "https://qa.example.org", "X-Forwarded-Host": "qa.example.org",
      "X-Forwarded-Proto": "https"}, True),
    ({"Origin": "https://localhost", "X-Forwarded-Proto": "https"}, True),
    ({"Origin": "https://qa.example.org"}, False),
])
def test_socket_handshake_checks_origin(socket_server, headers, allowed):
    """The real Socket.IO endpoint opens a session only for allowed origins."""
    r = handshake(socket_server, **headers)
    if allowed:
        assert r.status_code == 200, r.get_data(as_text=True)
        assert r.get_data(as_text=True).startswith("0{")  # Engine.IO "open" packet
        if "Origin" in headers:
            assert r.headers.get("Access-Control-Allow-Origin") == headers["Origin"]
    else:
        assert r.status_code == 400
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "origin" in r.get_data(as_text=True).lower()
