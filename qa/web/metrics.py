"""GET /metrics: this process's numbers in Prometheus text format, written by prometheus_client.

Counters and gauges are per process (like `presence`): Prometheus scrapes
every server process on its own port, not through the proxy, and sums them.
Each app keeps its own CollectorRegistry in app.extensions["qa_metrics"], so
two apps in one process (the tests make one per test) never count together.
"""
from __future__ import annotations

import functools
import threading
import time
from typing import Any, Callable, ClassVar, Iterator

from flask import Blueprint, Response, current_app, has_app_context
from flask.blueprints import BlueprintSetupState
from flask_socketio import SocketIO
from prometheus_client import CollectorRegistry, Counter, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy import func, select

from ..constants import ROLES
from ..domain.questions import STATUSES
from ..extensions import db, socketio
from ..models import Question

bp = Blueprint("metrics", __name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the contract's format; the library's latest is 1.0.0
LAG_INTERVAL = 0.5  # seconds the lag probe sleeps between samples
# By python-engineio's reason ("client disconnect", "ping timeout", "transport close", ...):
# a rise in "ping timeout" is a server too busy to read its clients' pongs within 20 s.
DISCONNECT_REASONS = tuple(v for k, v in vars(SocketIO.reason).items() if k.isupper())

# Only the documented series: no `*_created` sample beside every counter.
disable_created_metrics()

_ack_events: list[str] = []  # Socket.IO events whose acks are counted (shown at 0 from the start)


class Metrics:
    """One app's registry: its counters, and the gauges read at each scrape."""

    latest: ClassVar[Metrics | None] = None  # for a count made outside any app context

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Registered in the order the families are shown.
        self.registry.register(_ScrapeGauges())
        self.emits = Counter(
            "qa_socket_emits",
            "Messages this process broadcast (before fan-out to clients and processes), by Socket.IO event.",
            ["event"], registry=self.registry,
        )
        self.acks = Counter(
            "qa_socket_acks", "Acks this process sent, by Socket.IO event and result.",
            ["event", "result"], registry=self.registry,
        )
        self.disconnects = Counter(
            "qa_socket_disconnects", "Socket.IO clients that left this process, by python-engineio's reason.",
            ["reason"], registry=self.registry,
        )
        self.registry.register(_LagFamilies())
        for reason in DISCONNECT_REASONS:
            self.disconnects.labels(reason)
        for event in _ack_events:
            self.acks.labels(event, "ok")
            self.acks.labels(event, "error")


@bp.record_once
def _init_app(state: BlueprintSetupState) -> None:
    Metrics.latest = state.app.extensions["qa_metrics"] = Metrics()


def _current() -> Metrics | None:
    if has_app_context():
        return current_app.extensions.get("qa_metrics")
    # Broadcasts are made in an app context (handlers, the coalescers' flushes); should one
    # not be, it belongs to the process's app, the last one made.
    return Metrics.latest


class _AppCounter:
    """A counter of the app at hand, for modules that count without holding an app."""

    def __init__(self, attribute: str) -> None:
        self._attribute = attribute

    def inc(self, *labels: str) -> None:
        metrics = _current()
        if metrics is not None:
            getattr(metrics, self._attribute).labels(*labels).inc()


emits = _AppCounter("emits")  # by Socket.IO event name
acks = _AppCounter("acks")  # by Socket.IO event name and result (ok, error)
disconnects = _AppCounter("disconnects")  # by reason (qa/web/sockets.py)


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


lag = LoopLag()  # one per process: the loop is the process's, whichever app runs on it


class _Activity:
    """Acks and broadcasts of the process, whichever app made them: run.py reads it to tell
    a quiet server from a busy one, where a lost increment between threads would not matter."""

    count = 0


def handled() -> int:
    """Socket.IO events acked and broadcasts sent so far by this process (run.py: is it quiet?)."""
    return _Activity.count


def counted_acks(name: str, run: Callable[..., dict]) -> Callable[..., dict]:
    """Wrap a Socket.IO handler whose return value is its ack, counting ok and error acks."""
    _ack_events.append(name)

    @functools.wraps(run)
    def counted(*args: Any) -> dict:
        ack = run(*args)
        acks.inc(name, "ok" if isinstance(ack, dict) and ack.get("ok") else "error")
        _Activity.count += 1
        lag.ensure_started()
        return ack

    return counted


class CountingEmits:
    """Stands in for the SocketIO object where broadcasts are made; counts every emit."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def emit(self, event: str, *args: Any, **kwargs: Any) -> Any:
        emits.inc(event)
        _Activity.count += 1
        lag.ensure_started()
        return self._target.emit(event, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def counting_emits(target: Any) -> CountingEmits:
    return CountingEmits(target)


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


class _ScrapeGauges:
    """Read at each scrape, in the scrape's request: connections, the database and its pool."""

    def collect(self) -> Iterator[Metric]:
        from .presence import presence  # not at import: presence imports this module

        by_role = presence.by_role()
        pool = _pool_state()  # before this request takes a connection of its own
        questions = _question_counts()
        connected = GaugeMetricFamily(
            "qa_connected_clients", "Socket.IO clients connected to this process, by role.", labels=["role"])
        for role in ROLES:
            connected.add_metric([role], by_role.get(role, 0))
        yield connected
        yield GaugeMetricFamily(
            "qa_database_up", "1 if this process could read the questions table for this scrape.",
            value=0 if questions is None else 1)
        if pool is not None:
            yield GaugeMetricFamily(
                "qa_db_pool_checked_out",
                "Database connections this process has taken from its pool and not yet returned.", value=pool[0])
            yield GaugeMetricFamily(
                "qa_db_pool_size", "Connections the pool keeps open (QA_DB_POOL_SIZE for server databases).",
                value=pool[1])
        if questions is not None:
            by_status = GaugeMetricFamily(
                "qa_questions", "Questions in the database (all events), by status.", labels=["status"])
            for status, n in sorted(questions.items()):
                by_status.add_metric([status], n)
            yield by_status


class _LagFamilies:
    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "qa_event_loop_lag_seconds", f"How late this process's last {LAG_INTERVAL} s background sleep woke up.",
            value=lag.seconds)
        yield CounterMetricFamily(
            "qa_event_loop_lag_samples", "Lag measurements taken since the probe started.", value=lag.samples)


@bp.get("/metrics")
def metrics():
    lag.ensure_started()
    response = Response(generate_latest(current_app.extensions["qa_metrics"].registry), content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response
