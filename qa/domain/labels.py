"""Moderators' private labels on questions: what a label may be, and the event's set of them.

Labels are stored per question as a JSON list (Question.labels); an event's labels are the
ones its questions carry, so a label no question uses any more is simply gone.
"""
from __future__ import annotations

import json
import re
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Question
from .errors import DomainError
from .validation import storable

LABEL_LIMIT = 40  # characters in one label
LABELS_PER_QUESTION = 8
LABELS_PER_EVENT = 100
# The CSV export lists a question's labels in one cell, separated by "; ".
SEPARATOR = ";"
_SPACES = re.compile(r"\s+")


def labels_of(q: Question) -> list[str]:
    return _decode(q.labels) if q.labels else []


def event_labels(session: Session, event_id: int) -> list[str]:
    """Every label some question of the event carries, sorted without regard to case."""
    seen: dict[str, str] = {}
    for raw in session.scalars(select(Question.labels).where(
            Question.event_id == event_id, Question.labels.is_not(None))):
        for label in _decode(raw):
            seen.setdefault(label.casefold(), label)
    return sorted(seen.values(), key=str.casefold)


def _decode(raw: str) -> list[str]:
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def parse_labels(payload: dict) -> list[str]:
    """The `labels` of a payload, tidied: spaces collapsed, duplicates (whatever their case) once."""
    value = payload.get("labels")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DomainError("bad_request", "'labels' must be a list of strings.", "labels")
    out: list[str] = []
    folded: set[str] = set()
    for raw in value:
        if not storable(raw):
            raise DomainError("bad_request", "'%(key)s' holds characters that cannot be stored.", "labels",
                              key="labels")
        label = _SPACES.sub(" ", raw).strip()
        if not label:
            raise DomainError("invalid", "A label cannot be empty.", "labels")
        if len(label) > LABEL_LIMIT:
            raise DomainError("invalid", "The label “%(label)s…” is too long (the limit is %(limit)d characters).",
                              "labels", label=label[:20], limit=LABEL_LIMIT)
        if SEPARATOR in label:
            raise DomainError("invalid", "A label cannot contain “;”.", "labels")
        if label.casefold() not in folded:
            folded.add(label.casefold())
            out.append(label)
    if len(out) > LABELS_PER_QUESTION:
        raise DomainError("invalid", "A question can have at most %(limit)d labels.", "labels",
                          limit=LABELS_PER_QUESTION)
    return out


def fit_to_event(labels: list[str], existing: list[str]) -> list[str]:
    """The labels spelt as the event already spells them ("Follow-up", not "follow-up" beside it);
    refused if they would take the event past LABELS_PER_EVENT."""
    known = {label.casefold(): label for label in existing}
    out = [known.get(label.casefold(), label) for label in labels]
    new = [label for label in out if label.casefold() not in known]
    if new and len(known) + len(new) > LABELS_PER_EVENT:
        raise DomainError("invalid", "This event already has %(limit)d labels; reuse one of them.", "labels",
                          limit=LABELS_PER_EVENT)
    return out


def encode(labels: list[str]) -> str | None:
    return json.dumps(labels, ensure_ascii=False) if labels else None
