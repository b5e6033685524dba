"""The outcome report of an event: per theme, what came in and what became of it.

Plain functions over a session: the counts per theme (the export's summary), the
top questions by votes with their written answers, the languages questions were
asked in, and questions over time per theme, with the geometry of a line chart
that the page draws as SVG (no script, no chart library).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..constants import PUBLIC_STATUSES as PUBLIC
from ..models import Event, Question
from . import events as events_domain
from .export import theme_summary

TOP = 5
# Bucket widths in minutes, from a quick session to a conference day: the first that makes at
# most MAX_BUCKETS buckets is used, so the chart has few enough points to read.
BUCKET_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
MAX_BUCKETS = 16
# Each theme's line has its own dash as well as its colour: lines that overlap, a grey print
# or a reader who does not tell the colours apart can still follow them.
DASHES = ("", "10 5", "3 4", "14 4 3 4", "6 3 6 8", "1 3")


def time_zone(name: Any) -> tzinfo:
    """An IANA zone name ("Europe/Paris") from the viewer's browser; UTC when missing or unknown."""
    if isinstance(name, str) and 0 < len(name) <= 64:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return timezone.utc


def local(when: datetime, tz: tzinfo) -> datetime:
    """A stored naive UTC time in `tz`."""
    return when.replace(tzinfo=timezone.utc).astimezone(tz)


def reply_of(question: Question) -> dict | None:
    """The written answer, if the Question model has one (added with written replies)."""
    text = getattr(question, "reply_text", None)
    if not text:
        return None
    at = getattr(question, "replied_at", None)
    return {"text": text, "public": bool(getattr(question, "reply_public", False)), "at": at}


def top_questions(questions: list[Question], limit: int = TOP) -> list[dict]:
    """The published questions with the most votes (earliest first among equals)."""
    shown = sorted((q for q in questions if q.status in PUBLIC), key=lambda q: (-q.votes, q.created_at, q.id))
    return [
        {"id": q.id, "text": q.text, "name": q.name, "votes": q.votes, "status": q.status,
         "language": q.language, "created_at": q.created_at, "reply": reply_of(q)}
        for q in shown[:limit]
    ]


def languages(questions: list[Question]) -> list[tuple[str | None, int]]:
    """(language, count), most asked first; None: could not be told."""
    counts = Counter(q.language for q in questions)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0] or "~"))


def bucket_minutes(first: datetime, last: datetime) -> int:
    span = (last - first).total_seconds() / 60
    for minutes in BUCKET_MINUTES:
        if span / minutes < MAX_BUCKETS:
            return minutes
    return BUCKET_MINUTES[-1]


