"""GET /healthz: can this process reach its database and message queue?"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..extensions import db

bp = Blueprint("health", __name__)

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
QUEUE_TIMEOUT = 2  # seconds; a load balancer's probe must not hang on a dead Redis


def _check_database() -> str | None:
    """None if a query runs, else why not (the exception's class, never its text: it may hold the URL)."""
    try:
        # Its own connection, straight back to the pool: never the request's session.
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return exc.__class__.__name__


def _check_queue(url: str) -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=QUEUE_TIMEOUT, socket_timeout=QUEUE_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
        return None
    except Exception as exc:
        return exc.__class__.__name__


@bp.get("/healthz")
def healthz():
    queue_url = current_app.config.get("MESSAGE_QUEUE")
    database = _check_database()
    queue = None
    if not queue_url:
        queue_state = "not configured"
    elif not queue_url.startswith(REDIS_SCHEMES):
        queue_state = "not checked"  # another kind of Flask-SocketIO queue (amqp://, kafka://)
    else:
        queue = _check_queue(queue_url)
        queue_state = "ok" if queue is None else f"unreachable ({queue})"
    body = {
        "ok": database is None and queue is None,
        "database": "ok" if database is None else f"unreachable ({database})",
        "message_queue": queue_state,
    }
    response = jsonify(body)
    response.status_code = 200 if body["ok"] else 503
    response.headers["Cache-Control"] = "no-store"
    return response
