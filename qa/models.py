"""The tables, as typed SQLAlchemy 2 models (no Flask here)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    moderator_token: Mapped[str] = mapped_column(String(100))
    submissions_open: Mapped[bool] = mapped_column(Boolean, default=True)
    active_theme: Mapped[str | None] = mapped_column(String(40), default=None)
    # "pre": questions wait for a moderator; "post": public at once, moderators can still reject.
    moderation: Mapped[str] = mapped_column(String(8), default="pre", server_default="pre")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Organiser console (qa/domain/organiser.py): what the event is, when, and its life cycle.
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    starts_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)  # UTC
    # "asked": a name is required; "optional"; "hidden": no name field, every question anonymous.
    names_policy: Mapped[str] = mapped_column(String(10), default="optional", server_default="optional")
    opened_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)  # first opened from the console
    archived_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # French and Spanish title, as JSON text (qa/domain/translations.py); None: none given.
    translations: Mapped[str | None] = mapped_column(Text, default=None)

    themes: Mapped[list[Theme]] = relationship(
        back_populates="event",
        order_by="Theme.position",
        cascade="all, delete-orphan",
    )


class Theme(Base):
    __tablename__ = "themes"
    __table_args__ = (UniqueConstraint("event_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(120))
    prompt: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)
    colour: Mapped[str | None] = mapped_column(String(7), default=None)  # "#rrggbb"; None: by position
    # A theme that has questions is hidden rather than deleted.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # French and Spanish label and guiding question, as JSON text (qa/domain/translations.py).
    translations: Mapped[str | None] = mapped_column(Text, default=None)

    event: Mapped[Event] = relationship(back_populates="themes")


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (
        # Idempotent submission: one question per participant and client_id.
        UniqueConstraint("event_id", "participant_id", "client_id"),
        # The public list and the snapshot read questions by event and status.
        Index("ix_questions_event_status_position", "event_id", "status", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    theme: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(String(80), default=None)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    votes: Mapped[int] = mapped_column(Integer, default=0)
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    # Queue order among public questions; None until first approved.
    position: Mapped[int | None] = mapped_column(Integer, default=None)
    # Set when a moderator merged this duplicate into another question.
    merged_into: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="SET NULL", name="fk_questions_merged_into"), default=None
    )
    # "en", "fr" or "es": the language it was written in, if it could be told.
    language: Mapped[str | None] = mapped_column(String(2), default=None)
    # Why a moderator should look twice ("profanity"); a flagged question always waits for one.
    flag: Mapped[str | None] = mapped_column(String(20), default=None)
    # A moderator's written answer; the asker always sees it, everyone else only if public.
    reply_text: Mapped[str | None] = mapped_column(Text, default=None)
    reply_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    replied_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    # Moderators' own: labels (a JSON list of strings; qa/domain/labels.py) and a star.
    labels: Mapped[str | None] = mapped_column(Text, default=None)
    starred: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Vote(Base):
    __tablename__ = "votes"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BlockedParticipant(Base):
    """A participant a moderator blocked: their new questions are refused."""

    __tablename__ = "blocked_participants"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class QuestionHistory(Base):
    """What happened to a question: moderation actions and edits, with the old values."""

    __tablename__ = "question_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
