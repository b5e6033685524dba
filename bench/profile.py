"""py-spy recordings of the app's server process during chosen phases, and their summary.

py-spy samples what the process's one OS thread is running; under eventlet or
gevent that is whichever green thread holds the CPU, and idle waits in the
hub are left out, so the samples show where server CPU time goes.
"""
from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from .servers import Target

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")

AREAS = (  # first match wins, on the frame's file
    ("app (qa/)", ("qa/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("sqlite3 / psycopg", ("sqlite3/", "psycopg/")),
    ("json", ("json/",)),
    ("Socket.IO (python-socketio, engineio, Flask-SocketIO)", ("socketio/", "engineio/", "flask_socketio/")),
    ("WebSocket (simple-websocket, wsproto)", ("simple_websocket/", "wsproto/", "h11/")),
    ("Flask / Werkzeug", ("flask/", "werkzeug/")),
    ("eventlet / gevent hub and sockets", ("eventlet/", "gevent/", "greenlet/", "dns/")),
    ("other (stdlib)", ("",)),
)


class Profiler:
    """A Session hook: starts py-spy when a chosen phase begins, stops it when it ends."""

    def __init__(self, outdir: Path, phases: tuple[str, ...] = ("join", "fanout"), rate: int = 100,
                 idle: bool = False) -> None:
        beside = Path(sys.executable).with_name("py-spy")
        self.exe = str(beside) if beside.exists() else (shutil.which("py-spy") or "py-spy")
        self.outdir, self.phases, self.rate, self.idle = outdir, phases, rate, idle
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.running: list[subprocess.Popen] = []
        self.recorded: list[dict] = []

    def __call__(self, when: str, phase: str, target: Target) -> None:
        if target.kind == "baseline" or phase not in self.phases:
            return
        if when == "begin":
            for n, pid in enumerate(target.pids):
                name = f"profile-{target.mode}-{phase}{'-idle' if self.idle else ''}"
                stem = self.outdir / (name if n == 0 else f"{name}-{n + 1}")
                for fmt, ext in (("raw", "txt"), ("flamegraph", "svg")):
                    self.running.append(subprocess.Popen(
                        [self.exe, "record", "--pid", str(pid), "--rate", str(self.rate), "--nonblocking",
                         "--format", fmt, "-o", f"{stem}.{ext}", *(["--idle"] if self.idle else [])],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                self.recorded.append({"mode": target.mode, "phase": phase, "idle": self.idle, "raw": f"{stem}.txt",
                                      "svg": f"{stem}.svg"})
        else:
            for p in self.running:
                p.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            for p in self.running:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            self.running.clear()


def _parse(frame: str) -> tuple[str, str]:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame, ""
    return m["func"], m["file"]


def area(file: str) -> str:
    for name, needles in AREAS:
        if any(n in file for n in needles):
            return name
    return AREAS[-1][0]


def summarize(raw_path: str | Path, top: int = 15) -> dict:
    """Samples by area (the leaf frame's library) and the heaviest functions, self and inclusive."""
    by_area: collections.Counter = collections.Counter()
    self_time: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    app_inclusive: collections.Counter = collections.Counter()
    total = 0
    for line in Path(raw_path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_parse(f) for f in stack.split(";")]
        func, file = frames[-1]
        by_area[area(file)] += n
        self_time[f"{func} ({_short(file)})"] += n
        seen = set()
        for func, file in frames:
            key = f"{func} ({_short(file)})"
            if key in seen:
                continue
            seen.add(key)
            inclusive[key] += n
            if "qa/" in file:
                app_inclusive[key] += n
    pct = (lambda n: round(100.0 * n / total, 1)) if total else (lambda n: 0.0)
    return {
        "samples": total,
        "areas": [(a, pct(n)) for a, n in by_area.most_common()],
        "self": [(f, pct(n)) for f, n in self_time.most_common(top)],
        "inclusive": [(f, pct(n)) for f, n in inclusive.most_common(top * 3)
                      if not f.startswith(("<module>", "run ", "_bootstrap", "main ("))][:top],
        "app": [(f, pct(n)) for f, n in app_inclusive.most_common(top)],
    }


def _short(file: str) -> str:
    for marker in ("site-packages/", "/work/main/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file
