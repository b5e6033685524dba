"""The organiser's rules: prepare, edit, open and close, copy, archive and delete events.

Plain functions over a session, shared by the console (qa/web/console.py), its
JSON endpoints and the command line (qa/cli.py). Title, themes and moderation
are checked by the same rules as POST /api/events (qa/domain/events.py).
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..constants import EVENT_STATUSES as STATUSES
from ..constants import QUESTION_STATUSES
from ..models import BlockedParticipant, Event, Question, QuestionHistory, Theme, Vote, utcnow
from . import events as events_domain
from . import translations
from .errors import N_, DomainError
from .questions import iso
from .transactions import begin_write
from .validation import get_str, require_object

NAMES_POLICIES = ("asked", "optional", "hidden")
DESCRIPTION_LIMIT = 2000
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
EDITABLE = ("title", "description", "starts_at", "themes", "moderation", "names", "translations")
COPY_SUFFIX = " (copy)"


def default_themes() -> list[dict]:
    """The four default themes with their colours, as a new event's form starts."""
    return [
        {**t, "colour": events_domain.default_colour(i), "hidden": False,
         "translations": translations.DEFAULT_THEME_TRANSLATIONS.get(t["key"], {})}
        for i, t in enumerate(events_domain.DEFAULT_THEMES)
    ]


def key_from_label(label: str) -> str:
    """A theme key made from its label: "Access to finance" → "access-to-finance"."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "-", ascii_label.lower()).strip("-")[:40].strip("-")
    return key or "theme"


def _with_keys(raw: Any) -> Any:
    """Give themes sent without a key one made from their label; the rest is left to the rules."""
    if not isinstance(raw, list):
        return raw
    out = []
    for item in raw:
        if isinstance(item, dict) and not (isinstance(item.get("key"), str) and item["key"].strip()):
            label = item.get("label")
            if not isinstance(label, str) or not label.strip():
                raise DomainError("invalid", "Each theme needs a label.", "themes")
            item = {**item, "key": key_from_label(label)}
        out.append(item)
    return out


def _theme_extras(raw: Any) -> list[dict]:
    """Colour and hidden flag of each theme, in order (key, label and prompt are checked by events)."""
    extras = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        colour = item.get("colour")
        if colour is None or (isinstance(colour, str) and not colour.strip()):
            colour = events_domain.default_colour(i)
        elif not isinstance(colour, str) or not COLOUR.match(colour.strip()):
            raise DomainError(
                "invalid", "Theme colour “%(colour)s” must be a hex colour like #1f6feb.", "themes",
                colour=str(colour)[:20],
            )
        hidden = item.get("hidden", False)
        if not isinstance(hidden, bool):
            raise DomainError("bad_request", "A theme's 'hidden' must be true or false.", "themes")
        extras.append({"colour": colour.strip().lower(), "hidden": hidden})
    if extras and all(e["hidden"] for e in extras):
        raise DomainError("invalid", "At least one theme must stay visible, or nobody can ask a question.",
                          "themes")
    return extras


def parse_starts_at(value: Any) -> datetime | None:
    """An ISO-8601 date and time with its time zone, as naive UTC; blank means none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise DomainError("bad_request", "'starts_at' must be a string like 2026-12-01T14:00+01:00.", "starts_at")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise DomainError(
            "invalid", "“%(value)s” is not a date and time; write it like 2026-12-01T14:00+01:00.", "starts_at",
            value=value.strip()[:40],
        ) from None
    if when.tzinfo is None:
        raise DomainError(
            "invalid", "Give the time zone with the date and time, like 2026-12-01T14:00+01:00 or …T13:00Z.",
            "starts_at",
        )
    return when.astimezone(timezone.utc).replace(tzinfo=None)


