"""An event in three languages, and the language a question was written in.

An organiser may give the event's title and each theme's label and guiding
question in French and Spanish besides the original; each person sees them in
their own language, the original where a translation is missing. Stored as JSON
text: `Event.translations` = {"fr": {"title": …}, …} and `Theme.translations` =
{"fr": {"label": …, "prompt": …}, …}; shown to clients as one object (see `describe`).

A question keeps the language it was written in (`Question.language`), found
from its text by py3langid restricted to en/fr/es, offline: see `detect_language`.
"""
from __future__ import annotations

import json
import threading
from typing import Any

from ..constants import LANGUAGES, TRANSLATED
from .errors import DomainError

EVENT_FIELDS = {"title": 200}
THEME_FIELDS = {"label": 120, "prompt": 500}

# The default themes (the WTO MSME Group's) in French and Spanish, in the WTO's
# own terms: "MPME" and "mipymes", "facilitation des échanges", "facilitación del comercio".
# French puts a no-break space (\u00a0) before ? : ; so they never start a line.
DEFAULT_THEME_TRANSLATIONS: dict[str, dict[str, dict[str, str]]] = {
    "trade-facilitation": {
        "fr": {"label": "Facilitation des échanges",
               "prompt": "Quelles solutions de facilitation des échanges le Groupe pourrait-il "
                         "envisager pour soutenir les MPME\u00a0?"},
        "es": {"label": "Facilitación del comercio",
               "prompt": "¿Qué soluciones de facilitación del comercio podría examinar el Grupo "
                         "para apoyar a las mipymes?"},
    },
    "finance": {
        "fr": {"label": "Accès au financement et paiements transfrontaliers",
               "prompt": "Quels sujets le Groupe pourrait-il explorer pour favoriser l’accès des MPME "
                         "au financement et aux solutions de paiement transfrontalier\u00a0?"},
        "es": {"label": "Acceso a la financiación y pagos transfronterizos",
               "prompt": "¿Qué temas podría explorar el Grupo para apoyar el acceso de las mipymes "
                         "a la financiación y a soluciones de pago transfronterizo?"},
    },
    "digitalization": {
        "fr": {"label": "Numérisation",
               "prompt": "Comment le Groupe peut-il soutenir la numérisation pour promouvoir la "
                         "participation des MPME au commerce international\u00a0?"},
        "es": {"label": "Digitalización",
               "prompt": "¿Cómo puede el Grupo apoyar la digitalización para promover la participación "
                         "de las mipymes en el comercio internacional?"},
    },
    "other": {
        "fr": {"label": "Autres questions",
               "prompt": "Quelles autres questions ou solutions le Groupe pourrait-il envisager pour "
                         "soutenir les MPME dans le commerce international\u00a0?"},
        "es": {"label": "Otras cuestiones",
               "prompt": "¿Qué otras cuestiones o soluciones podría examinar el Grupo para apoyar a "
                         "las mipymes en el comercio internacional?"},
    },
}

DEMO_TRANSLATIONS: dict[str, dict[str, str]] = {
    "fr": {"title": "Les petites entreprises dans le commerce\u00a0: le paquet du Groupe de l’OMC sur les MPME "
                    "et un débat avec le secteur privé"},
    "es": {"title": "Las pequeñas empresas en el comercio: el paquete del Grupo de la OMC sobre las "
                    "mipymes y un debate con el sector privado"},
}


# ---- What an organiser sends, what everyone gets ---------------------------------------
#
# Over the API an event's translations are one object, the same in POST /api/events and in
# every event dict: {"fr": {"title": …, "themes": {key: {"label": …, "prompt": …}}}, "es": …}.


