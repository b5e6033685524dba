"""Every question of an event with its history, for CSV and JSON downloads."""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Event, Question, QuestionHistory
from .labels import labels_of
from .questions import iso, reply_to_dict

# The CSV's columns for the written answer, labels and star: one field a column, no JSON in a cell.
REPLY_LABEL_COLUMNS = ["reply", "reply_public", "replied_at", "labels", "starred"]


def export_rows(session: Session, event_id: int) -> list[dict]:
    event = session.get(Event, event_id)
    labels = {t.key: t.label for t in event.themes}
    history: dict[int, list[dict]] = defaultdict(list)
    for h in session.scalars(
        select(QuestionHistory)
        .join(Question, Question.id == QuestionHistory.question_id)
        .where(Question.event_id == event_id)
        .order_by(QuestionHistory.id)
    ):
        detail = json.loads(h.detail) if h.detail.startswith(("{", "[")) else h.detail
        history[h.question_id].append({"action": h.action, "at": iso(h.at), "detail": detail})
    rows = []
    for q in session.scalars(select(Question).where(Question.event_id == event_id).order_by(Question.id)):
        rows.append({
            "id": q.id,
            "theme": q.theme,
            "theme_label": labels.get(q.theme, q.theme),
            "status": q.status,
            "live": q.live,
            "votes": q.votes,
            "name": q.name,
            "text": q.text,
            "position": q.position,
            "language": q.language,
            "flag": q.flag,
            "merged_into": q.merged_into,
            "reply": reply_to_dict(q),
            "labels": labels_of(q),
            "starred": bool(q.starred),
            "created_at": iso(q.created_at),
            "updated_at": iso(q.updated_at),
            "history": history.get(q.id, []),
        })
    return rows


def reply_label_cells(row: dict) -> dict:
    """An export row's reply, labels and star as the CSV's cells (REPLY_LABEL_COLUMNS)."""
    reply = row["reply"] or {}
    return {
        "reply": reply.get("text", ""),
        "reply_public": reply.get("public", "") if reply else "",
        "replied_at": reply.get("at", "") if reply else "",
        # A label never holds ";" (qa/domain/labels.py), so the cell splits back unambiguously.
        "labels": "; ".join(row["labels"]),
        "starred": row["starred"],
    }


# The CSV, one field a column: what a person reads in a spreadsheet, not what a program parses.
CSV_COLUMNS = ["id", "theme", "theme_label", "status", "live", "position", "votes", "name", "text",
               "language", "flag", "merged_into", "created_at", "updated_at", "time_zone", "history"]
CSV_TIME = "%Y-%m-%d %H:%M:%S"  # what spreadsheets read as a date and time


def local_time(value: str | None, tz: tzinfo) -> str:
    """An export row's ISO-8601 UTC instant as local wall-clock time in `tz` ("2026-12-01 14:02:13")."""
    if not value:
        return ""
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(tz).strftime(CSV_TIME)


def csv_row(row: dict, status_words: dict[str, str], tz: tzinfo) -> dict:
    """An export row as the CSV's cells: the status in the viewer's words (`status_words`, from the
    web layer's catalogue), times in the viewer's zone with the zone in its own column, and the
    history as "time action" entries separated by "; ", not JSON."""
    cells = {
        **{column: row.get(column) for column in CSV_COLUMNS},
        "status": status_words.get(row["status"], row["status"]),
        "merged_into": row.get("merged_into") or "",
        "created_at": local_time(row["created_at"], tz),
        "updated_at": local_time(row["updated_at"], tz),
        "time_zone": getattr(tz, "key", None) or "UTC",
        "history": "; ".join(f"{local_time(h['at'], tz)} {h['action']}" for h in row["history"]),
    }
    return cells


def theme_summary(session: Session, event_id: int) -> list[dict]:
    """Per theme: received, awaiting, published (approved or answered), answered, not published.

    Merged duplicates count as received and not published, like any rejected question.
    """
    def empty(key: str, label: str) -> dict:
        return {"theme": key, "label": label, "received": 0, "pending": 0,
                "published": 0, "answered": 0, "not_published": 0}

    event = session.get(Event, event_id)
    rows = {t.key: empty(t.key, t.label) for t in event.themes}
    stmt = (select(Question.theme, Question.status, func.count())
            .where(Question.event_id == event_id).group_by(Question.theme, Question.status))
    for theme, status, n in session.execute(stmt):
        row = rows.setdefault(theme, empty(theme, theme))
        row["received"] += n
        if status == "pending":
            row["pending"] += n
        elif status == "rejected":
            row["not_published"] += n
        else:
            row["published"] += n
            if status == "answered":
                row["answered"] += n
    return list(rows.values())
