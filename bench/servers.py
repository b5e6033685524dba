"""Server processes under test (the app's run.py, the baseline), their services, and a monitor."""
from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "bench-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NICE = 0  # set by the CLI (--nice): the same priority for servers and load generators


def _prepare_child() -> None:  # in the child, before exec: what a service manager's LimitNOFILE does
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if NICE:
        os.nice(NICE)


class Process:
    """One server process; output goes to a file so a chatty server never blocks."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int) -> None:
        self.argv, self.port = argv, port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore", **env}
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile(mode="w+")

    def start(self, timeout: float = 60) -> "Process":
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, text=True, preexec_fn=_prepare_child)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv} exited early:\n{self.output()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.argv} did not answer within {timeout:.0f} s:\n{self.output()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> str:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        out = self.output()
        self.log.close()
        return out


class Target:
    """What the clients connect to: one or more processes of the app, or the baseline."""

    def __init__(self, kind: str, mode: str, processes: list[Process], cleanup=None) -> None:
        self.kind, self.mode, self.processes = kind, mode, processes
        self._cleanup = cleanup or []

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.processes]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> list[str]:
        """Stop every process; their output."""
        logs = [p.stop() for p in self.processes]
        for fn in reversed(self._cleanup):
            fn()
        return logs


def start_baseline(mode: str, questions: int) -> Target:
    port = free_port()
    argv = [sys.executable, "-m", "bench.baseline_server", "--port", str(port), "--async-mode", mode,
            "--questions", str(questions)]
    return Target("baseline", mode, [Process(argv, {}, port).start()])


def start_app(mode: str, processes: int = 1, database_url: str | None = None,
              message_queue: str | None = None) -> Target:
    """`processes` run.py servers sharing one database (and, for several, a message queue)."""
    tmp = tempfile.mkdtemp(prefix="qa-bench-")
    cleanup = [lambda: shutil.rmtree(tmp, ignore_errors=True)]
    env = {
        "QA_DATABASE_URL": database_url or f"sqlite:///{tmp}/qa.sqlite3",
        "QA_ADMIN_TOKEN": ADMIN_TOKEN,
        "QA_SECRET_KEY": "bench-secret-key",
        "QA_INSTANCE_PATH": tmp,
        "QA_ASYNC_MODE": mode,
    }
    if message_queue:
        env["QA_MESSAGE_QUEUE"] = message_queue
    started: list[Process] = []
    try:
        for _ in range(processes):
            port = free_port()
            argv = [sys.executable, "run.py", "--port", str(port), "--async-mode", mode, "--no-demo"]
            started.append(Process(argv, env, port).start())
    except Exception:
        for p in started:
            p.stop()
        for fn in cleanup:
            fn()
        raise
    kind = "app" if processes == 1 else f"app×{processes}"
    return Target(kind, mode, started, cleanup)


class PostgresSchema:
    """A fresh schema in the test database, dropped afterwards."""

    def __init__(self, base_url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self.plain = base_url.replace("+psycopg", "")
        self.name = "bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(self.plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{self.name}"')
        self.url = f"{base_url}?options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        with self._psycopg.connect(self.plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


class PrivateRedis:
    """A redis-server of our own on a free loopback port: no other test's broadcasts reach it."""

    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed; pass --redis-url")
        self.port = free_port()
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=_prepare_child)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        for _ in range(50):
            try:
                client.ping()
                break
            except redis.RedisError:
                time.sleep(0.1)
        client.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class Monitor:
    """CPU and memory of the server processes, sampled every 0.1 s in a thread."""

    def __init__(self, pids: list[int], interval: float = 0.1) -> None:
        self.procs = [psutil.Process(p) for p in pids]
        self.interval = interval
        self.peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._begin: tuple[float, float, psutil._common.scputimes] | None = None

    def rss(self) -> int:
        total = 0
        for p in self.procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def cpu(self) -> float:
        total = 0.0
        for p in self.procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def runqueue_wait(self) -> float:
        """Seconds the servers' threads were runnable but waiting for a CPU (Linux schedstat)."""
        total = 0
        for p in self.procs:
            try:
                for task in os.listdir(f"/proc/{p.pid}/task"):
                    with open(f"/proc/{p.pid}/task/{task}/schedstat") as fh:
                        total += int(fh.read().split()[1])
            except (OSError, ValueError, IndexError):
                pass
        return total / 1e9

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss = self.rss()
            with self._lock:
                self.peak = max(self.peak, rss)

    def begin(self) -> None:
        with self._lock:
            self.peak = self.rss()
        self._begin = (self.cpu(), time.monotonic(), psutil.cpu_times())
        self._wait0 = self.runqueue_wait()

    def end(self) -> dict:
        assert self._begin is not None
        cpu0, wall0, sys0 = self._begin
        wall = time.monotonic() - wall0
        cpu = self.cpu() - cpu0
        sys1 = psutil.cpu_times()
        busy = lambda t: t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)
        capacity = (sum(sys1) - sum(sys0)) or 1.0
        with self._lock:
            peak = max(self.peak, self.rss())
        waited = self.runqueue_wait() - self._wait0
        return {"wall_s": wall, "server_cpu_s": cpu, "server_cpu_pct": 100.0 * cpu / wall if wall else 0.0,
                "server_runqueue_wait_pct": 100.0 * waited / wall if wall else 0.0,
                "server_peak_rss_mb": peak / 2**20,
                "machine_busy_pct": 100.0 * (busy(sys1) - busy(sys0)) / capacity}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
