"""Faults survived with real server processes and real clients: nothing lost, nothing doubled."""
from __future__ import annotations

import gc
import socket
import sqlite3
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio

from conftest import ADMIN_TOKEN
from live_server import LiveServer, free_port

JOIN_SECONDS = 10  # the longest teardown waits for a client's or the proxy's threads


def env_for(tmp_path, **extra):
    env = {"QA_DATABASE_URL": f"sqlite:///{tmp_path / 'qa.sqlite3'}", "QA_SECRET_KEY": "s",
           "QA_ADMIN_TOKEN": ADMIN_TOKEN, "QA_MESSAGE_QUEUE": "", "QA_RATE_LIMITS": "off"}
    env.update(extra)
    return env


def create_event(server):
    r = requests.post(server.url + "/api/events", json={"title": "Faults"},
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5)
    assert r.status_code == 201
    return r.json()


@pytest.fixture(autouse=True)
def nothing_left_for_the_collector():
    """After each test (its fixtures closed first): a socket that only the collector finds is
    one this module leaked, which pytest.ini's warnings-as-errors would pin on a later test."""
    yield
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == [], leaks


@pytest.fixture
def recorders():
    """recorders(url, auth, ...) -> a connected Recorder, closed after the test however it ends."""
    made: list[Recorder] = []
    lock = threading.Lock()  # the kill test makes them from several threads

    def _make(*args, **kwargs) -> Recorder:
        r = Recorder(*args, **kwargs)
        with lock:
            made.append(r)
        return r

    yield _make
    for r in made:
        r.close()
    # Checked here, not left to the collector: a Recorder may outlive the test in pytest's hands.
    assert [r for r in made if r.websocket_open()] == [], "a client's WebSocket was left open"


