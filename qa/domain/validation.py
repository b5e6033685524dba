"""Checks on untrusted payloads, shared by every adapter."""
from __future__ import annotations

from typing import Any

from .errors import DomainError

# Every integer a client sends is an id or a count stored in, or compared with, an INTEGER
# column: PostgreSQL's is 32-bit, and SQLite refuses past 64 bits with an OverflowError.
# Refused here, a bad id is this request's own error, not a failed write of everyone's.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def storable(value: str) -> bool:
    """False for text no database here can store: NUL (PostgreSQL) or a lone surrogate
    (which JSON can carry as an escape, and no UTF-8 encoder accepts)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_object(payload: Any) -> dict:
    if not isinstance(payload, dict):
        raise DomainError("bad_request", "The message must be a JSON object.")
    return payload


def get_int(payload: dict, key: str) -> int:
    value = payload.get(key)
    # bool is an int in Python; an id of `true` is a client bug, not question 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError("bad_request", "'%(key)s' must be an integer.", key, key=key)
    if not INT_MIN <= value <= INT_MAX:
        raise DomainError("bad_request", "'%(key)s' is out of range.", key, key=key)
    return value


def get_str(
    payload: dict, key: str, *, required: bool = True, max_len: int | None = None,
    label: str | None = None, allow_blank: bool = False,
) -> str | None:
    label = label or key
    value = payload.get(key)
    if value is None:
        if required:
            raise DomainError("bad_request", "'%(key)s' is required.", key, key=key)
        return None
    if not isinstance(value, str):
        raise DomainError("bad_request", "'%(key)s' must be a string.", key, key=key)
    if not storable(value):
        raise DomainError("bad_request", "'%(key)s' holds characters that cannot be stored.", key, key=key)
    value = value.strip()
    if not value and not allow_blank:
        if required:
            raise DomainError("invalid", "The field “%(label)s” cannot be empty.", key, label=label)
        return None
    if max_len is not None and len(value) > max_len:
        raise DomainError(
            "invalid",
            "The field “%(label)s” is too long (%(length)d characters; the limit is %(limit)d).",
            key, label=label, length=len(value), limit=max_len,
        )
    return value


def get_bool(payload: dict, key: str, default: bool | None = None) -> bool | None:
    # A key sent as null is refused, not read as its default: {"up": null} must not
    # silently take a vote back.
    value = payload.get(key, default)
    if (key in payload and value is None) or (value is not None and not isinstance(value, bool)):
        raise DomainError("bad_request", "'%(key)s' must be true or false.", key, key=key)
    return value
