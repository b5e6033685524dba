"""Events and their themes: creating, finding by code, describing."""
from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Event, Theme
from . import translations
from .errors import N_, DomainError
from .transactions import begin_write
from .validation import get_str, storable

TEXT_LIMIT = 500
NAME_LIMIT = 60
TITLE_LIMIT = 200
THEME_LIMIT = 12

# No 0/O, 1/I/L: codes are read off a projector and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
THEME_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

DEFAULT_THEMES: list[dict[str, str]] = [
    {"key": "trade-facilitation", "label": "Trade facilitation",
     "prompt": "What trade facilitation solutions could the Group consider to support MSMEs?"},
    {"key": "finance", "label": "Access to finance & cross-border payments",
     "prompt": "What topics could the Group explore to support MSMEs' access to finance "
               "and cross-border payment solutions?"},
    {"key": "digitalization", "label": "Digitalization",
     "prompt": "How can the Group support digitalization to promote MSMEs' participation "
               "in international trade?"},
    {"key": "other", "label": "Other issues",
     "prompt": "What other issues or solutions could the Group consider to support MSMEs "
               "in international trade?"},
]

MODERATION_MODES = ("pre", "post")
# A theme's colour when the organiser chose none, by position; the same as --theme-1 … --theme-6
# in static/css/app.css, each with at least 4.5:1 contrast against white text.
THEME_COLOURS = ("#1f6feb", "#c05a00", "#1a7f37", "#8250df", "#bf3989", "#0a7f8c")


def default_colour(position: int) -> str:
    return THEME_COLOURS[position % len(THEME_COLOURS)]

DEMO_CODE = "MSME"
DEMO_TITLE = "Small businesses in trade: the WTO MSME Group's package and a discussion with the private sector"


def normalize_code(raw: Any) -> str:
    """Case-insensitive, forgiving of spaces and hyphens."""
    if not isinstance(raw, str) or not storable(raw):
        return ""  # no event has it; a lone surrogate would fail the lookup itself
    return re.sub(r"[\s\-]+", "", raw).upper()[:32]


def find_event(session: Session, code: Any) -> Event:
    normalized = normalize_code(code)
    event = session.scalar(select(Event).where(Event.code == normalized)) if normalized else None
    if event is None:
        raise DomainError("not_found", "No event has the code “%(event_code)s”.", event_code=str(code)[:32])
    return event


