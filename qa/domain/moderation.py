"""What moderators do to questions: status changes, on air, edits, queue order."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..models import BlockedParticipant, Event, Question, Vote, utcnow
from . import labels
from .errors import N_, DomainError
from .events import TEXT_LIMIT, theme_keys
from .questions import PUBLIC, add_history, get_question, next_position, public_ids
from .transactions import begin_write
from .validation import INT_MAX, INT_MIN, get_bool, get_int, get_str, require_object

ACTIONS = ("approve", "reject", "answer", "live", "unlive", "restore")
ALREADY = {
    "approved": N_("Question is already approved."),
    "answered": N_("Question is already answered."),
    "rejected": N_("Question was rejected; restore it first."),
}


@dataclass
class Change:
    """A question after a moderator's action, with what the broadcast needs to know."""

    question: Question
    was_public: bool
    status_changed: bool
    order_changed: bool = False
    # Other questions changed as a side effect (the one taken off air).
    also: list[Question] = field(default_factory=list)

    @property
    def is_public(self) -> bool:
        return self.question.status in PUBLIC


def _refuse(session: Session, message: str, **params) -> DomainError:
    session.rollback()
    return DomainError("conflict", message, "action", **params)


def _take_off_air(session: Session, event_id: int, keep: int) -> list[Question]:
    others = list(
        session.scalars(
            select(Question).where(
                Question.event_id == event_id, Question.live.is_(True), Question.id != keep
            )
        )
    )
    for other in others:
        other.live = False
        add_history(session, other, "unlive", "replaced")
    return others


def moderate(session: Session, event_id: int, payload: Any) -> Change:
    payload = require_object(payload)
    question_id = get_int(payload, "id")
    action = payload.get("action")
    if action not in ACTIONS:
        raise DomainError(
            "bad_request", "'action' must be one of: %(actions)s.", "action", actions=", ".join(ACTIONS)
        )
    begin_write(session, event_id)
    q = get_question(session, event_id, question_id)
    was_public, before = q.status in PUBLIC, q.status
    change = Change(question=q, was_public=was_public, status_changed=False)

    if action == "approve":
        if q.status != "pending":
            raise _refuse(session, ALREADY[q.status])
        q.status = "approved"
        q.position = next_position(session, event_id)
    elif action == "reject":
        if q.status == "rejected":
            raise _refuse(session, N_("Question is already rejected."))
        q.status, q.live = "rejected", False
    elif action == "answer":
        if q.status != "approved":
            raise _refuse(session, ALREADY["answered"] if q.status == "answered"
                          else N_("Only a published question can be marked answered."))
        q.status, q.live = "answered", False
    elif action == "live":
        if q.status not in PUBLIC:
            raise _refuse(session, "Only a published question can go on air.")
        if q.live:
            raise _refuse(session, "Question is already on air.")
        change.also = _take_off_air(session, event_id, keep=q.id)
        q.live = True
    elif action == "unlive":
        if not q.live:
            raise _refuse(session, "Question is not on air.")
        q.live = False
    elif action == "restore":
        if q.merged_into is not None:
            # Its votes now belong to the other question; bringing it back would split them.
            raise _refuse(session, "Question was merged into question %(into)d; it cannot be restored.",
                          into=q.merged_into)
        if q.status == "rejected":
            q.status = "pending"
        elif q.status == "answered":
            q.status = "approved"
        else:
            raise _refuse(session, "Only a rejected or answered question can be restored; this one is %(status)s.",
                          status=q.status)

    change.status_changed = q.status != before
    change.order_changed = was_public != (q.status in PUBLIC)
    add_history(session, q, action, json.dumps({"from": before, "to": q.status}))
    session.commit()
    return change


