"""Starting a write transaction the same way on every engine."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import WRITE_OPTION
from ..models import Event


def begin_write(session: Session, event_id: int | None = None) -> None:
    """Start a transaction that will write, serialised per event.

    SQLite takes its write lock at BEGIN (see database.py); PostgreSQL locks
    the event's row, so two moderators acting at once on one event are
    applied one after the other and the second sees the first's result.
    """
    if session.in_transaction():
        # Only reads can have happened; end them so the write starts fresh.
        session.commit()
    session.connection(execution_options={WRITE_OPTION: True})
    if event_id is not None:
        lock_event(session, event_id)


def lock_event(session: Session, event_id: int) -> None:
    """In a write transaction, serialise with other writers to the same event (PostgreSQL;
    SQLite has one writer at a time anyway)."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(Event.id).where(Event.id == event_id).with_for_update())