def time_series(questions: list[Question], keys: list[str], tz: tzinfo = timezone.utc) -> dict:
    """Questions received per theme in each time bucket, in the viewer's zone.

    {"minutes": bucket width, "starts": [local datetime…], "counts": {key: [n…]},
     "edges": the buckets' boundaries (one more than the buckets), "cumulative": {key: [n at each edge…]}};
    no questions, no buckets.
    """
    if not questions:
        return {"minutes": 0, "starts": [], "edges": [], "counts": {k: [] for k in keys},
                "cumulative": {k: [] for k in keys}}
    times = [local(q.created_at, tz) for q in questions]
    minutes = bucket_minutes(min(times), max(times))
    step = timedelta(minutes=minutes)
    first = min(times)
    # Buckets start on a round local time: 14:05, 14:10… rather than 14:03:17.
    midnight = first.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight + step * ((first - midnight) // step)
    n = int((max(times) - start) // step) + 1
    counts = {k: [0] * n for k in keys}
    for q, when in zip(questions, times):
        counts.setdefault(q.theme, [0] * n)[int((when - start) // step)] += 1
    # Cumulative counts at each bucket's boundary, from 0 at the first: a line even for one bucket.
    cumulative = {}
    for key, row in counts.items():
        total, out = 0, [0]
        for value in row:
            total += value
            out.append(total)
        cumulative[key] = out
    return {"minutes": minutes, "starts": [start + step * i for i in range(n)],
            "edges": [start + step * i for i in range(n + 1)], "counts": counts, "cumulative": cumulative}


def nice_ceiling(value: int) -> int:
    """The chart's top: 1, 2, 5, 10, 20, 50… at or above `value`."""
    top = 1
    while top < value:
        for factor in (2, 5 / 2, 2):
            top = int(top * factor)
            if top >= value:
                break
    return top


def chart(series: dict, colours: dict[str, str], width: int = 720, height: int = 260) -> dict:
    """Where each theme's cumulative line goes in a width × height drawing, with its axes' ticks."""
    left, right, top_pad, bottom = 44, 16, 12, 36
    n = len(series["edges"])
    peak = max((row[-1] for row in series["cumulative"].values() if row), default=0)
    ceiling = nice_ceiling(max(peak, 1))
    inner_w, inner_h = width - left - right, height - top_pad - bottom

    def x(i: int) -> float:
        return round(left + (inner_w * i / (n - 1) if n > 1 else inner_w / 2), 1)

    def y(v: int) -> float:
        return round(top_pad + inner_h * (1 - v / ceiling), 1)

    lines = []
    for i, (key, colour) in enumerate(colours.items()):
        row = series["cumulative"].get(key) or []
        if row and row[-1]:
            lines.append({"key": key, "colour": colour, "dash": DASHES[i % len(DASHES)], "points": " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(row)),
                          "end": {"x": x(n - 1), "y": y(row[-1]), "value": row[-1]}})
    ticks_y = sorted({0, ceiling // 2, ceiling}) if ceiling > 1 else [0, 1]
    every = max(1, -(-n // 6))  # at most about six time labels
    ticks_x = [{"x": x(i), "at": series["edges"][i]} for i in range(0, n, every)]
    return {"width": width, "height": height, "left": left, "right": width - right, "top": top_pad,
            "bottom": height - bottom, "lines": lines,
            "dashes": {key: DASHES[i % len(DASHES)] for i, key in enumerate(colours)},
            "ticks_y": [{"y": y(v), "value": v} for v in ticks_y], "ticks_x": ticks_x}


def build(session: Session, event_id: int, lang: str | None = None, tz: tzinfo = timezone.utc,
          limit: int = TOP) -> dict:
    """Everything the report shows, in `lang` where the organiser translated the event."""
    event = session.get(Event, event_id)
    shown = events_domain.event_to_dict(event, lang)
    summary = {row["theme"]: row for row in theme_summary(session, event_id)}
    questions = list(session.scalars(
        select(Question).where(Question.event_id == event_id).order_by(Question.created_at, Question.id)))
    by_theme: dict[str, list[Question]] = {}
    for q in questions:
        by_theme.setdefault(q.theme, []).append(q)
    themes = []
    for theme in shown["themes"]:
        mine = by_theme.get(theme["key"], [])
        if theme["hidden"] and not mine:
            continue
        themes.append({**theme, **summary[theme["key"]], "label": theme["label"],
                       "top": top_questions(mine, limit), "languages": languages(mine)})
    known = {t["key"] for t in shown["themes"]}
    for key, row in summary.items():  # questions left under a key no theme has any more
        if key not in known:
            themes.append({"key": key, "prompt": "", "colour": "#6e7781", "hidden": True, **row,
                           "top": top_questions(by_theme.get(key, []), limit),
                           "languages": languages(by_theme.get(key, []))})
    keys = [t["key"] for t in themes]
    series = time_series(questions, keys, tz)
    totals = {name: sum(t[name] for t in themes)
              for name in ("received", "pending", "published", "answered", "not_published")}
    return {
        "event": shown,
        "themes": themes,
        "totals": totals,
        "languages": languages(questions),
        "series": series,
        "chart": chart(series, {t["key"]: t["colour"] for t in themes}) if questions else None,
        "first": local(questions[0].created_at, tz) if questions else None,
        "last": local(questions[-1].created_at, tz) if questions else None,
        "time_zone": getattr(tz, "key", "UTC"),
    }