def _fields(payload: dict) -> dict:
    """Check the fields the events module does not: description, starts_at, names."""
    values: dict[str, Any] = {}
    if "description" in payload:
        values["description"] = get_str(
            payload, "description", required=False, max_len=DESCRIPTION_LIMIT,
            label=N_("description"), allow_blank=True,
        ) or ""
    if "starts_at" in payload:
        values["starts_at"] = parse_starts_at(payload["starts_at"])
    if "names" in payload:
        if payload["names"] not in NAMES_POLICIES:
            raise DomainError("invalid", "'names' must be \"asked\", \"optional\" or \"hidden\".", "names")
        values["names_policy"] = payload["names"]
    if "submissions_open" in payload and not isinstance(payload["submissions_open"], bool):
        raise DomainError("bad_request", "'submissions_open' must be true or false.", "submissions_open")
    return values


def create_event(session: Session, payload: Any) -> Event:
    """A new event from {title, description?, starts_at?, themes?, moderation?, names?,
    submissions_open?}; a draft (submissions closed) unless submissions_open is true. Commits."""
    payload = require_object(payload)
    themes = _with_keys(payload.get("themes"))
    event = events_domain.build_event(session, {
        "title": payload.get("title"), "themes": themes, "moderation": payload.get("moderation", "pre"),
        "translations": payload.get("translations"),
    })
    extras = _theme_extras(themes) if themes is not None else [
        {"colour": t["colour"], "hidden": False} for t in default_themes()
    ]
    values = _fields(payload)
    for theme, extra in zip(event.themes, extras):
        theme.colour, theme.hidden = extra["colour"], extra["hidden"]
    for name, value in values.items():
        setattr(event, name, value)
    event.submissions_open = payload.get("submissions_open") is True
    if event.submissions_open:
        event.opened_at = utcnow()
    session.add(event)
    session.commit()
    return event


def theme_question_counts(session: Session, event_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Question.theme, func.count()).where(Question.event_id == event_id).group_by(Question.theme)
    )
    return {theme: n for theme, n in rows}


def _own_theme_texts(raw: list) -> list[dict | None]:
    """Each theme's own "translations" (None where the theme sent none), checked."""
    return [
        translations.theme_texts(item.get("translations"), f"themes[{i}]")
        if isinstance(item, dict) and "translations" in item else None
        for i, item in enumerate(raw)
    ]


