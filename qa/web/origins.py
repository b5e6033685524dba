"""Which browser origins may open a socket: our own, plus QA_ALLOWED_ORIGINS."""
from __future__ import annotations

from typing import Callable


def own_origins(environ: dict) -> set[str]:
    origins = set()
    host = environ.get("HTTP_HOST")
    if host:
        origins.add(f"{environ.get('wsgi.url_scheme', 'http')}://{host}")
    # Behind a proxy the browser's origin is the proxy's public one.
    fwd_host = environ.get("HTTP_X_FORWARDED_HOST", host or "").split(",")[0].strip()
    fwd_proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip()
    if fwd_host and (fwd_proto or "HTTP_X_FORWARDED_HOST" in environ):
        origins.add(f"{fwd_proto or environ.get('wsgi.url_scheme', 'http')}://{fwd_host}")
    return origins


def origin_checker(extra: tuple[str, ...]) -> Callable[[str | None, dict], bool]:
    allowed_extra = {o.rstrip("/") for o in extra}

    def allowed(origin: str | None, environ: dict) -> bool:
        # Browsers always send Origin on cross-site requests; other clients
        # (python-socketio, curl) send none and are not a CSRF risk.
        if not origin:
            return True
        origin = origin.rstrip("/")
        return origin in allowed_extra or origin in own_origins(environ)

    return allowed
