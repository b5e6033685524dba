"""Extension objects, created once and bound in create_app()."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g
from flask_socketio import SocketIO
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .database import make_engine, make_session_factory


@dataclass(frozen=True)
class _Bound:
    engine: Engine
    factory: sessionmaker[Session]


class Database:
    """One engine per app, one session per app context (HTTP request or Socket.IO event).

    The engine lives in app.extensions, not on this object: a process that builds a second app
    (tests, the CLI beside a server) must neither share the first one's pool nor close it.
    """

    def init_app(self, app: Flask) -> None:
        old: _Bound | None = app.extensions.get("qa_db")
        if old is not None:  # bound again to another URL: the old pool is this app's to close
            old.engine.dispose()
        engine = make_engine(
            app.config["DATABASE_URL"],
            pool_size=app.config.get("DB_POOL_SIZE", 10),
            max_overflow=app.config.get("DB_MAX_OVERFLOW", 20),
            busy_timeout_ms=app.config.get("DB_BUSY_TIMEOUT_MS", 5000),
        )
        app.extensions["qa_db"] = _Bound(engine, make_session_factory(engine))
        if old is None:
            # Flask-SocketIO runs every event in its own app context, so this
            # returns the connection to the pool after each event, not just requests.
            app.teardown_appcontext(self._close)

    @staticmethod
    def engine_of(app: Flask) -> Engine:
        return app.extensions["qa_db"].engine

    @property
    def engine(self) -> Engine:
        """The current app's engine (outside an app context, use engine_of(app))."""
        return self.engine_of(current_app)

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = current_app.extensions["qa_db"].factory()
        return g.db_session

    @staticmethod
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()
socketio = SocketIO()
