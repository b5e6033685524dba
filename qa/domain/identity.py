"""Participant identities: random ids, signed so that nobody can claim another's."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def _sign(secret: str, pid: str) -> str:
    mac = hmac.new(secret.encode(), b"participant:" + pid.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")


def new_participant(secret: str) -> tuple[str, str]:
    """Return (participant id to store, token the client keeps)."""
    pid = secrets.token_urlsafe(12)
    return pid, f"{pid}.{_sign(secret, pid)}"


def verify_participant(secret: str, token: object) -> str | None:
    """The participant id inside a valid token, else None."""
    if not isinstance(token, str) or len(token) > 100 or token.count(".") != 1:
        return None
    pid, mac = token.split(".")
    if pid and hmac.compare_digest(mac, _sign(secret, pid)):
        return pid
    return None
