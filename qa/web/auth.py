"""Bearer tokens on HTTP requests, compared in constant time."""
from __future__ import annotations

import hmac

from flask import request

from ..domain.errors import N_, DomainError

MISSING = {
    "admin token": N_("Send the admin token as 'Authorization: Bearer <token>'."),
    "moderator token": N_("Send the moderator token as 'Authorization: Bearer <token>'."),
}
WRONG = {
    "admin token": N_("The admin token is wrong."),
    "moderator token": N_("The moderator token is wrong for this event."),
}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def require_token(expected: str, what: str) -> None:
    """`what` is "admin token" or "moderator token"."""
    given = bearer_token()
    if given is None:
        raise DomainError("unauthorized", MISSING[what])
    if not token_matches(given, expected):
        raise DomainError("forbidden", WRONG[what])