def _validate_themes(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return [dict(t) for t in DEFAULT_THEMES]
    if not isinstance(raw, list) or not raw:
        raise DomainError("invalid", "'themes' must be a non-empty list.", "themes")
    if len(raw) > THEME_LIMIT:
        raise DomainError("invalid", "An event can have at most %(limit)d themes.", "themes", limit=THEME_LIMIT)
    themes, seen = [], set()
    for item in raw:
        if not isinstance(item, dict):
            raise DomainError("bad_request", "Each theme must be an object with key and label.", "themes")
        key = get_str(item, "key", max_len=40, label=N_("theme key"))
        if not THEME_KEY.match(key):
            raise DomainError(
                "invalid", "Theme key “%(key)s” must be lowercase letters, digits and hyphens.", "themes",
                key=key,
            )
        if key in seen:
            raise DomainError("invalid", "Theme key “%(key)s” is used twice.", "themes", key=key)
        seen.add(key)
        label = get_str(item, "label", max_len=120, label=N_("theme label"))
        prompt = get_str(item, "prompt", required=False, max_len=500, label=N_("guiding question")) or ""
        themes.append({"key": key, "label": label, "prompt": prompt})
    return themes


def _new_code(session: Session) -> str:
    for _ in range(50):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(select(func.count()).where(Event.code == code)) == 0:
            return code
    raise DomainError("unavailable", "Could not allocate an event code; try again.")


def create_event(session: Session, payload: Any, code: str | None = None) -> Event:
    """Create an event from an API payload {title, themes?}; commits."""
    # The write lock first: on SQLite a read (the code's uniqueness) then a write in one
    # deferred transaction fails at once, not after the busy timeout, if another write lands between.
    begin_write(session)
    event = build_event(session, payload, code)
    session.add(event)
    session.commit()
    return event


def build_event(session: Session, payload: Any, code: str | None = None) -> Event:
    """Validate an API payload {title, themes?, moderation?} into a new Event, not yet added."""
    if not isinstance(payload, dict):
        raise DomainError("bad_request", "The request body must be a JSON object.")
    title = get_str(payload, "title", max_len=TITLE_LIMIT, label=N_("title"))
    themes = _validate_themes(payload.get("themes"))
    moderation = payload.get("moderation", "pre")
    if moderation not in MODERATION_MODES:
        raise DomainError("invalid", "'moderation' must be \"pre\" or \"post\".", "moderation")
    event = Event(
        code=code or _new_code(session),
        title=title,
        moderator_token=secrets.token_urlsafe(24),
        submissions_open=True,
        moderation=moderation,
    )
    event.themes = [Theme(position=i, **t) for i, t in enumerate(themes)]
    translations.apply(event, payload, DEFAULT_THEMES)
    for i, (theme, item) in enumerate(zip(event.themes, payload.get("themes") or [])):
        if isinstance(item, dict) and "translations" in item:  # a theme's own: wins over the rest
            theme.translations = translations.dumps(translations.theme_texts(item["translations"], f"themes[{i}]"))
    return event


def ensure_demo_event(session: Session) -> Event | None:
    """On an empty database, create the WTO MSME webinar; return it if created."""
    if session.scalar(select(func.count()).select_from(Event)) > 0:
        return None
    return create_event(session, {"title": DEMO_TITLE, "translations": translations.DEMO_TRANSLATIONS},
                        code=DEMO_CODE)


def theme_keys(event: Event) -> list[str]:
    return [t.key for t in event.themes]


def open_theme_keys(event: Event) -> list[str]:
    """The themes a participant may still ask in: a hidden theme keeps its questions, takes no more."""
    return [t.key for t in event.themes if not t.hidden]


def event_to_dict(event: Event, lang: str | None = None) -> dict:
    """The event as clients get it; with `lang`, its title and themes in that language where
    the organiser gave them (the original otherwise), every translation still under "translations"."""
    out = {
        "code": event.code,
        "title": event.title,
        "themes": [
            {"key": t.key, "label": t.label, "prompt": t.prompt,
             "colour": t.colour or default_colour(i), "hidden": bool(t.hidden)}
            for i, t in enumerate(event.themes)
        ],
        "submissions_open": event.submissions_open,
        "active_theme": event.active_theme,
        "moderation": event.moderation,
        "description": event.description or "",
        "names": event.names_policy or "optional",
        "limits": {"text": TEXT_LIMIT, "name": NAME_LIMIT},
        "translations": translations.of_event(event),
    }
    return translations.localize(out, lang) if lang in translations.TRANSLATED else out


def update_event(session: Session, event_id: int, payload: Any) -> Event:
    """Open/close submissions and set the active theme; commits."""
    if not isinstance(payload, dict):
        raise DomainError("bad_request", "The message must be a JSON object.")
    if not {"submissions_open", "active_theme", "moderation"} & payload.keys():
        raise DomainError(
            "bad_request", "Nothing to change: send submissions_open, active_theme or moderation."
        )
    if "moderation" in payload and payload["moderation"] not in MODERATION_MODES:
        raise DomainError("invalid", "'moderation' must be \"pre\" or \"post\".", "moderation")
    if "submissions_open" in payload and not isinstance(payload["submissions_open"], bool):
        raise DomainError("bad_request", "'submissions_open' must be true or false.", "submissions_open")
    begin_write(session, event_id)
    event = session.get(Event, event_id)
    if "active_theme" in payload:
        value = payload["active_theme"]
        if value is not None and (not isinstance(value, str) or value not in theme_keys(event)):
            session.rollback()
            raise DomainError("invalid", "Unknown theme “%(theme)s”.", "active_theme", theme=str(value)[:40])
        event.active_theme = value
    if "submissions_open" in payload:
        event.submissions_open = payload["submissions_open"]
    if "moderation" in payload:
        event.moderation = payload["moderation"]
    session.commit()
    return event
