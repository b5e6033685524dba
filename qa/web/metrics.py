"""GET /metrics: this process's numbers in Prometheus text format.

Counters and gauges are per process (like `presence`): Prometheus scrapes
every server process on its own port, not through the proxy, and sums them.
"""
from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict
from typing import Any, Callable

from flask import Blueprint, Response
from flask_socketio import SocketIO
from sqlalchemy import func, select

from ..domain.questions import STATUSES
from ..extensions import db, socketio
from ..models import Question

bp = Blueprint("metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ROLES = ("participant", "moderator", "screen")
LAG_INTERVAL = 0.5  # seconds the lag probe sleeps between samples


class Counter:
    """Monotonic counts by label values, safe from any thread or greenlet."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, ...], int] = defaultdict(int)
        self._lock = threading.Lock()

    def inc(self, *labels: str) -> None:
        with self._lock:
            self._values[labels] += 1

    def declare(self, *labels: str) -> None:
        """Show this label set as 0 before it first happens."""
        with self._lock:
            self._values.setdefault(labels, 0)

    def samples(self) -> list[tuple[tuple[str, ...], int]]:
        with self._lock:
            return sorted(self._values.items())


emits = Counter()  # by Socket.IO event name
acks = Counter()  # by Socket.IO event name and result (ok, error)
# By python-engineio's reason ("client disconnect", "ping timeout", "transport close", ...):
# a rise in "ping timeout" is a server too busy to read its clients' pongs within 20 s.
disconnects = Counter()
for _name, _reason in vars(SocketIO.reason).items():
    if _name.isupper():
        disconnects.declare(_reason)


class LoopLag:
    """How late a 0.5 s sleep wakes up: the time the event loop (or the GIL) was busy elsewhere."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.samples = 0
        self._started = False
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        # Lazily, from a request or a socket event: at import there may be no
        # server yet, and under eventlet/gevent not yet a patched one.
        if self._started:
            return
        with self._lock:
            if self._started:
                return
            self._started = True
        socketio.start_background_task(self._run)

    def _run(self) -> None:
        while True:
            start = time.monotonic()
            socketio.sleep(LAG_INTERVAL)
            self.seconds = max(0.0, time.monotonic() - start - LAG_INTERVAL)
            self.samples += 1


lag = LoopLag()


def handled() -> int:
    """Socket.IO events acked and broadcasts sent so far by this process (run.py: is it quiet?)."""
    return sum(n for _, n in acks.samples()) + sum(n for _, n in emits.samples())


def counted_acks(name: str, run: Callable[..., dict]) -> Callable[..., dict]:
    """Wrap a Socket.IO handler whose return value is its ack, counting ok and error acks."""
    acks.declare(name, "ok")
    acks.declare(name, "error")

    @functools.wraps(run)
    def counted(*args: Any) -> dict:
        ack = run(*args)
        acks.inc(name, "ok" if isinstance(ack, dict) and ack.get("ok") else "error")
        lag.ensure_started()
        return ack

    return counted


class CountingEmits:
    """Stands in for the SocketIO object where broadcasts are made; counts every emit."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def emit(self, event: str, *args: Any, **kwargs: Any) -> Any:
        emits.inc(event)
        lag.ensure_started()
        return self._target.emit(event, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def counting_emits(target: Any) -> CountingEmits:
    return CountingEmits(target)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    return "{" + ",".join(f'{n}="{_escape(str(v))}"' for n, v in zip(names, values)) + "}"


def _family(name: str, kind: str, help_text: str, samples, label_names: tuple[str, ...] = ()) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for values, value in samples:
        lines.append(f"{name}{_labels(label_names, values) if label_names else ''} {value}")
    return lines


def _question_counts() -> dict[str, int] | None:
    """Questions by status across all events, or None if the database cannot be read."""
    try:
        rows = db.session.execute(select(Question.status, func.count()).group_by(Question.status))
        counts = {status: 0 for status in STATUSES}
        counts.update({status: n for status, n in rows})
        return counts
    except Exception:
        db.session.rollback()
        return None


def _pool_state() -> tuple[int, int] | None:
    pool = db.engine.pool
    if not hasattr(pool, "checkedout"):
        return None  # e.g. in-memory SQLite's single connection
    return pool.checkedout(), pool.size()


@bp.get("/metrics")
def metrics():
    from .broadcast import presence  # not at import: broadcast imports this module

    lag.ensure_started()
    by_role = presence.by_role()
    pool = _pool_state()  # before this request takes a connection of its own
    questions = _question_counts()
    lines: list[str] = []
    lines += _family(
        "qa_connected_clients", "gauge", "Socket.IO clients connected to this process, by role.",
        [((role,), by_role.get(role, 0)) for role in ROLES], ("role",),
    )
    lines += _family(
        "qa_database_up", "gauge", "1 if this process could read the questions table for this scrape.",
        [((), 0 if questions is None else 1)],
    )
    if pool is not None:
        lines += _family(
            "qa_db_pool_checked_out", "gauge",
            "Database connections this process has taken from its pool and not yet returned.",
            [((), pool[0])],
        )
        lines += _family(
            "qa_db_pool_size", "gauge", "Connections the pool keeps open (QA_DB_POOL_SIZE for server databases).", [((), pool[1])],
        )
    if questions is not None:
        lines += _family(
            "qa_questions", "gauge", "Questions in the database (all events), by status.",
            [((status,), n) for status, n in sorted(questions.items())], ("status",),
        )
    lines += _family(
        "qa_socket_emits_total", "counter",
        "Messages this process broadcast (before fan-out to clients and processes), by Socket.IO event.",
        emits.samples(), ("event",),
    )
    lines += _family(
        "qa_socket_acks_total", "counter", "Acks this process sent, by Socket.IO event and result.",
        acks.samples(), ("event", "result"),
    )
    lines += _family(
        "qa_socket_disconnects_total", "counter",
        "Socket.IO clients that left this process, by python-engineio's reason.",
        disconnects.samples(), ("reason",),
    )
    lines += _family(
        "qa_event_loop_lag_seconds", "gauge",
        f"How late this process's last {LAG_INTERVAL} s background sleep woke up.",
        [((), f"{lag.seconds:.6f}")],
    )
    lines += _family(
        "qa_event_loop_lag_samples_total", "counter", "Lag measurements taken since the probe started.",
        [((), lag.samples)],
    )
    response = Response("\n".join(lines) + "\n", content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response
