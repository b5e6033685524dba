"""The links to an event's three pages, as the API, the console, the CLI and the start-up print them.

Needs a request context (url_for); the CLI and start-up make one with the server's base URL.
"""
from __future__ import annotations

from flask import url_for


def event_links(code: str, moderator_token: str) -> dict:
    return {
        "participant": url_for("pages.participant", code=code, _external=True),
        "moderator": url_for("pages.moderate", code=code, _external=True) + f"#token={moderator_token}",
        "screen": url_for("pages.screen", code=code, _external=True),
    }
