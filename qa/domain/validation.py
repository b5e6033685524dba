"""Checks on untrusted payloads, shared by every adapter."""
from __future__ import annotations

from typing import Any

from .errors import N_, DomainError


def require_object(payload: Any) -> dict:
    if not isinstance(payload, dict):
        raise DomainError("bad_request", "The message must be a JSON object.")
    return payload


def get_int(payload: dict, key: str) -> int:
    value = payload.get(key)
    # bool is an int in Python; an id of `true` is a client bug, not question 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError("bad_request", "'%(key)s' must be an integer.", key, key=key)
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
