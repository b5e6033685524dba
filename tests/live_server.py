"""Real `python run.py` processes for tests that need a server over the network."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, env: dict[str, str], port: int | None = None, args: tuple[str, ...] = ()):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.output = ""
        self._log = None

    def start(self, timeout: float = 30) -> "LiveServer":
        return self.launch().wait_ready(timeout)

    def launch(self) -> "LiveServer":
        """Start the process without waiting for it to serve; wait_ready() waits. In between, the
        caller can start something else that takes a while (a browser)."""
        # A file, not a pipe: a chatty server must never block on a full pipe.
        self._log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "run.py", "--port", str(self.port), *self.args],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, text=True,
        )
        return self

    def wait_ready(self, timeout: float = 30) -> "LiveServer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._collect()
                raise RuntimeError(f"server exited early:\n{self.output}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code in (200, 503):
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.output}")

    def log(self) -> str:
        """What the server has written so far, while it runs (pread: the file's offset is the child's too)."""
        if self._log is None:
            return self.output
        fd = self._log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def _collect(self) -> None:
        if self._log is not None:
            self._log.seek(0)
            self.output = self._log.read()
            self._log.close()
            self._log = None

    def stop(self, sig: int = signal.SIGTERM) -> str:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._collect()
        return self.output

    def kill(self) -> str:
        return self.stop(signal.SIGKILL)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