def _free_key(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`… if another theme has it."""
    if wanted not in taken:
        return wanted
    for n in range(2, 100):
        candidate = f"{wanted[:36]}-{n}"
        if candidate not in taken:
            return candidate
    raise DomainError("invalid", "Theme key “%(key)s” is used twice.", "themes", key=wanted)


def _merge_texts(stored: str | None, given: dict[str, dict[str, str]], langs: set[str]) -> str | None:
    """Stored JSON translations with the languages in `langs` replaced by `given`'s (dropped if blank)."""
    kept = {lang: texts for lang, texts in translations.loads(stored).items() if lang not in langs}
    kept.update({lang: texts for lang, texts in given.items() if texts})
    return translations.dumps(kept)


def _mentioned(raw: Any) -> tuple[set[str], dict[str, set[str]]]:
    """Which languages a top-level translations object names for the title, and for each theme key."""
    event_langs: set[str] = set()
    theme_langs: dict[str, set[str]] = {}
    for lang, texts in (raw or {}).items():
        if not isinstance(texts, dict):
            continue
        event_langs.add(lang)
        for key in texts.get("themes") or {}:
            theme_langs.setdefault(key, set()).add(lang)
    return event_langs, theme_langs


def _apply_themes(session: Session, event: Event, raw: Any, top_texts: dict | None = None,
                  top_langs: dict[str, set[str]] | None = None) -> None:
    """Replace the event's themes with `raw`, keeping each kept key's row (and its questions).

    A kept theme whose label changed and that has no questions gets a key made from its new
    label (the key shows in links like ?theme= and in exports, so it should say what the theme
    is); one with questions keeps its key, which they refer to.
    """
    if raw is None:
        raise DomainError("invalid", "'themes' must be a non-empty list.", "themes")
    raw = _with_keys(raw)
    checked = events_domain._validate_themes(raw)  # the same rules as when creating
    extras = _theme_extras(raw)
    own_texts = _own_theme_texts(raw)
    top_texts, top_langs = top_texts or {}, top_langs or {}
    counts = theme_question_counts(session, event.id)
    wanted = {t["key"] for t in checked}
    for theme in event.themes:
        if theme.key not in wanted and counts.get(theme.key):
            raise DomainError(
                "conflict",
                "The theme “%(label)s” already has questions (%(count)d), so it cannot be deleted; hide it instead.",
                "themes", label=theme.label, count=counts[theme.key],
            )
    existing = {t.key: t for t in event.themes}
    # Never reuse a key still on a row: a theme being removed is deleted after the others are updated.
    taken = wanted | set(existing)
    renamed: dict[str, str] = {}
    kept = []
    for position, (values, extra, texts) in enumerate(zip(checked, extras, own_texts)):
        sent_key = values["key"]
        theme = existing.get(sent_key)
        if theme is None:
            theme = Theme(key=sent_key)
        elif theme.label != values["label"] and not counts.get(sent_key):
            fitting = key_from_label(values["label"])
            if fitting != sent_key:
                theme.key = _free_key(fitting, taken)
                taken.add(theme.key)
                renamed[sent_key] = theme.key
        theme.label, theme.prompt, theme.position = values["label"], values["prompt"], position
        theme.colour, theme.hidden = extra["colour"], extra["hidden"]
        if texts is not None:
            theme.translations = translations.dumps(texts)
        elif sent_key in top_langs:
            theme.translations = _merge_texts(theme.translations, top_texts.get(sent_key, {}), top_langs[sent_key])
        kept.append(theme)
    event.themes = kept  # delete-orphan removes the themes left out
    if event.active_theme in renamed:
        event.active_theme = renamed[event.active_theme]
    visible = {t.key for t in kept if not t.hidden}
    if event.active_theme not in visible:
        event.active_theme = None


def edit_event(session: Session, event_id: int, payload: Any) -> Event:
    """Change any of title, description, starts_at, themes, moderation, names; commits."""
    payload = require_object(payload)
    if not set(EDITABLE) & payload.keys():
        raise DomainError(
            "bad_request",
            "Nothing to change: send title, description, starts_at, themes, moderation, names or translations.",
        )
    values = _fields(payload)
    if "title" in payload:
        values["title"] = get_str(payload, "title", max_len=events_domain.TITLE_LIMIT, label=N_("title"))
    if "moderation" in payload:
        if payload["moderation"] not in events_domain.MODERATION_MODES:
            raise DomainError("invalid", "'moderation' must be \"pre\" or \"post\".", "moderation")
        values["moderation"] = payload["moderation"]
    begin_write(session, event_id)
    event = session.get(Event, event_id)
    try:
        top_texts: dict = {}
        event_langs: set[str] = set()
        theme_langs: dict[str, set[str]] = {}
        if "translations" in payload:
            sent = _with_keys(payload.get("themes")) if "themes" in payload else None
            keys = ([t.get("key") for t in sent if isinstance(t, dict)] if isinstance(sent, list)
                    else [t.key for t in event.themes])
            event_texts, top_texts = translations.validate(payload["translations"], keys, [])
            event_langs, theme_langs = _mentioned(payload["translations"])
            event.translations = _merge_texts(event.translations, event_texts, event_langs)
        if "themes" in payload:
            _apply_themes(session, event, payload["themes"], top_texts, theme_langs)
        else:
            for theme in event.themes:
                if theme.key in theme_langs:
                    theme.translations = _merge_texts(theme.translations, top_texts.get(theme.key, {}),
                                                      theme_langs[theme.key])
    except DomainError:
        session.rollback()
        raise
    for name, value in values.items():
        setattr(event, name, value)
    session.commit()
    return event


def _locked(session: Session, event_id: int) -> Event:
    begin_write(session, event_id)
    event = session.get(Event, event_id)
    if event is None:
        session.rollback()
        raise DomainError("not_found", "This event no longer exists.")
    return event


def set_submissions(session: Session, event_id: int, open_: bool) -> Event:
    """Open or close submissions; an archived event must be restored first. Commits."""
    event = _locked(session, event_id)
    if open_ and event.archived_at is not None:
        session.rollback()
        raise DomainError("conflict", "The event is archived; restore it before opening it.")
    if (open_ or event.submissions_open) and event.opened_at is None:
        event.opened_at = utcnow()  # it has been open: from now on it is closed, never a draft
    event.submissions_open = open_
    session.commit()
    return event


def archive_event(session: Session, event_id: int) -> Event:
    """Archive (and close) an event; archiving twice changes nothing. Commits."""
    event = _locked(session, event_id)
    if event.archived_at is None:
        event.archived_at = utcnow()
    if event.submissions_open and event.opened_at is None:
        event.opened_at = utcnow()
    event.submissions_open = False
    session.commit()
    return event


def restore_event(session: Session, event_id: int) -> Event:
    """Take an event out of the archive, still closed. Commits."""
    event = _locked(session, event_id)
    event.archived_at = None
    session.commit()
    return event


def duplicate_event(session: Session, event_id: int) -> Event:
    """A draft copy to prepare the next session: the same settings and visible themes,
    a new code and moderator token, no questions and no date. Commits."""
    source = session.get(Event, event_id)
    title = source.title[: events_domain.TITLE_LIMIT - len(COPY_SUFFIX)] + COPY_SUFFIX
    themes = [
        {"key": t.key, "label": t.label, "prompt": t.prompt, "colour": t.colour,
         "translations": translations.loads(t.translations)}
        for t in source.themes if not t.hidden
    ]
    return create_event(session, {
        "title": title,
        "translations": translations.loads(source.translations),
        "description": source.description,
        "themes": themes or None,
        "moderation": source.moderation,
        "names": source.names_policy,
    })


def rotate_moderator_token(session: Session, event_id: int) -> Event:
    """A new moderator token: the old moderator link stops working. Commits."""
    event = _locked(session, event_id)
    event.moderator_token = secrets.token_urlsafe(24)
    session.commit()
    return event


def delete_event(session: Session, event_id: int, confirm: Any) -> dict[str, int]:
    """Delete the event and every row of it, for good, once `confirm` is its code.

    Returns how many rows of each kind went. Rows are deleted explicitly, not
    left to ON DELETE CASCADE, so nothing depends on the database enforcing it.
    """
    event = _locked(session, event_id)
    if events_domain.normalize_code(confirm) != event.code:
        session.rollback()
        raise DomainError("invalid", "To delete the event, confirm with its code “%(event_code)s”.", "confirm",
                          event_code=event.code)
    question_ids = select(Question.id).where(Question.event_id == event_id)
    counts = {
        "votes": session.execute(delete(Vote).where(Vote.question_id.in_(question_ids))).rowcount,
        "history": session.execute(
            delete(QuestionHistory).where(QuestionHistory.question_id.in_(question_ids))
        ).rowcount,
    }
    session.execute(update(Question).where(Question.event_id == event_id).values(merged_into=None))
    counts["questions"] = session.execute(delete(Question).where(Question.event_id == event_id)).rowcount
    counts["themes"] = session.execute(delete(Theme).where(Theme.event_id == event_id)).rowcount
    counts["blocked"] = session.execute(
        delete(BlockedParticipant).where(BlockedParticipant.event_id == event_id)
    ).rowcount
    session.execute(delete(Event).where(Event.id == event_id))
    session.commit()
    return counts


def status_of(event: Event, question_total: int) -> str:
    """draft (never opened, no questions), open, closed or archived."""
    if event.archived_at is not None:
        return "archived"
    if event.submissions_open:
        return "open"
    if event.opened_at is not None or question_total:
        return "closed"
    return "draft"


def question_counts(session: Session, event_ids: list[int]) -> dict[int, dict[str, int]]:
    """Questions by status for each event: {event_id: {pending, approved, answered, rejected, total}}."""
    out = {eid: {s: 0 for s in QUESTION_STATUSES} | {"total": 0} for eid in event_ids}
    if not event_ids:
        return out
    rows = session.execute(
        select(Question.event_id, Question.status, func.count())
        .where(Question.event_id.in_(event_ids))
        .group_by(Question.event_id, Question.status)
    )
    for eid, status, n in rows:
        out[eid][status] = out[eid].get(status, 0) + n
        out[eid]["total"] += n
    return out


def event_summary(event: Event, counts: dict[str, int], theme_counts: dict[str, int]) -> dict:
    """Everything the organiser sees of an event (links are added by the adapters)."""
    return {
        "code": event.code,
        "title": event.title,
        "description": event.description or "",
        "starts_at": iso(event.starts_at) if event.starts_at else None,
        "status": status_of(event, counts["total"]),
        "submissions_open": event.submissions_open,
        "active_theme": event.active_theme,
        "moderation": event.moderation,
        "names": event.names_policy,
        "moderator_token": event.moderator_token,
        "themes": [
            {"key": t.key, "label": t.label, "prompt": t.prompt,
             "colour": t.colour or events_domain.default_colour(i), "hidden": t.hidden,
             "questions": theme_counts.get(t.key, 0)}
            for i, t in enumerate(event.themes)
        ],
        "counts": counts,
        "translations": translations.of_event(event),
        "created_at": iso(event.created_at),
        "archived_at": iso(event.archived_at) if event.archived_at else None,
    }


def describe(session: Session, event: Event) -> dict:
    return event_summary(event, question_counts(session, [event.id])[event.id],
                         theme_question_counts(session, event.id))


def list_events(session: Session, include_archived: bool = False, status: str | None = None) -> list[dict]:
    """Events with their counts: dated ones soonest first, then undated ones newest first."""
    if status is not None and status not in STATUSES:
        raise DomainError("invalid", "'status' must be draft, open, closed or archived.", "status")
    stmt = select(Event)
    if not include_archived and status != "archived":
        stmt = stmt.where(Event.archived_at.is_(None))
    stmt = stmt.order_by(Event.starts_at.is_(None), Event.starts_at, Event.created_at.desc(), Event.id.desc())
    found = list(session.scalars(stmt))
    counts = question_counts(session, [e.id for e in found])
    by_theme: dict[int, dict[str, int]] = {e.id: {} for e in found}
    if found:
        rows = session.execute(
            select(Question.event_id, Question.theme, func.count())
            .where(Question.event_id.in_(by_theme))
            .group_by(Question.event_id, Question.theme)
        )
        for eid, theme, n in rows:
            by_theme[eid][theme] = n
    out = [event_summary(e, counts[e.id], by_theme[e.id]) for e in found]
    return [e for e in out if status is None or e["status"] == status]


def rows_of(session: Session, event_id: int) -> dict[str, int]:
    """How many rows of each kind belong to an event: what deleting it removes."""
    question_ids = select(Question.id).where(Question.event_id == event_id)
    return {
        "questions": session.scalar(select(func.count()).where(Question.event_id == event_id)),
        "votes": session.scalar(select(func.count()).where(Vote.question_id.in_(question_ids))),
        "history": session.scalar(
            select(func.count()).where(QuestionHistory.question_id.in_(question_ids))
        ),
        "themes": session.scalar(select(func.count()).where(Theme.event_id == event_id)),
        "blocked": session.scalar(select(func.count()).where(BlockedParticipant.event_id == event_id)),
    }