def _texts(raw: Any, fields: dict[str, int], where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise DomainError("bad_request", "'%(where)s' must be an object keyed by language.", "translations",
                          where=where)
    kept = {}
    for field, value in raw.items():
        if field not in fields:
            raise DomainError("invalid", "“%(name)s” cannot be translated here.", "translations",
                              name=str(field)[:40])
        if not isinstance(value, str):
            raise DomainError("bad_request", "'%(key)s' must be a string.", "translations",
                              key=where + "." + str(field))
        value = value.strip()
        if len(value) > fields[field]:
            raise DomainError("invalid", "A translation is too long (%(length)d characters; the limit is "
                              "%(limit)d).", "translations", length=len(value), limit=fields[field])
        if value:
            kept[field] = value
    return kept


def validate(raw: Any, theme_keys: list[str], default_keys: list[str]) -> tuple[dict, dict]:
    """(event translations {lang: {title}}, theme translations {key: {lang: {label, prompt}}}).

    The default themes named in `default_keys` (some of `theme_keys`) come with their own
    French and Spanish; what the organiser sends wins.
    """
    themes: dict[str, dict[str, dict[str, str]]] = json.loads(json.dumps(
        {k: v for k, v in DEFAULT_THEME_TRANSLATIONS.items() if k in default_keys}))
    if raw is None:
        return {}, themes
    if not isinstance(raw, dict):
        raise DomainError("bad_request", "'%(where)s' must be an object keyed by language.", "translations",
                          where="translations")
    event: dict[str, dict[str, str]] = {}
    for lang, texts in raw.items():
        if lang not in TRANSLATED:
            raise DomainError("invalid", "Translations can be given in “fr” and “es”, not “%(lang)s”.",
                              "translations", lang=str(lang)[:20])
        if not isinstance(texts, dict):
            raise DomainError("bad_request", "'%(where)s' must be an object keyed by language.", "translations",
                              where="translations")
        title = _texts({k: v for k, v in texts.items() if k != "themes"}, EVENT_FIELDS, f"translations.{lang}")
        if title:
            event[lang] = title
        given = texts.get("themes", {})
        if not isinstance(given, dict):
            raise DomainError("bad_request", "'%(key)s' must be an object keyed by theme.", "translations",
                              key=f"translations.{lang}.themes")
        for key, theme_texts in given.items():
            if key not in theme_keys:
                raise DomainError("invalid", "Unknown theme “%(theme)s”.", "translations", theme=str(key)[:40])
            kept = _texts(theme_texts, THEME_FIELDS, f"translations.{lang}.themes.{key}")
            if kept:
                themes.setdefault(key, {}).setdefault(lang, {}).update(kept)
    return event, themes


def theme_texts(raw: Any, where: str = "themes") -> dict[str, dict[str, str]]:
    """One theme's own translations as the console and /api/admin send them inside the theme:
    {"fr": {"label", "prompt"}, "es": …}; blank texts are dropped."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DomainError("bad_request", "'%(where)s' must be an object keyed by language.", "themes",
                          where=where + ".translations")
    out: dict[str, dict[str, str]] = {}
    for lang, texts in raw.items():
        if lang not in TRANSLATED:
            raise DomainError("invalid", "Translations can be given in “fr” and “es”, not “%(lang)s”.",
                              "themes", lang=str(lang)[:20])
        try:
            kept = _texts(texts, THEME_FIELDS, f"{where}.translations.{lang}")
        except DomainError as exc:
            exc.field = "themes"  # shown beside the theme, where it was typed
            raise
        if kept:
            out[lang] = kept
    return out


def dumps(translations: dict) -> str | None:
    return json.dumps(translations, ensure_ascii=False, sort_keys=True) if translations else None


def loads(text: str | None) -> dict[str, dict[str, str]]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def describe(event_translations: str | None, themes: list[tuple[str, str | None]]) -> dict:
    """The stored JSON texts as the API's one object {lang: {title?, themes: {key: {label?, prompt?}}}}."""
    out: dict[str, dict] = {}
    for lang, texts in loads(event_translations).items():
        if lang in TRANSLATED and isinstance(texts, dict):
            out.setdefault(lang, {}).update({k: v for k, v in texts.items() if k in EVENT_FIELDS})
    for key, stored in themes:
        for lang, texts in loads(stored).items():
            if lang in TRANSLATED and isinstance(texts, dict):
                kept = {k: v for k, v in texts.items() if k in THEME_FIELDS}
                out.setdefault(lang, {}).setdefault("themes", {})[key] = kept
    return out


# ---- Showing an event in one language --------------------------------------------------


def localize(event: dict, lang: str | None) -> dict:
    """The event dict with its title and themes in `lang` where a translation exists."""
    if not lang or not isinstance(event, dict):
        return event
    mine = (event.get("translations") or {}).get(lang) or {}
    out = dict(event)
    if mine.get("title"):
        out["title"] = mine["title"]
    texts = mine.get("themes") or {}
    out["themes"] = [{**theme, **{k: v for k, v in (texts.get(theme.get("key")) or {}).items()
                                 if k in THEME_FIELDS and v}}
                     for theme in event.get("themes") or []]
    return out


# ---- The language a question was written in ---------------------------------------------

# py3langid (langid.py's maintained fork): a 4.6 MB wheel, offline, deterministic, and
# restricted to our three languages it was right on every short question we tried. Below
# this confidence, or for a few characters, the participant's page language is the answer.
MIN_CONFIDENCE = 0.9
MIN_LETTERS = 12

_identifier = None
_identifier_lock = threading.Lock()


def _langid():
    global _identifier
    with _identifier_lock:
        if _identifier is None:
            from py3langid.langid import _load_identifier

            _identifier = _load_identifier(norm_probs=True, langs=list(LANGUAGES))
        return _identifier


def warm_up() -> None:
    """Load the language model now (server start), not on the first question: unpacking it
    took half a second, during which a green-thread server answered nobody."""
    _langid()


def detect_language(text: str, fallback: str | None = None) -> str | None:
    """'en', 'fr' or 'es' for `text`; `fallback` (the page's language) when unsure."""
    fallback = fallback if fallback in LANGUAGES else None
    if sum(ch.isalpha() for ch in text or "") < MIN_LETTERS:
        return fallback
    lang, confidence = _langid().classify(text)
    if lang in LANGUAGES and confidence >= MIN_CONFIDENCE:
        return lang
    return fallback


# ---- Wiring into events (called from qa/domain/events.py) ------------------------------


def apply(event, payload: dict, default_themes: list[dict]) -> None:
    """Store the payload's translations, and the default themes' own, on a new event and its themes.

    A default theme keeps its French and Spanish when it arrives unchanged (the organiser's
    console always sends the theme list, prefilled with the defaults), not only when no list
    is sent; one whose English label or guiding question was changed does not.
    """
    keys = [theme.key for theme in event.themes]
    defaults = {t["key"]: t for t in default_themes}
    unchanged = [theme.key for theme in event.themes if theme.key in defaults
                 and theme.label == defaults[theme.key]["label"]
                 and (theme.prompt or "") == (defaults[theme.key].get("prompt") or "")]
    event_texts, theme_texts = validate(payload.get("translations"), keys, unchanged)
    event.translations = dumps(event_texts)
    for theme in event.themes:
        theme.translations = dumps(theme_texts.get(theme.key, {}))


def of_event(event) -> dict:
    """An Event's translations as the API shows them (see `describe`)."""
    return describe(getattr(event, "translations", None),
                    [(theme.key, getattr(theme, "translations", None)) for theme in event.themes])
