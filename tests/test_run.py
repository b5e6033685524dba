"""run.py as a person starts it: flags, the demo event, async modes, restarts that lose nothing."""
import os
import socket as plain_socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import socketio

from conftest import ADMIN_TOKEN
from live_server import ROOT, LiveServer, free_port


def test_help_lists_every_flag():
    out = subprocess.run([sys.executable, "run.py", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=30).stdout
    for flag in ("--host", "--port", "--async-mode", "--no-demo", "--show-admin-token", "--debug"):
        assert flag in out


def run_py(env, *args, python=sys.executable, timeout=60):
    """`python run.py ARGS` to its end: a fault must end it, not leave it serving."""
    started = time.monotonic()
    done = subprocess.run([str(python), "run.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", **env}, timeout=timeout)
    done.seconds = time.monotonic() - started
    return done


def env_for(tmp_path, **extra):
    env = {"QA_DATABASE_URL": f"sqlite:///{tmp_path / 'qa.sqlite3'}", "QA_SECRET_KEY": "s",
           "QA_ADMIN_TOKEN": ADMIN_TOKEN, "QA_MESSAGE_QUEUE": ""}
    env.update(extra)
    return env


def test_fresh_database_gets_the_demo_event(tmp_path):
    server = LiveServer(env_for(tmp_path)).start()
    try:
        demo = requests.get(server.url + "/api/events/msme", timeout=5).json()
    finally:
        out = server.stop()
    assert demo["code"] == "MSME" and len(demo["themes"]) == 4
    assert f"{server.url}/e/MSME\n" in out
    assert f"{server.url}/e/MSME/moderate#token=" in out
    assert f"{server.url}/e/MSME/screen" in out


def test_generated_admin_token_is_printed_only_once(tmp_path):
    env = env_for(tmp_path, QA_ADMIN_TOKEN="", QA_INSTANCE_PATH=str(tmp_path / "instance"))
    out1 = LiveServer(env).start().stop()
    token = (tmp_path / "instance" / "admin_token").read_text().strip()
    assert f"Admin token (for POST /api/events): {token}" in out1
    with LiveServer(env) as running:
        # Asked for again, it is printed even while a server runs, and nothing else starts.
        shown = run_py(env, "--port", str(running.port), "--show-admin-token")
        assert requests.get(running.url + "/healthz", timeout=5).status_code == 200
        # The printed token is the one the API accepts.
        r = requests.post(running.url + "/api/events", json={"title": "T"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=5)
    out2 = running.output
    assert token not in out2 and "--show-admin-token" in out2
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"Admin token (for POST /api/events): {token}\n"
    assert r.status_code == 201


def connect(url, auth, sink):
    c = socketio.Client(reconnection=False)

    @c.on("*")
    def _any(name, data=None):
        sink.append((name, data))

    c.connect(url, auth=auth, wait_timeout=10, transports=["websocket"])
    return c


def wait_for(sink, name, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = [d for n, d in sink if n == name]
        if hits:
            return hits
        time.sleep(0.05)
    raise AssertionError(f"no {name} within {timeout}s; got {[n for n, _ in sink]}")


def disconnect_all(clients) -> None:
    """All at once: a client waits up to 3 s for the answer to its WebSocket close frame, which
    gevent's server never sends (pywsgi reads the frame as the next HTTP request)."""
    with ThreadPoolExecutor(len(clients)) as pool:
        for done in [pool.submit(c.disconnect) for c in clients]:
            done.result(timeout=10)


@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
def test_every_async_mode_runs_the_loop(tmp_path, mode):
    with LiveServer(env_for(tmp_path, QA_ASYNC_MODE=mode), args=("--no-demo",)) as server:
        created = requests.post(server.url + "/api/events", json={"title": "Modes"},
                                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5).json()
        p_msgs, m_msgs, s_msgs = [], [], []
        p = connect(server.url, {"event": created["code"], "role": "participant"}, p_msgs)
        m = connect(server.url, {"event": created["code"], "role": "moderator",
                                 "token": created["moderator_token"]}, m_msgs)
        s = connect(server.url, {"event": created["code"], "role": "screen"}, s_msgs)
        try:
            ack = p.call("question:submit", {"client_id": "1", "theme": "other", "text": "Hello?"}, timeout=10)
            assert ack["ok"], ack
            assert wait_for(m_msgs, "question:new")[0]["question"]["text"] == "Hello?"
            assert m.call("question:moderate", {"id": ack["question"]["id"], "action": "approve"},
                          timeout=10)["ok"]
            assert wait_for(s_msgs, "question:update")[0]["question"]["status"] == "approved"
            assert wait_for(p_msgs, "question:mine")[0]["question"]["status"] == "approved"
        finally:
            disconnect_all([p, m, s])


def test_restart_keeps_questions_votes_and_decisions(tmp_path):
    env = env_for(tmp_path)
    server = LiveServer(env, args=("--no-demo",)).start()
    try:
        created = requests.post(server.url + "/api/events", json={"title": "Keep"},
                                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5).json()
        code, token = created["code"], created["moderator_token"]
        sink = []
        p = connect(server.url, {"event": code, "role": "participant"}, sink)
        identity = wait_for(sink, "snapshot")[0]["participant"]
        m = connect(server.url, {"event": code, "role": "moderator", "token": token}, [])
        ids = [p.call("question:submit", {"client_id": str(i), "theme": "finance", "text": f"Q{i}"},
                      timeout=10)["question"]["id"] for i in range(4)]
        for qid, action in [(ids[0], "approve"), (ids[1], "approve"), (ids[2], "reject"),
                            (ids[1], "live"), (ids[0], "answer")]:
            assert m.call("question:moderate", {"id": qid, "action": action}, timeout=10)["ok"]
        assert m.call("queue:reorder", {"ids": [ids[1], ids[0]]}, timeout=10)["ok"]
        assert p.call("question:vote", {"id": ids[1]}, timeout=10)["votes"] == 1
        p.disconnect()
        m.disconnect()
    finally:
        server.kill()  # no chance to flush anything: acked means committed

    server = LiveServer(env, port=server.port, args=("--no-demo",)).start()
    try:
        all_q = requests.get(f"{server.url}/api/events/{code}/questions",
                             headers={"Authorization": f"Bearer {token}"}, timeout=5).json()["questions"]
        by_id = {q["id"]: q for q in all_q}
        assert [by_id[i]["status"] for i in ids] == ["answered", "approved", "rejected", "pending"]
        assert by_id[ids[1]]["live"] and by_id[ids[1]]["votes"] == 1
        public = requests.get(f"{server.url}/api/events/{code}/questions", timeout=5).json()["questions"]
        assert [q["id"] for q in public] == [ids[1], ids[0]]
        # The same participant, reconnecting, still owns its questions and its vote.
        sink = []
        p = connect(server.url, {"event": code, "role": "participant", "participant": identity}, sink)
        snap = wait_for(sink, "snapshot")[0]
        assert snap["participant"] == identity
        mine = {q["id"] for q in snap["questions"] if q.get("mine")}
        assert mine == set(ids)
        again = p.call("question:submit", {"client_id": "3", "theme": "finance", "text": "Q3"}, timeout=10)
        assert again["question"]["id"] == ids[3]
        p.disconnect()
    finally:
        server.stop()


# ---- One server per port, and start-up faults as one line --------------------------------------


def assert_one_line_error(done, *fragments):
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Serving on" not in done.stdout


@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
def test_a_second_server_on_a_taken_port_exits_at_once(tmp_path, mode):
    """eventlet's listener set SO_REUSEPORT: a second server bound too, and the kernel split
    one event's clients between two processes (a moderator saw 2 of 6 new questions)."""
    env = env_for(tmp_path, QA_ASYNC_MODE=mode)
    with LiveServer(env) as first:
        second = run_py(env, "--port", str(first.port))
        assert_one_line_error(second, f"port {first.port} ", "already in use", "--port")
        assert second.returncode == 1
        # It stopped before the database and the links: nothing there points at a server it is not.
        assert "demo event" not in second.stdout
        assert second.seconds < 15, second.seconds
        # Every connection still reaches the first server, which still works.
        for _ in range(10):
            r = requests.post(first.url + "/api/events", json={"title": "Still here"},
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5)
            assert r.status_code == 201
    assert "Serving on" in first.output


def test_a_port_held_by_another_program_is_refused_too(tmp_path):
    with plain_socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        done = run_py(env_for(tmp_path, QA_ASYNC_MODE="threading"), "--port", str(port))
    assert_one_line_error(done, f"port {port} ", "--port")


@pytest.mark.parametrize("url, fragments", [
    ("not a url", ["QA_DATABASE_URL='not a url' is not a database URL"]),
    ("postgres://qa@127.0.0.1/qa", ["QA_DATABASE_URL", "does not know (postgres)", "postgresql+psycopg://"]),
    ("mysql://qa@127.0.0.1/qa", ["QA_DATABASE_URL", "MySQLdb", "not installed"]),
    ("sqlite:////nonexistent-dir/qa.sqlite3", ["cannot use the database", "unable to open database file"]),
    ("postgresql+psycopg://qa:s3cret@127.0.0.1:{closed}/qa",
     ["cannot use the database", "qa:***@127.0.0.1:{closed}", "refused"]),
])
def test_a_database_it_cannot_use_is_one_line(tmp_path, url, fragments):
    closed = free_port()  # bound and released: nothing listens there
    done = run_py(env_for(tmp_path, QA_DATABASE_URL=url.format(closed=closed)), "--port", str(free_port()))
    assert_one_line_error(done, *[f.format(closed=closed) for f in fragments])
    assert "s3cret" not in done.stderr


def test_an_unreachable_message_queue_is_one_line(tmp_path):
    """Before, the server started and logged a Redis retry every few seconds, its broadcasts
    reaching only its own clients."""
    closed = free_port()
    done = run_py(env_for(tmp_path, QA_MESSAGE_QUEUE=f"redis://:pw@127.0.0.1:{closed}/0"),
                  "--port", str(free_port()))
    assert_one_line_error(done, "cannot reach the message queue", f"redis://:***@127.0.0.1:{closed}/0")
    assert ":pw@" not in done.stderr


def test_a_message_queue_that_is_no_url_is_one_line(tmp_path):
    done = run_py(env_for(tmp_path, QA_MESSAGE_QUEUE="127.0.0.1:6379"), "--port", str(free_port()))
    assert_one_line_error(done, "QA_MESSAGE_QUEUE='127.0.0.1:6379' is not a URL")


def test_a_bad_number_is_one_line(tmp_path):
    done = run_py(env_for(tmp_path, QA_DB_POOL_SIZE="ten"), "--port", str(free_port()))
    assert_one_line_error(done, "QA_DB_POOL_SIZE='ten' is not a whole number")


def test_the_placeholder_secrets_are_refused_outside_debug(tmp_path):
    placeholders = {"QA_SECRET_KEY": "CHANGE-ME", "QA_ADMIN_TOKEN": "CHANGE-ME"}
    # Three processes side by side, each on a database of its own.
    refused, token_only, debug = (tmp_path / name for name in ("refused", "token-only", "debug"))
    for path in (refused, token_only, debug):
        path.mkdir()
    with ThreadPoolExecutor(2) as pool:
        done = pool.submit(run_py, env_for(refused, **placeholders), "--port", str(free_port()))
        one = pool.submit(run_py, env_for(token_only, QA_ADMIN_TOKEN="CHANGE-ME"), "--port", str(free_port()),
                          "--show-admin-token")
        # A local try-out of deploy/qa.env.example is allowed when asked for.
        with LiveServer(env_for(debug, **placeholders), args=("--debug",)) as server:
            assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
        done, one = done.result(), one.result()
    assert_one_line_error(done, "QA_SECRET_KEY and QA_ADMIN_TOKEN", "CHANGE-ME", "secrets.token_urlsafe",
                          "--debug")
    assert not (refused / "qa.sqlite3").exists()  # refused before anything was written
    assert_one_line_error(one, "QA_ADMIN_TOKEN still holds")


def test_a_restart_prints_the_demo_links_again(tmp_path):
    env = env_for(tmp_path)
    first = LiveServer(env).start()
    port = first.port
    out1 = first.stop()
    # The restart, and beside it (start-up only reads the database) one with --no-demo.
    with ThreadPoolExecutor(2) as pool:
        again = pool.submit(lambda: LiveServer(env, port=port).start().stop())
        no_demo = pool.submit(lambda: LiveServer(env, args=("--no-demo",)).start().stop())
        out2, out3 = again.result(), no_demo.result()
    token = out1.split("/e/MSME/moderate#token=")[1].split()[0]
    assert "Created the demo event" in out1 and "Created the demo event" not in out2
    assert "The demo event \u201c" in out2 and "code MSME:" in out2
    base = f"http://127.0.0.1:{port}"
    for line in (f"  participant: {base}/e/MSME\n", f"  moderator:   {base}/e/MSME/moderate#token={token}\n",
                 f"  screen:      {base}/e/MSME/screen\n"):
        assert line in out1 and line in out2
    # --no-demo asks for no demo event, so it prints none either.
    assert "/e/MSME" not in out3 and "Serving on" in out3


def test_show_admin_token_from_an_interpreter_without_the_packages(tmp_path):
    """The README's set-up installs into .venv; a plain `python run.py --show-admin-token`
    (the admin page says to run it) ended in ModuleNotFoundError."""
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("needs the project's .venv (scripts/serve makes it)")
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=60)
    python = bare / "bin" / "python"
    assert subprocess.run([str(python), "-c", "import flask_socketio"], capture_output=True,
                          timeout=30).returncode != 0  # so the next line tests what it says
    env = env_for(tmp_path, QA_ADMIN_TOKEN="", QA_INSTANCE_PATH=str(tmp_path / "instance"))
    done = run_py(env, "--show-admin-token", python=python)
    assert done.returncode == 0, done.stderr
    token = (tmp_path / "instance" / "admin_token").read_text().strip()
    assert done.stdout == f"Admin token (for POST /api/events): {token}\n"


def test_run_py_knows_the_async_modes_without_importing_the_app():
    """run.py takes the modes from qa/constants.py, as the settings do, yet imports nothing that must
    come after monkey-patching (the qa package imports Flask)."""
    probe = ("import sys, run\n"
             "print(sorted(m for m in ('flask', 'qa', 'socketio', 'eventlet', 'gevent') if m in sys.modules))\n"
             "from qa import settings\n"
             "print(run.ASYNC_MODES == settings.ASYNC_MODES, run.DEFAULT_ASYNC_MODE == settings.DEFAULT_ASYNC_MODE)\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "True True"]