class Recorder:
    """A python-socketio client that keeps what it receives, and owns its transports.

    Its server is killed or cut off on purpose. python-engineio then ends the connection
    without closing its WebSocket (websocket-client's socket), and a reconnection replaces
    it: left to the cycle collector, it was reported (ResourceWarning, an error here) in
    whatever test ran next. So the dead WebSocket is closed as the connection drops, and
    the HTTP session, whatever WebSocket is left and the client's threads at `close()`.
    """

    def __init__(self, url, auth, transports=("websocket",), **client_kw):
        self.msgs: list[tuple[str, object]] = []
        self.failed_connects = 0  # tries to (re)connect that did not reach the server
        self._waiting: set[threading.Event] = set()  # calls waiting for their ack
        self._lock = threading.Lock()
        self.http = requests.Session()
        self.client = socketio.Client(http_session=self.http, handle_sigint=False, **client_kw)
        self.client.on("*", lambda name, data=None: self.msgs.append((name, data)))
        self.client.on("disconnect", self._dropped)
        self.client.on("connect_error", self._refused)
        try:
            self.client.connect(url, auth=auth, wait_timeout=10, transports=list(transports))
        except BaseException:
            self.close()
            raise

    def _dropped(self, reason=None):
        if reason != self.client.reason.CLIENT_DISCONNECT:  # ours closes it with a handshake
            self._close_websocket()
        with self._lock:
            waiting = list(self._waiting)
        for answered in waiting:
            answered.set()  # no ack comes over a dropped connection

    def _refused(self, _data: object = None) -> None:
        self.failed_connects += 1

    def call(self, event: str, data: object, timeout: float = 10.0) -> object:
        """`client.call`, except that a dropped connection ends the wait at once (python-socketio's
        waits out the whole timeout, as no ack can come): socketio.exceptions.TimeoutError then."""
        answered = threading.Event()
        acks: list[tuple] = []

        def on_ack(*args: object) -> None:
            acks.append(args)
            answered.set()

        with self._lock:
            self._waiting.add(answered)
        try:
            if self.client.connected:  # after joining _waiting: a drop from now on ends the wait
                self.client.emit(event, data, callback=on_ack)
                answered.wait(timeout)
        finally:
            with self._lock:
                self._waiting.discard(answered)
        if not acks:
            raise socketio.exceptions.TimeoutError()
        args = acks[0]
        return args[0] if len(args) == 1 else (args or None)  # as client.call returns it

    def websocket_open(self) -> bool:
        ws = getattr(self.client.eio, "ws", None)
        return ws is not None and ws.sock is not None

    def _close_websocket(self):
        ws = getattr(self.client.eio, "ws", None)
        if ws is not None:
            ws.shutdown()  # the socket only: no close handshake with a server that is gone

    def close(self):
        try:
            self.client.disconnect()  # stops reconnecting; joins the read loop if connected
        finally:
            self._close_websocket()
            for task in (getattr(self.client, "_reconnect_task", None),
                         getattr(self.client.eio, "read_loop_task", None),
                         getattr(self.client.eio, "write_loop_task", None)):
                if task is not None:
                    task.join(timeout=JOIN_SECONDS)
            self.http.close()

    def last(self, name):
        hits = [d for n, d in self.msgs if n == name]
        return hits[-1] if hits else None

    def wait(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return False


def all_questions(server, ev):
    return requests.get(f"{server.url}/api/events/{ev['code']}/questions",
                        headers={"Authorization": f"Bearer {ev['moderator_token']}"}, timeout=5).json()["questions"]


def test_kill_9_mid_burst_loses_and_doubles_nothing(tmp_path, recorders):
    env = env_for(tmp_path)
    server = LiveServer(env, args=("--no-demo",)).start()
    ev = create_event(server)
    senders, per_sender = 8, 40
    identities: dict[int, str] = {}
    acked: dict[str, int] = {}  # text -> question id
    lock = threading.Lock()
    enough = threading.Event()

    def send(n):
        r = recorders(server.url, {"event": ev["code"], "role": "participant"}, reconnection=False)
        assert r.wait(lambda: r.last("snapshot"))
        identities[n] = r.last("snapshot")["participant"]
        for i in range(per_sender):
            try:
                ack = r.call("question:submit", {"client_id": f"c{i}", "theme": "other", "text": f"{n}-{i}"},
                             timeout=5)
            except Exception:
                return  # the server died mid-send: this one is unacked
            assert ack["ok"], ack
            with lock:
                acked[f"{n}-{i}"] = ack["question"]["id"]
                if len(acked) >= senders * per_sender // 3:
                    enough.set()

    threads = [threading.Thread(target=send, args=(n,), daemon=True) for n in range(senders)]
    for t in threads:
        t.start()
    assert enough.wait(60), "the burst never got going"
    server.kill()
    deadline = time.monotonic() + 10
    for t in threads:
        t.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a sender was still waiting 10 s after the kill"
    assert len(acked) < senders * per_sender, "the kill came too late to test anything"

    server = LiveServer(env, port=server.port, args=("--no-demo",)).start()
    try:
        stored = all_questions(server, ev)
        texts = [q["text"] for q in stored]
        assert len(texts) == len(set(texts)), "a question was stored twice"
        by_text = {q["text"]: q["id"] for q in stored}
        for text, qid in acked.items():
            assert by_text.get(text) == qid, f"acked question {text} was lost"

        # Every sender comes back, all at once, and resends everything with the same client_id.
        def resend(n, identity):
            r = recorders(server.url, {"event": ev["code"], "role": "participant", "participant": identity},
                          reconnection=False)
            for i in range(per_sender):
                ack = r.call("question:submit", {"client_id": f"c{i}", "theme": "other", "text": f"{n}-{i}"})
                assert ack["ok"], ack
                if f"{n}-{i}" in acked:
                    assert ack["question"]["id"] == acked[f"{n}-{i}"]
            r.client.disconnect()

        with ThreadPoolExecutor(len(identities)) as pool:
            for done in [pool.submit(resend, n, identity) for n, identity in identities.items()]:
                done.result(timeout=60)  # raises what failed in its thread
        final = [q["text"] for q in all_questions(server, ev)]
        assert sorted(final) == sorted(f"{n}-{i}" for n in identities for i in range(per_sender))
    finally:
        server.stop()


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 that can drop every connection and refuse new ones, like a dead network."""

    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.port = free_port()
        self.up = True
        self.socks: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.2)
        self.stopped = False
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while not self.stopped:
            try:
                down, _ = self.listener.accept()
            except OSError:
                continue
            if not self.up:
                down.close()
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            except OSError:
                down.close()  # the server is gone: as a dead network would, refuse
                continue
            up.settimeout(None)
            with self.lock:
                self.socks += [down, up]
                for a, b in ((down, up), (up, down)):
                    t = threading.Thread(target=self._pump, args=(a, b), daemon=True)
                    self.threads.append(t)
                    t.start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()  # the other pump's recv then fails and ends it too

    def cut(self):
        self.up = False
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.socks.clear()

    def resume(self):
        self.up = True

    def close(self):
        self.stopped = True
        self.threads[0].join(timeout=JOIN_SECONDS)  # no new connection after this
        self.cut()
        self.listener.close()
        with self.lock:
            threads = list(self.threads)
        for t in threads:
            t.join(timeout=JOIN_SECONDS)
        assert not any(t.is_alive() for t in threads), "a proxy thread outlived close()"


@pytest.fixture
def proxies():
    """proxies(upstream_port) -> a CuttableProxy, closed after the test however it ends."""
    made: list[CuttableProxy] = []

    def _make(upstream_port: int) -> CuttableProxy:
        made.append(CuttableProxy(upstream_port))
        return made[-1]

    yield _make
    for proxy in made:
        proxy.close()


def test_offline_clients_come_back_to_the_right_state(tmp_path, recorders, proxies):
    with LiveServer(env_for(tmp_path), args=("--no-demo",)) as server:
        ev = create_event(server)
        proxy = proxies(server.port)
        via = f"http://127.0.0.1:{proxy.port}"
        mod = recorders(server.url, {"event": ev["code"], "role": "moderator", "token": ev["moderator_token"]})
        opts = dict(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=1)
        asker = recorders(via, {"event": ev["code"], "role": "participant"}, **opts)
        asker.wait(lambda: asker.last("snapshot"))
        identity = asker.last("snapshot")["participant"]
        asker.client.connection_auth["participant"] = identity  # what the browser's connection.js does
        screen = recorders(via, {"event": ev["code"], "role": "screen"}, **opts)
        voter = recorders(server.url, {"event": ev["code"], "role": "participant"})
        ids = [asker.client.call("question:submit", {"client_id": str(i), "theme": "finance", "text": f"Q{i}"},
                                 timeout=10)["question"]["id"] for i in range(3)]
        assert mod.client.call("question:moderate", {"id": ids[0], "action": "approve"}, timeout=10)["ok"]

        proxy.cut()
        try:
            # While they are offline: approvals, a reorder, on-air, votes, a theme segment.
            for qid in ids[1:]:
                assert mod.client.call("question:moderate", {"id": qid, "action": "approve"}, timeout=10)["ok"]
            assert mod.client.call("queue:reorder", {"ids": [ids[2], ids[0], ids[1]]}, timeout=10)["ok"]
            assert mod.client.call("question:moderate", {"id": ids[1], "action": "live"}, timeout=10)["ok"]
            assert voter.client.call("question:vote", {"id": ids[2]}, timeout=10)["votes"] == 1
            assert mod.client.call("event:update", {"active_theme": "finance"}, timeout=10)["ok"]
            # Offline until all of it has reached those online (votes go out batched, after
            # their ack) and each of the two has tried to come back, and failed, twice.
            assert mod.wait(lambda: ((mod.last("votes") or {}).get("counts") or {}).get(str(ids[2])) == 1)
            for r in (asker, screen):
                assert r.wait(lambda: r.failed_connects >= 2), "a client did not retry while cut off"
            assert not asker.client.connected and not screen.client.connected
            snaps_before = sum(1 for n, _ in screen.msgs if n == "snapshot")
        finally:
            proxy.resume()
        back = time.monotonic()

        def caught_up(rec):
            def check():
                if sum(1 for n, _ in rec.msgs if n == "snapshot") <= snaps_before:
                    return False
                snap = rec.last("snapshot")
                public = [q for q in snap["questions"] if q["status"] in ("approved", "answered")]
                return ([q["id"] for q in public] == [ids[2], ids[0], ids[1]]
                        and [q["votes"] for q in public] == [1, 0, 0]
                        and [q["live"] for q in public] == [False, False, True]
                        and snap["event"]["active_theme"] == "finance")
            return check

        assert screen.wait(caught_up(screen), timeout=5), "the screen was not right within 5 s"
        assert asker.wait(caught_up(asker), timeout=5)
        elapsed = time.monotonic() - back
        snap = asker.last("snapshot")
        assert snap["participant"] == identity
        assert {q["id"] for q in snap["questions"] if q.get("mine")} == set(ids)
        assert elapsed < 5
        for r in (mod, asker, screen, voter):
            r.client.disconnect()


def test_locked_database_gives_a_retryable_error_and_loses_nothing(tmp_path, recorders):
    env = env_for(tmp_path, QA_DB_BUSY_TIMEOUT_MS="500")
    with LiveServer(env, args=("--no-demo",)) as server:
        ev = create_event(server)
        p = recorders(server.url, {"event": ev["code"], "role": "participant"}, reconnection=False)
        blocker = sqlite3.connect(tmp_path / "qa.sqlite3", isolation_level=None, timeout=5)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            ack = p.client.call("question:submit", {"client_id": "x", "theme": "other", "text": "Locked?"},
                                timeout=10)
            assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack
            # The rest keeps being served while the lock is held.
            assert requests.get(f"{server.url}/api/events/{ev['code']}", timeout=5).status_code == 200
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        ack = p.client.call("question:submit", {"client_id": "x", "theme": "other", "text": "Locked?"}, timeout=10)
        assert ack["ok"], ack
        again = p.client.call("question:submit", {"client_id": "x", "theme": "other", "text": "Locked?"}, timeout=10)
        assert again["question"]["id"] == ack["question"]["id"]
        assert [q["text"] for q in all_questions(server, ev)] == ["Locked?"]
        p.client.disconnect()


def test_long_polling_works_end_to_end_when_websocket_is_blocked(tmp_path, recorders):
    with LiveServer(env_for(tmp_path), args=("--no-demo",)) as server:
        ev = create_event(server)
        p = recorders(server.url, {"event": ev["code"], "role": "participant"}, transports=("polling",))
        s = recorders(server.url, {"event": ev["code"], "role": "screen"}, transports=("polling",))
        m = recorders(server.url, {"event": ev["code"], "role": "moderator", "token": ev["moderator_token"]},
                     transports=("polling",))
        assert p.client.transport() == "polling"
        ack = p.client.call("question:submit", {"client_id": "1", "theme": "other", "text": "Polling?"}, timeout=10)
        assert m.wait(lambda: m.last("question:new"))
        assert m.client.call("question:moderate", {"id": ack["question"]["id"], "action": "approve"}, timeout=10)["ok"]
        assert s.wait(lambda: (s.last("question:update") or {}).get("question", {}).get("status") == "approved")
        assert p.wait(lambda: p.last("question:mine"))
        assert p.client.call("question:vote", {"id": ack["question"]["id"]}, timeout=10)["votes"] == 1
        assert s.wait(lambda: s.last("votes") == {"counts": {str(ack["question"]["id"]): 1}})
        for r in (p, s, m):
            r.client.disconnect()
