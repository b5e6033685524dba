"""Signed identities (itsdangerous): participants' random ids, so that nobody can claim
another's, and the organiser console's mark of a signed-in session."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, Signer

PARTICIPANT_SALT = "qa.participant"
ADMIN_SALT = "qa.admin"
MAX_TOKEN = 100  # characters; a participant token is 60


@functools.lru_cache(maxsize=16)
def _signer(secret: str | bytes, salt: str) -> Signer:
    return Signer(secret, salt=salt, key_derivation="hmac", digest_method=hashlib.sha256)


def participant_token(secret: str, pid: str) -> str:
    """The token a client keeps for participant `pid`: `<pid>.<signature>`."""
    return _signer(secret, PARTICIPANT_SALT).sign(pid).decode()


def new_participant(secret: str) -> tuple[str, str]:
    """Return (participant id to store, token the client keeps)."""
    pid = secrets.token_urlsafe(12)
    return pid, participant_token(secret, pid)


def verify_participant(secret: str, token: object) -> str | None:
    """The participant id inside a valid token (either format), else None."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN:
        return None
    try:
        pid = _signer(secret, PARTICIPANT_SALT).unsign(token).decode()
    except BadSignature:
        pid = _verify_before_itsdangerous(secret, token)
    return pid or None


def _verify_before_itsdangerous(secret: str, token: str) -> str | None:
    # Tokens issued before issue 16 (`<pid>.<first 16 bytes of HMAC-SHA256, base64>`): browsers
    # keep them, so they are still read; the server hands back the new format on connect.
    if token.count(".") != 1:
        return None
    pid, mac = token.split(".")
    expected = hmac.new(secret.encode(), b"participant:" + pid.encode(), hashlib.sha256).digest()
    if pid and hmac.compare_digest(mac, base64.urlsafe_b64encode(expected[:16]).decode().rstrip("=")):
        return pid
    return None


def admin_mark(secret: str | bytes, admin_token: str) -> str:
    """What a signed-in console's session keeps: changes when the admin token (or the secret)
    changes, and reveals nothing of either."""
    return _signer(secret, ADMIN_SALT).get_signature(admin_token).decode()
