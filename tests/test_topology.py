"""Production topology: several real server processes on PostgreSQL and Redis, behind nginx.

Real services only: two `python run.py` processes share one PostgreSQL schema
and one Redis, and a real nginx, started from deploy/nginx/qa.conf, sits in
front of them.
"""
from __future__ import annotations

import os
import pwd
import random
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
import socketio
from requests.adapters import HTTPAdapter

from conftest import ADMIN_TOKEN, ORDER_INTERVAL, make_env, need
from live_server import ROOT, LiveServer, free_port
from qa import create_app, schema
from qa.extensions import db
from qa.extensions import socketio as server_socketio
from qa.web import broadcast
from test_metrics import parse_metrics, value

NGINX = os.environ.get("QA_TEST_NGINX", "/usr/sbin/nginx")
SITE = ROOT / "deploy" / "nginx" / "qa.conf"
ENV_EXAMPLE = ROOT / "deploy" / "qa.env.example"
# Taken from the example as shipped; the database, queue and secrets are the test's own.
SHIPPED = ("QA_ASYNC_MODE", "QA_TRUSTED_PROXIES", "QA_DB_POOL_SIZE", "QA_DB_MAX_OVERFLOW")
WAIT = 10.0  # seconds; the longest any step waits for a message from another process
SECRET = "topology-secret-key"


# --- clients -----------------------------------------------------------------


