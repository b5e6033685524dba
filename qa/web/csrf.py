"""CSRF protection for the console's forms: one random token per session, checked on every POST."""
from __future__ import annotations

import hmac
import secrets

from flask import request, session

from ..domain.errors import DomainError

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SESSION_KEY = "csrf"


def token() -> str:
    """This session's token, made on first use (forms put it in a hidden field)."""
    value = session.get(SESSION_KEY)
    if not isinstance(value, str) or not value:
        value = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return value


def check() -> None:
    """Refuse a form whose token is missing or is not this session's."""
    expected = session.get(SESSION_KEY)
    given = request.form.get(FIELD) or request.headers.get(HEADER)
    if not isinstance(expected, str) or not expected or not given or not hmac.compare_digest(
        given.encode(), expected.encode()
    ):
        raise DomainError(
            "forbidden",
            "This form has expired or did not come from this site. Reload the page and try again.",
            FIELD,
        )
