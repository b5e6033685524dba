"""What a joining participant or screen is sent, built from a public list shared by the event.

A join storm of thousands rebuilt the same public list from the database for
every socket (three quarters of the server's CPU in docs/benchmarks.md). The
public questions are the same for everyone, so the caller builds them once
(`public_entries`), keeps them while `public_version` says nothing changed, and
adds per join only what is the participant's own: its unpublished questions and
its `mine`/`voted` flags, read with two small indexed queries.
`participant_view` gives the same list as questions.participant_view.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Question, Vote
from .questions import PUBLIC, question_for_asker, question_to_dict, reply_to_dict

# (position is None, position, id): questions.py's display order, in Python.
SortKey = tuple[bool, int, int]
Entries = list[tuple[SortKey, dict]]


def _key(q: Question) -> SortKey:
    return (q.position is None, q.position or 0, q.id)


def public_entries(session: Session, event_id: int) -> Entries:
    """The event's public questions in display order, each with its sort key and its dict."""
    stmt = select(Question).where(Question.event_id == event_id, Question.status.in_(PUBLIC))
    rows = [(_key(q), question_to_dict(q)) for q in session.scalars(stmt)]
    rows.sort(key=lambda row: row[0])
    return rows


def public_version(session: Session, event_id: int) -> tuple[int, datetime | None]:
    """Changes whenever the public list does, in whichever process it changed, for one cheap query.

    Every change to a question (status, text, votes, position) sets its updated_at, so the
    newest updated_at among public questions moves when one changes or joins, and their
    number when one leaves. Clocks of several machines may disagree by a little, so a caller
    should also not keep a list for long (qa/web/join_cache.py keeps it one second).
    """
    count, newest = session.execute(
        select(func.count(Question.id), func.max(Question.updated_at))
        .where(Question.event_id == event_id, Question.status.in_(PUBLIC))
    ).one()
    return count, newest


def screen_view(entries: Entries) -> list[dict]:
    return [item for _key_, item in entries]


def participant_view(session: Session, event_id: int, participant_id: str | None,
                     entries: Entries) -> list[dict] | None:
    """The public questions (from `entries`) and the participant's own, flagged `mine` and `voted`;
    None when that is just the public list (`screen_view(entries)`), which the caller may then
    send as it is shared by every join.

    `participant_id` None is a participant who has just been given a new identity: it has
    nothing of its own yet, so nothing is read.
    """
    if participant_id is None:
        return None
    own = list(session.scalars(
        select(Question).where(Question.event_id == event_id, Question.participant_id == participant_id)
    ))
    voted = set(session.scalars(
        select(Vote.question_id)
        .join(Question, Question.id == Vote.question_id)
        .where(Question.event_id == event_id, Vote.participant_id == participant_id)
    ))
    if not own and not voted:
        return None
    mine = {q.id: q for q in own}
    merged = []
    for key, item in entries:
        if item["id"] in mine or item["id"] in voted:
            item = dict(item)  # the shared dicts are never changed
            if item["id"] in mine:
                item["mine"] = True
                item["reply"] = reply_to_dict(mine[item["id"]])  # the asker sees a private reply too
            if item["id"] in voted:
                item["voted"] = True
        merged.append((key, item))
    unpublished = []
    for q in own:
        if q.status not in PUBLIC:
            item = question_for_asker(q)
            if q.id in voted:
                item["voted"] = True
            unpublished.append((_key(q), item))
    if unpublished:
        merged.extend(unpublished)
        merged.sort(key=lambda row: row[0])
    return [item for _key_, item in merged]

