"""Engine and session factory for any SQLAlchemy URL, tuned for SQLite when used."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Passed as a connection execution option by domain code that is about to write.
WRITE_OPTION = "qa_write"


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 20, busy_timeout_ms: int = 5000) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, busy_timeout_ms)
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_timeout=10,
    )


def _sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, decide when a transaction starts, so
        # writers can take the lock up front (BEGIN IMMEDIATE) instead of
        # failing with SQLITE_BUSY when a read snapshot turns into a write.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if ":memory:" not in url and url != "sqlite://":
            cur.execute("PRAGMA journal_mode=WAL")
        # Under eventlet or gevent a wait for SQLite's lock blocks the whole
        # process, so keep it short: past it the client gets a retryable error.
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # FULL: an acked question survives power loss, not only a crash.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
