"""GET /healthz (qa/web/health.py): 200 when the database and the queue answer, 503 when not."""
from __future__ import annotations

import pytest

from live_server import free_port
from qa.extensions import db


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    return free_port()


def test_healthy_database_without_queue(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"ok": True, "database": "ok", "message_queue": "not configured"}
    assert r.headers["Cache-Control"] == "no-store"


def test_healthy_with_redis(make_app, postgres_url, redis_url):
    r = make_app(postgres_url, QA_MESSAGE_QUEUE=redis_url).test_client().get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"ok": True, "database": "ok", "message_queue": "ok"}


def test_unreachable_postgres_is_503_and_hides_the_url(make_app):
    url = f"postgresql+psycopg://qa:hunter2@127.0.0.1:{closed_port()}/qa"
    r = make_app(url).test_client().get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["ok"] is False
    assert body["database"].startswith("unreachable (")
    assert body["message_queue"] == "not configured"
    assert "hunter2" not in r.get_data(as_text=True)


def test_unreadable_sqlite_is_503(make_app, tmp_path):
    r = make_app(f"sqlite:///{tmp_path / 'no-such-dir' / 'qa.sqlite3'}").test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["database"].startswith("unreachable (")


def test_unreachable_queue_is_503(make_app, tmp_path):
    url = f"redis://127.0.0.1:{closed_port()}/0"
    r = make_app(f"sqlite:///{tmp_path / 'qa.sqlite3'}", QA_MESSAGE_QUEUE=url).test_client().get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert body == {"ok": False, "database": "ok", "message_queue": body["message_queue"]}
    assert body["message_queue"].startswith("unreachable (")


def test_a_queue_that_is_not_redis_is_not_probed(make_app, tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'qa.sqlite3'}")
    app.config["MESSAGE_QUEUE"] = "amqp://127.0.0.1:1//"  # kombu; the check only knows Redis
    r = app.test_client().get("/healthz")
    assert r.status_code == 200
    assert r.get_json()["message_queue"] == "not checked"


def test_health_check_returns_its_connection(make_app, postgres_url):
    app = make_app(postgres_url, QA_DB_POOL_SIZE="1", QA_DB_MAX_OVERFLOW="0")
    client = app.test_client()
    for _ in range(5):  # with a leak, the second check would wait for the pool and fail
        assert client.get("/healthz").status_code == 200
    assert db.engine_of(app).pool.checkedout() == 0
