"""The optional profanity filter: it flags a question for the moderator, it never drops one.

glin-profanity's word lists for English, French and Spanish, offline, with its
leetspeak and Unicode look-alike folding, so "sh1t" and "ｍｅｒｄｅ" are caught.
About half a millisecond a question; "Scunthorpe" and "assessment" pass.
"""
from __future__ import annotations

import threading

from ..constants import LANGUAGES

FLAG = "profanity"
WORDLISTS = dict(zip(LANGUAGES, ("english", "french", "spanish")))  # the filter's name for each
# Each question is checked against the list of the language it was written in: the French
# list holds "con", the Spanish word for "with". Where the language is unknown, all three
# lists are used, less the words that are innocent in another of the three languages.
INNOCENT_ELSEWHERE = ["con"]

_filters: dict[str, object] = {}
_lock = threading.Lock()


def _get_filter(language: str | None):
    key = language if language in WORDLISTS else "*"
    with _lock:
        if key not in _filters:
            from glin_profanity import Filter

            config = {"detect_leetspeak": True, "normalize_unicode": True}
            if key == "*":
                config |= {"languages": list(WORDLISTS.values()), "ignore_words": INNOCENT_ELSEWHERE}
            else:
                config["languages"] = [WORDLISTS[key]]
            _filters[key] = Filter(config)
        return _filters[key]


def flag_for(text: str, language: str | None = None) -> str | None:
    """"profanity" when the text holds a listed word of its language ("en", "fr", "es"), else None."""
    return FLAG if _get_filter(language).is_profane(text) else None
