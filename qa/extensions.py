"""Extension objects, created once and bound in create_app()."""
from __future__ import annotations

from flask import Flask, g
from flask_socketio import SocketIO
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .database import make_engine, make_session_factory


class Database:
    """One engine per app, one session per app context (HTTP request or Socket.IO event)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.factory: sessionmaker[Session] | None = None

    def init_app(self, app: Flask) -> None:
        if self.engine is not None:
            # A process builds a second app only in tests; close the first one's pool.
            self.engine.dispose()
        self.engine = make_engine(
            app.config["DATABASE_URL"],
            pool_size=app.config.get("DB_POOL_SIZE", 10),
            max_overflow=app.config.get("DB_MAX_OVERFLOW", 20),
            busy_timeout_ms=app.config.get("DB_BUSY_TIMEOUT_MS", 5000),
        )
        self.factory = make_session_factory(self.engine)
        app.extensions["qa_db"] = self
        # Flask-SocketIO runs every event in its own app context, so this
        # returns the connection to the pool after each event, not just requests.
        app.teardown_appcontext(self._close)

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = self.factory()
        return g.db_session

    @staticmethod
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()
socketio = SocketIO()
