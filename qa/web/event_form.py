"""The console's event form: its fields read into the payload the domain (and /api/admin) takes,
and the values the form shows (an event's, the defaults, or what was just submitted)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from werkzeug.datastructures import MultiDict

from ..constants import TRANSLATED
from ..domain import organiser
from ..domain.errors import DomainError

THEME_FIELD = re.compile(r"^themes-(\d{1,3})-(key|label|prompt|colour|hidden|label_fr|prompt_fr|label_es|prompt_es)$")


def local_to_iso(value: str, offset: str) -> str:
    """A datetime-local value and the browser's getTimezoneOffset() as ISO-8601 with its zone."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value  # the domain says what is wrong with it
    if when.tzinfo is not None:
        return when.isoformat()
    try:
        minutes = int(offset)
    except (TypeError, ValueError):
        minutes = 0  # no script ran: the form said the time is UTC
    if abs(minutes) > 18 * 60:
        minutes = 0
    return when.replace(tzinfo=timezone(-timedelta(minutes=minutes))).isoformat()


def form_themes(form: MultiDict) -> list[dict]:
    rows: dict[int, dict[str, Any]] = {}
    for name, value in form.items(multi=False):
        match = THEME_FIELD.match(name)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
    themes = []
    texts = [f"{f}_{lang}" for lang in TRANSLATED for f in ("label", "prompt")]
    for _, row in sorted(rows.items()):
        if not any((row.get(f) or "").strip() for f in ("key", "label", "prompt", *texts)):
            continue  # an empty row left in the form
        themes.append({
            "key": (row.get("key") or "").strip(),
            "label": row.get("label") or "",
            "prompt": row.get("prompt") or "",
            "colour": row.get("colour") or "",
            "hidden": row.get("hidden") in ("on", "1", "true"),
        })
        if any(f in row for f in texts):
            # Blank fields are sent too, so that a translation cleared in the form is cleared.
            themes[-1]["translations"] = {lang: {"label": row.get(f"label_{lang}") or "",
                                                 "prompt": row.get(f"prompt_{lang}") or ""} for lang in TRANSLATED}
    return themes


def form_translations(form: MultiDict) -> dict:
    """The title's French and Spanish, as the domain takes them (blank clears)."""
    return {lang: {"title": form.get(f"title_{lang}", "")} for lang in TRANSLATED if f"title_{lang}" in form}


def form_payload(form: MultiDict) -> dict:
    """The event form as the payload the domain (and the JSON API) takes."""
    themes = form_themes(form)
    if not themes:
        raise DomainError("invalid", "Add at least one theme.", "themes")
    return {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "starts_at": local_to_iso(form.get("starts_at", ""), form.get("tz_offset", "")),
        "themes": themes,
        "moderation": form.get("moderation", "pre"),
        "names": form.get("names", "optional"),
        **({"translations": translations} if (translations := form_translations(form)) else {}),
    }


def form_values(summary: dict | None = None, form: MultiDict | None = None) -> dict:
    """What the event form shows: an event's values, defaults, or what was just submitted."""
    counts = {t["key"]: t["questions"] for t in summary["themes"]} if summary else {}
    if form is not None:
        themes = [{**t, "questions": counts.get(t["key"], 0)} for t in form_themes(form)]
        return {
            "title": form.get("title", ""), "description": form.get("description", ""),
            "title_translations": {lang: form.get(f"title_{lang}", "") for lang in TRANSLATED},
            "starts_at_value": form.get("starts_at", ""), "starts_at_utc": "",
            "moderation": form.get("moderation", "pre"), "names": form.get("names", "optional"),
            "themes": themes or [BLANK_THEME], "open_now": form.get("open_now") == "on",
        }
    if summary is None:
        # A new event starts with one empty theme; the demo's four are one click away (use_defaults).
        return {
            "title": "", "description": "", "title_translations": {}, "starts_at_value": "", "starts_at_utc": "",
            "moderation": "pre", "names": "optional", "themes": [BLANK_THEME], "open_now": False,
        }
    starts = summary["starts_at"]
    texts = summary.get("translations") or {}
    themes = [{**t, "translations": {lang: (texts.get(lang, {}).get("themes") or {}).get(t["key"], {})
                                     for lang in TRANSLATED}} for t in summary["themes"]]
    return {
        "title": summary["title"], "description": summary["description"],
        "title_translations": {lang: texts.get(lang, {}).get("title", "") for lang in TRANSLATED},
        "starts_at_value": starts[:16] if starts else "", "starts_at_utc": starts or "",
        "moderation": summary["moderation"], "names": summary["names"],
        "themes": themes, "open_now": False,
    }


BLANK_THEME: dict = {"key": "", "label": "", "prompt": "", "colour": "", "hidden": False, "questions": 0,
                     "translations": {}}


def with_default_themes(values: dict) -> dict:
    """The form as it was, with the WTO MSME Group's four themes (and their translations) in place
    of the theme rows still empty, added after the ones already filled in."""
    filled = [t for t in values["themes"] if (t.get("label") or "").strip()]
    have = {t["key"] for t in filled}
    defaults = [{**t, "questions": 0} for t in organiser.default_themes() if t["key"] not in have]
    return {**values, "themes": filled + defaults}