class Inbox:
    """What one python-socketio client received, with bounded waits for a matching message."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []
        self._cond = threading.Condition()

    def add(self, name: str, data: Any) -> None:
        with self._cond:
            self.items.append((name, data))
            self._cond.notify_all()

    def wait(self, name: str, match: Callable[[Any], bool] = lambda _d: True, timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for n, d in self.items:
                    if n == name and match(d):
                        return d
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching {name!r} within {timeout}s; got {[n for n, _ in self.items]}")
                self._cond.wait(left)


class SourceAddress(HTTPAdapter):
    """Send every HTTP request from this local address (nginx's ip_hash keys on it)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


@pytest.fixture
def clients() -> Iterator[Callable[..., tuple[socketio.Client, Inbox]]]:
    """clients(url, auth, transport=..., source=..., origin=..., refused=...) -> a connected client and
    its inbox; with refused=True, a client the server refused (its `connect_error` in the inbox)."""
    made: list[socketio.Client] = []
    resources: list[Any] = []  # HTTP sessions and pre-connected sockets, closed at the end

    def _connect(url: str, auth: dict, transport: str = "websocket", source: str | None = None,
                 origin: str | None = None, refused: bool = False) -> tuple[socketio.Client, Inbox]:
        ws_options: dict[str, Any] = {}
        headers: dict[str, str] = {}
        if origin is not None:
            if transport == "websocket":
                ws_options["origin"] = origin  # replaces websocket-client's own Origin header
            else:
                headers["Origin"] = origin
        session = requests.Session()
        resources.append(session)
        if source is not None:
            session.mount("http://", SourceAddress(source))
            if transport == "websocket":
                port = int(url.rsplit(":", 1)[1])
                ws_options["socket"] = socket.create_connection(("127.0.0.1", port), timeout=WAIT,
                                                                source_address=(source, 0))
                resources.append(ws_options["socket"])
        c = socketio.Client(reconnection=False, handle_sigint=False, http_session=session,
                            websocket_extra_options=ws_options)
        inbox = Inbox()

        @c.on("*")
        def _any(name, data=None):
            inbox.add(name, data)

        c.on("connect_error", lambda data=None: inbox.add("connect_error", data))
        made.append(c)
        # A refusal is awaited here, not in connect(): refused, that disconnects at once, which
        # against gevent takes 3 s (see _hang_up_once_answered); the teardown below does not.
        c.connect(url, auth=auth, transports=[transport], wait_timeout=WAIT, headers=headers, wait=not refused)
        inbox.wait("connect_error" if refused else "snapshot")
        return c, inbox

    yield _connect
    # Side by side, each WebSocket's read loop and socket taken before its disconnect resets them.
    websockets = [(c.eio.read_loop_task, c.eio.ws) for c in made if c.eio.current_transport == "websocket"
                  and c.eio.ws is not None and c.eio.read_loop_task is not None]
    closing = [threading.Thread(target=_quietly_disconnect, args=(c,)) for c in made]
    for t in closing:
        t.start()
    for reader, ws in websockets:
        _hang_up_once_answered(reader, ws)
    for t in closing:
        t.join(timeout=WAIT)
    for resource in resources:
        resource.close()


def _quietly_disconnect(c: socketio.Client) -> None:
    try:
        c.disconnect()
    except Exception:
        pass


def _hang_up_once_answered(reader: threading.Thread, ws: Any) -> None:
    """End a closing WebSocket's TCP connection once the server has answered the close.

    The server answers engine.io's close packet with a close frame, which the client's read
    loop takes (and then ends); websocket-client's close() goes on waiting 3 s for another, or
    for the server to end the connection. eventlet's server ends it; gevent's (pywsgi) keeps
    it open as a keep-alive HTTP connection, so every gevent test spent 3 s here. RFC 6455
    (7.1.1) lets the client end it itself after sending and receiving a close frame.
    """
    reader.join(timeout=WAIT)
    sock = ws.sock
    if sock is None:
        return  # closed already
    try:
        sock.shutdown(socket.SHUT_RDWR)  # close() then stops waiting and closes the socket
    except OSError:
        pass  # the server ended it meanwhile


# --- servers -----------------------------------------------------------------


def shipped_settings() -> dict[str, str]:
    """What deploy/qa.env.example sets that is the same on every machine."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        key, sep, val = line.partition("=")
        if sep and key in SHIPPED:
            values[key] = val.strip()
    assert set(values) == set(SHIPPED), f"{ENV_EXAMPLE} no longer sets {set(SHIPPED) - set(values)}"
    return values


@pytest.fixture
def servers(postgres_url, redis_url, tmp_path) -> Iterator[Callable[..., list[LiveServer]]]:
    """servers(n, **env) -> n real processes on one PostgreSQL schema and one Redis."""
    started: list[LiveServer] = []

    def _start(n: int, **extra: str) -> list[LiveServer]:
        env = {"QA_DATABASE_URL": postgres_url, "QA_MESSAGE_QUEUE": redis_url, "QA_ADMIN_TOKEN": ADMIN_TOKEN,
               "QA_SECRET_KEY": SECRET, "QA_INSTANCE_PATH": str(tmp_path / "instance"), **extra}
        for _ in range(n):
            # One after the other: each applies pending migrations before it
            # serves, and two doing so at once on a fresh schema would race.
            started.append(LiveServer(env, args=("--no-demo",)).start(timeout=60))
        spread_ids(postgres_url)
        return started[-n:]

    yield _start
    for server in started:
        server.stop()


def spread_ids(postgres_url: str) -> None:
    """Start this schema's ids at random places.

    Redis publish/subscribe is shared by everyone using it, and rooms are named
    after event ids; another test run on the same Redis at the same time must
    not share a room with this one.
    """
    import psycopg

    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as conn:
        for table in ("events", "questions"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)",
                         (random.randrange(10**6, 10**9),))


def create_event(url: str, title: str = "Topology") -> dict:
    r = requests.post(url + "/api/events", json={"title": title},
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def scrape(url: str) -> dict[tuple, float]:
    r = requests.get(url + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    return parse_metrics(r.text)


def submit(client: socketio.Client, text: str, theme: str = "finance") -> dict:
    ack = client.call("question:submit", {"client_id": uuid.uuid4().hex, "theme": theme, "text": text},
                      timeout=WAIT)
    assert ack["ok"], ack
    return ack["question"]


def moderate(client: socketio.Client, qid: int, action: str) -> dict:
    ack = client.call("question:moderate", {"id": qid, "action": action}, timeout=WAIT)
    assert ack["ok"], ack
    return ack["question"]


def has_question(qid: int, **fields: Any) -> Callable[[Any], bool]:
    return lambda d: d["question"]["id"] == qid and all(d["question"][k] == v for k, v in fields.items())


# --- two processes, one event ----------------------------------------------------


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_clients_on_two_processes_see_one_event(servers, clients, mode):
    a, b = servers(2, QA_ASYNC_MODE=mode)
    created = create_event(a.url)
    code, token = created["code"], created["moderator_token"]
    p, p_in = clients(a.url, {"event": code, "role": "participant"})
    m, m_in = clients(b.url, {"event": code, "role": "moderator", "token": token})
    s, s_in = clients(a.url, {"event": code, "role": "screen"})

    # Submitted on A, seen by the moderator on B.
    text = f"Who pays for cross-border payments? {uuid.uuid4().hex[:6]}"
    q1 = submit(p, text)
    assert m_in.wait("question:new", has_question(q1["id"]))["question"]["text"] == text

    # Approved on B, seen on A by the screen and by its author.
    moderate(m, q1["id"], "approve")
    s_in.wait("question:update", has_question(q1["id"], status="approved"))
    p_in.wait("question:update", has_question(q1["id"], status="approved"))
    p_in.wait("question:mine", has_question(q1["id"], status="approved"))
    s_in.wait("queue:order", lambda d: d["ids"] == [q1["id"]])

    # A vote on A reaches the moderator on B.
    assert p.call("question:vote", {"id": q1["id"]}, timeout=WAIT)["votes"] == 1
    m_in.wait("votes", lambda d: d["counts"].get(str(q1["id"])) == 1)

    # A reorder and an event change made on B reach A.
    q2 = submit(p, "And who sets the fees?")
    m_in.wait("question:new", has_question(q2["id"]))
    moderate(m, q2["id"], "approve")
    assert m.call("queue:reorder", {"ids": [q2["id"], q1["id"]]}, timeout=WAIT)["ok"]
    s_in.wait("queue:order", lambda d: d["ids"] == [q2["id"], q1["id"]])
    p_in.wait("queue:order", lambda d: d["ids"] == [q2["id"], q1["id"]])
    assert m.call("event:update", {"submissions_open": False}, timeout=WAIT)["ok"]
    for inbox in (s_in, p_in):
        inbox.wait("event:update", lambda d: d["event"]["code"] == code and d["event"]["submissions_open"] is False)

    # The one database holds it all, whichever process is asked.
    public = requests.get(f"{b.url}/api/events/{code}/questions", timeout=10).json()["questions"]
    assert [q["id"] for q in public] == [q2["id"], q1["id"]]

    # Each process counts its own clients and acks; neither holds a connection.
    ma, mb = scrape(a.url), scrape(b.url)
    assert value(ma, "qa_connected_clients", role="participant") == 1
    assert value(ma, "qa_connected_clients", role="screen") == 1
    assert value(ma, "qa_connected_clients", role="moderator") == 0
    assert value(mb, "qa_connected_clients", role="moderator") == 1
    assert value(ma, "qa_socket_acks_total", event="question:submit", result="ok") == 2
    assert value(mb, "qa_socket_acks_total", event="question:submit", result="ok") == 0
    assert value(mb, "qa_socket_acks_total", event="question:moderate", result="ok") == 2
    assert value(ma, "qa_socket_emits_total", event="question:new") == 2
    assert value(mb, "qa_socket_emits_total", event="queue:order") >= 1
    for metrics in (ma, mb):
        assert value(metrics, "qa_db_pool_checked_out") == 0
        assert value(metrics, "qa_questions", status="approved") == 2
    for server in (a, b):
        assert requests.get(server.url + "/healthz", timeout=10).json() == \
            {"ok": True, "database": "ok", "message_queue": "ok"}


def test_rotating_the_token_on_one_process_ends_the_old_desk_on_the_other(servers, clients):
    """The organiser rotates on A; the old moderator socket on B stops getting pending
    questions at once, is told `moderator:revoked`, and is refused and dropped at its next action."""
    a, b = servers(2, QA_ASYNC_MODE="gevent")
    created = create_event(a.url)
    code = created["code"]
    p, p_in = clients(a.url, {"event": code, "role": "participant"})
    m, m_in = clients(b.url, {"event": code, "role": "moderator", "token": created["moderator_token"]})
    q1 = submit(p, "Before the rotation?")
    m_in.wait("question:new", has_question(q1["id"]))

    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    r = requests.post(f"{a.url}/api/admin/events/{code}/rotate-token", headers=admin, timeout=10)
    assert r.status_code == 200 and r.json()["moderator_token"] != created["moderator_token"]
    m_in.wait("moderator:revoked")
    _, new_in = clients(b.url, {"event": code, "role": "moderator", "token": r.json()["moderator_token"]})
    q2 = submit(p, "After the rotation?")
    # B hears A's broadcasts through Redis in the order A sent them, and sends each to all its
    # sockets in the room at once: once the new desk on B has q2, an update A sends after it
    # reaches the old desk after q2 would have, had q2 been sent to it.
    new_in.wait("question:new", has_question(q2["id"]))
    r = requests.patch(f"{a.url}/api/admin/events/{code}", json={"title": "Rotated"}, headers=admin, timeout=10)
    assert r.status_code == 200, r.text
    m_in.wait("event:update", lambda d: d["event"]["title"] == "Rotated")
    assert not [d for n, d in list(m_in.items) if n == "question:new" and d["question"]["id"] == q2["id"]]
    ack = m.call("question:moderate", {"id": q1["id"], "action": "approve"}, timeout=WAIT)
    assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
    deadline = time.monotonic() + WAIT
    while m.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not m.connected
    again, again_in = clients(b.url, {"event": code, "role": "moderator", "token": created["moderator_token"]},
                              refused=True)
    assert again_in.wait("connect_error")["data"]["code"] == "unauthorized"
    assert not again.connected and "snapshot" not in [n for n, _ in again_in.items]


# --- the connection pool over a long event ------------------------------------------


def test_many_socket_events_return_every_connection(postgres_url, tmp_path):
    """200 events on one connection through a pool of two: each gives its connection back."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "ORDER_INTERVAL": ORDER_INTERVAL,
                      "QA_ENV": make_env(postgres_url, QA_DB_POOL_SIZE="2", QA_DB_MAX_OVERFLOW="0")})
    try:
        schema.upgrade(db.engine_of(app))
        flask_client = app.test_client()
        r = flask_client.post("/api/events", json={"title": "Long"},
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        code, token = r.get_json()["code"], r.get_json()["moderator_token"]
        p = server_socketio.test_client(app, auth={"event": code, "role": "participant"},
                                        flask_test_client=flask_client)
        m = server_socketio.test_client(app, auth={"event": code, "role": "moderator", "token": token},
                                        flask_test_client=flask_client)
        outcomes: dict[str, int] = {}
        qid = None
        for i in range(200):
            step = i % 5
            if step == 0:
                ack = p.emit("question:submit", {"client_id": str(i), "theme": "other", "text": f"Q{i}"},
                             callback=True)
                qid = ack["question"]["id"]
            elif step == 1:
                ack = m.emit("question:moderate", {"id": qid, "action": "approve"}, callback=True)
            elif step == 2:
                ack = p.emit("question:vote", {"id": qid}, callback=True)
            elif step == 3:  # refused by the domain after it read the database
                ack = m.emit("question:moderate", {"id": qid, "action": "approve"}, callback=True)
            else:  # refused before any query
                ack = p.emit("question:submit", {"client_id": "", "theme": "nope", "text": ""}, callback=True)
            key = "ok" if ack["ok"] else ack["error"]["code"]
            outcomes[key] = outcomes.get(key, 0) + 1
        assert outcomes == {"ok": 120, "conflict": 40, "invalid": 40}, outcomes  # never "unavailable"
        # Vote and order broadcasts go out from background tasks, batched, each with a connection.
        assert broadcast.settle(), "a broadcast flush was still running 5 s after the last event"
        deadline = time.monotonic() + 5
        while db.engine_of(app).pool.checkedout() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.engine_of(app).pool.checkedout() == 0
        p.disconnect()
        m.disconnect()
    finally:
        broadcast.settle()
        db.engine_of(app).dispose()


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_a_live_server_with_two_connections_takes_a_burst(servers, clients, mode):
    """200 events sent at once to a real process whose pool holds two connections."""
    (server,) = servers(1, QA_ASYNC_MODE=mode, QA_DB_POOL_SIZE="2", QA_DB_MAX_OVERFLOW="0", QA_RATE_LIMITS="off")
    created = create_event(server.url)
    p, _ = clients(server.url, {"event": created["code"], "role": "participant"})
    m, m_in = clients(server.url, {"event": created["code"], "role": "moderator",
                                   "token": created["moderator_token"]})
    acks: list[dict] = []
    done = threading.Event()

    def collect(ack):
        acks.append(ack)
        if len(acks) == 200:
            done.set()

    for i in range(200):  # not waiting for acks: the server handles them side by side
        p.emit("question:submit", {"client_id": str(i), "theme": "other", "text": f"Burst {i}"}, callback=collect)
    assert done.wait(30), f"only {len(acks)} of 200 acks within 30 s"
    assert all(a["ok"] for a in acks), [a for a in acks if not a["ok"]][:3]
    assert len({a["question"]["id"] for a in acks}) == 200
    m_in.wait("question:new", lambda _d: sum(n == "question:new" for n, _ in m_in.items) == 200)
    metrics = scrape(server.url)
    assert value(metrics, "qa_db_pool_size") == 2
    assert value(metrics, "qa_db_pool_checked_out") == 0
    assert value(metrics, "qa_questions", status="pending") == 200


# --- behind nginx ----------------------------------------------------------------


def render_site(upstreams: list[int], port: int) -> str:
    """deploy/nginx/qa.conf as shipped, with the test's ports in place of 80 and 5001..500N."""
    site = SITE.read_text()
    servers = re.findall(r"^ *server 127\.0\.0\.1:\d+;\n", site, flags=re.M)
    assert servers, "the upstream block lists no server processes"
    block = "".join(f"    server 127.0.0.1:{p};\n" for p in upstreams)
    site = site.replace("".join(servers), block)
    assert re.search(r"^ *listen 80;\n", site, flags=re.M), "the site no longer listens on port 80"
    site = re.sub(r"^ *listen 80;\n", f"    listen 127.0.0.1:{port};\n", site, flags=re.M)
    return re.sub(r"^ *listen \[::\]:80;\n", "", site, flags=re.M)


def nginx_main_conf(prefix: Path, site: Path) -> str:
    """A minimal nginx.conf that includes the site, with every path inside `prefix`."""
    built = subprocess.run([NGINX, "-V"], capture_output=True, text=True, timeout=10).stderr
    lines = []
    if os.geteuid() == 0:  # workers would otherwise run as nobody, who cannot write to prefix
        lines.append(f"user {pwd.getpwuid(os.geteuid()).pw_name};")
    lines += ["worker_processes 1;", f"pid {prefix}/nginx.pid;", f"error_log {prefix}/error.log warn;",
              "events { worker_connections 512; }", "http {", f"    access_log {prefix}/access.log;",
              f"    client_body_temp_path {prefix}/client_body;"]
    for module in ("proxy", "fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{module}_module" not in built:
            lines.append(f"    {module}_temp_path {prefix}/{module};")
    lines += [f"    include {site};", "}"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def nginx(tmp_path) -> Iterator[Callable[[list[int]], str]]:
    """nginx(ports) -> the URL of a real nginx in front of those processes, from the shipped site."""
    if not os.path.exists(NGINX):
        need(f"nginx missing ({NGINX}); install Debian's 'nginx' package")
    procs: list[subprocess.Popen] = []
    prefix = tmp_path / "nginx"

    def _start(upstreams: list[int]) -> str:
        prefix.mkdir()
        port = free_port()
        site = prefix / "qa.conf"
        site.write_text(render_site(upstreams, port))
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_main_conf(prefix, site))
        cmd = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
        check = subprocess.run([*cmd, "-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"nginx -t refused the shipped site:\n{check.stderr}"
        log = open(prefix / "stdout.log", "w")
        procs.append(subprocess.Popen([*cmd, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT))
        log.close()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if procs[-1].poll() is not None:
                break
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    return url
            except requests.RequestException:
                time.sleep(0.1)
        errors = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
        raise AssertionError(f"nginx did not answer on {url}:\n{errors}")

    yield _start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # fast shutdown: open WebSockets must not hold it up
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def connected_to(backends: list[LiveServer], role: str) -> list[int]:
    """How many clients of `role` each process has now."""
    return [int(value(scrape(s.url), "qa_connected_clients", role=role)) for s in backends]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_through_nginx(nginx, servers, clients, transport):
    backends = servers(2, **shipped_settings())
    url = nginx([s.port for s in backends])
    created = create_event(url)
    code, token = created["code"], created["moderator_token"]
    # The forwarded headers make the links the public ones, not a process's own.
    assert created["links"]["participant"] == f"{url}/e/{code}"
    # As a browser on the public address would send it; the origin check must pass.
    join = dict(transport=transport, origin=url)

    # nginx's ip_hash keys on the first three bytes of the client's address, so
    # every 127.0.0.1 client reaches the same process ("home").
    p, p_in = clients(url, {"event": code, "role": "participant"}, **join)
    home = connected_to(backends, "participant").index(1)
    s, s_in = clients(url, {"event": code, "role": "screen"}, **join)
    assert connected_to(backends, "screen")[home] == 1

    # A moderator from another local address that nginx sends to the other process.
    other, m = 1 - home, None
    for k in range(1, 41):
        m, m_in = clients(url, {"event": code, "role": "moderator", "token": token},
                          source=f"127.0.{k}.1", **join)
        if connected_to(backends, "moderator")[other] == 1:
            break
        m.disconnect()
    else:
        pytest.fail("no local address reached the second process through ip_hash")

    text = f"Can nginx keep up? {uuid.uuid4().hex[:6]}"
    q = submit(p, text)
    assert m_in.wait("question:new", has_question(q["id"]))["question"]["text"] == text
    moderate(m, q["id"], "approve")
    s_in.wait("question:update", has_question(q["id"], status="approved"))
    p_in.wait("question:mine", has_question(q["id"], status="approved"))
    assert p.call("question:vote", {"id": q["id"]}, timeout=WAIT)["votes"] == 1
    m_in.wait("votes", lambda d: d["counts"].get(str(q["id"])) == 1)

    # Pages and the API pass through too; per-process metrics do not.
    assert requests.get(f"{url}/e/{code}", timeout=10).status_code == 200
    assert requests.get(f"{url}/api/events/{code}/questions", timeout=10).json()["questions"][0]["id"] == q["id"]
    assert requests.get(f"{url}/metrics", timeout=10).status_code == 404


def test_origin_check_behind_nginx(nginx, servers, clients):
    """The forwarded headers let the public origin in, and only it."""
    backends = servers(2, **shipped_settings())
    url = nginx([s.port for s in backends])
    code = create_event(url)["code"]
    for transport in ("websocket", "polling"):
        clients(url, {"event": code, "role": "screen"}, transport=transport, origin=url)
        with pytest.raises(socketio.exceptions.ConnectionError):
            clients(url, {"event": code, "role": "screen"}, transport=transport, origin="http://evil.example")
    # Straight to a process, the public origin is someone else's: refused.
    with pytest.raises(socketio.exceptions.ConnectionError):
        clients(backends[0].url, {"event": code, "role": "screen"}, origin=url)