def edit(session: Session, event_id: int, event: Event, payload: Any) -> Question:
    """Change a question's text and/or theme, keeping the old values in its history."""
    payload = require_object(payload)
    question_id = get_int(payload, "id")
    if "text" not in payload and "theme" not in payload:
        raise DomainError("bad_request", "Nothing to change: send text or theme.")
    text = get_str(payload, "text", required=False, max_len=TEXT_LIMIT, label=N_("question"))
    if "text" in payload and text is None:
        raise DomainError("invalid", "The question cannot be empty.", "text")
    theme = get_str(payload, "theme", required=False, max_len=40, label=N_("theme"))
    if "theme" in payload and theme not in theme_keys(event):
        raise DomainError("invalid", "Unknown theme “%(theme)s”.", "theme", theme=str(payload.get("theme"))[:40])
    begin_write(session, event_id)
    q = get_question(session, event_id, question_id)
    old = {"text": q.text, "theme": q.theme}
    if text is not None:
        q.text = text
    if theme is not None:
        q.theme = theme
    add_history(session, q, "edit", json.dumps({"from": old, "to": {"text": q.text, "theme": q.theme}}))
    session.commit()
    return q


def reorder(session: Session, event_id: int, payload: Any) -> list[int]:
    """Put the given public questions in the given order, among the slots they hold.

    A partial list is fine: only those questions move, so two moderators
    reordering different parts of a long queue don't undo each other.
    """
    payload = require_object(payload)
    ids = payload.get("ids")
    if not isinstance(ids, list) or not ids or not all(
        isinstance(i, int) and not isinstance(i, bool) and INT_MIN <= i <= INT_MAX for i in ids
    ):
        raise DomainError("bad_request", "'ids' must be a non-empty list of question ids.", "ids")
    if len(set(ids)) != len(ids):
        raise DomainError("invalid", "'ids' lists a question twice.", "ids")
    begin_write(session, event_id)
    rows = list(
        session.scalars(
            select(Question).where(Question.event_id == event_id, Question.id.in_(ids))
        )
    )
    found = {q.id: q for q in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        session.rollback()
        raise DomainError("not_found", "No question %(id)d in this event.", "ids", id=missing[0])
    hidden = [q.id for q in rows if q.status not in PUBLIC]
    if hidden:
        session.rollback()
        raise DomainError("conflict", "Question %(id)d is not published, so it has no place in the queue.",
                          "ids", id=hidden[0])
    slots = sorted(q.position for q in rows)
    for qid, slot in zip(ids, slots):
        if found[qid].position != slot:
            session.execute(update(Question).where(Question.id == qid).values(position=slot))
    session.commit()
    return public_ids(session, event_id)


def merge(session: Session, event_id: int, payload: Any) -> tuple[Change, Question]:
    """Fold a duplicate into another question: the duplicate is hidden, its voters
    vote for the target (once each), and its author and text go in the target's history."""
    payload = require_object(payload)
    dup_id, target_id = get_int(payload, "id"), get_int(payload, "into")
    if dup_id == target_id:
        raise DomainError("invalid", "A question cannot be merged into itself.", "into")
    begin_write(session, event_id)
    dup = get_question(session, event_id, dup_id)
    target = get_question(session, event_id, target_id)
    if dup.merged_into is not None:
        raise _refuse(session, "Question %(id)d is already merged into question %(into)d.",
                      id=dup.id, into=dup.merged_into)
    if target.merged_into is not None:
        raise _refuse(session, "Question %(id)d was itself merged into question %(into)d; merge into that one.",
                      id=target.id, into=target.merged_into)
    was_public, before = dup.status in PUBLIC, dup.status

    voters = set(session.scalars(select(Vote.participant_id).where(Vote.question_id == dup.id)))
    already = set(session.scalars(select(Vote.participant_id).where(Vote.question_id == target.id)))
    for pid in sorted(voters - already):
        session.add(Vote(question_id=target.id, participant_id=pid))
    session.execute(delete(Vote).where(Vote.question_id == dup.id))
    session.flush()
    target.votes = session.scalar(select(func.count()).select_from(Vote).where(Vote.question_id == target.id))

    dup.status, dup.live, dup.votes, dup.merged_into = "rejected", False, 0, target.id
    add_history(session, dup, "merged", json.dumps({"from": before, "into": target.id}))
    add_history(session, target, "merge", json.dumps(
        {"from": dup.id, "name": dup.name, "text": dup.text, "votes": len(voters)}, ensure_ascii=False))
    session.commit()
    change = Change(question=dup, was_public=was_public, status_changed=before != "rejected",
                    order_changed=was_public)
    return change, target


def block(session: Session, event_id: int, payload: Any) -> tuple[Question, bool]:
    """Block (or with blocked=false unblock) the author of a question: their new questions are
    refused in this event; what they already sent stays for the moderators to judge."""
    payload = require_object(payload)
    question = get_question(session, event_id, get_int(payload, "id"))
    blocked = get_bool(payload, "blocked", default=True)
    begin_write(session, event_id)
    row = session.get(BlockedParticipant, (event_id, question.participant_id))
    if blocked and row is None:
        session.add(BlockedParticipant(event_id=event_id, participant_id=question.participant_id))
    elif not blocked and row is not None:
        session.delete(row)
    add_history(session, question, "block" if blocked else "unblock")
    session.commit()
    return question, blocked



REPLY_LIMIT = 2000  # characters: an answer may be longer than a question


def reply(session: Session, event_id: int, payload: Any) -> Change:
    """Give (or with text null take back) a question's written answer, public or for the asker
    only; with answer=true a published question is also marked answered, in the same step."""
    payload = require_object(payload)
    question_id = get_int(payload, "id")
    if "text" not in payload:
        raise DomainError("bad_request", "'%(key)s' is required.", "text", key="text")
    text = None
    if payload["text"] is not None:
        text = get_str(payload, "text", max_len=REPLY_LIMIT, label=N_("reply"))
    public = get_bool(payload, "public", default=False)
    answer = get_bool(payload, "answer", default=False)
    begin_write(session, event_id)
    q = get_question(session, event_id, question_id)
    was_public, before = q.status in PUBLIC, q.status
    change = Change(question=q, was_public=was_public, status_changed=False)
    if answer and q.status not in PUBLIC:
        # Refused before anything is written: the reply is not stored half-way either.
        raise _refuse(session, N_("Only a published question can be marked answered."))
    old = {"text": q.reply_text, "public": bool(q.reply_public)}
    if text is None:
        q.reply_text, q.reply_public, q.replied_at = None, False, None
    else:
        if text != q.reply_text:
            q.replied_at = utcnow()
        q.reply_text, q.reply_public = text, public
    new = {"text": q.reply_text, "public": bool(q.reply_public)}
    if new != old:
        add_history(session, q, "reply", json.dumps({"from": old, "to": new}, ensure_ascii=False))
    if answer and q.status == "approved":
        q.status, q.live = "answered", False
        add_history(session, q, "answer", json.dumps({"from": before, "to": q.status}))
    change.status_changed = q.status != before
    session.commit()
    return change


def set_labels(session: Session, event_id: int, payload: Any) -> Question:
    """Replace a question's labels (moderators only ever see them)."""
    payload = require_object(payload)
    question_id = get_int(payload, "id")
    wanted = labels.parse_labels(payload)
    begin_write(session, event_id)
    q = get_question(session, event_id, question_id)
    old = labels.labels_of(q)
    others = labels.event_labels(session, event_id)
    try:
        wanted = labels.fit_to_event(wanted, others)
    except DomainError:
        session.rollback()
        raise
    if wanted != old:
        q.labels = labels.encode(wanted)
        add_history(session, q, "labels", json.dumps({"from": old, "to": wanted}, ensure_ascii=False))
    session.commit()
    return q


def set_star(session: Session, event_id: int, payload: Any) -> Question:
    """Star a question to raise it (or with starred=false take the star off)."""
    payload = require_object(payload)
    question_id = get_int(payload, "id")
    if "starred" not in payload:
        raise DomainError("bad_request", "'%(key)s' is required.", "starred", key="starred")
    starred = get_bool(payload, "starred")
    begin_write(session, event_id)
    q = get_question(session, event_id, question_id)
    if bool(q.starred) != starred:
        q.starred = starred
        add_history(session, q, "star" if starred else "unstar")
    session.commit()
    return q
