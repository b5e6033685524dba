"""Settings from the environment (and an optional .env), with instance-kept secrets."""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, fields
from pathlib import Path

from .constants import ASYNC_MODES, DEFAULT_ASYNC_MODE


class SettingsError(ValueError):
    """A setting the server cannot start with; the message names it and says what would do."""


def redact(url: str) -> str:
    """`url` with its password, if any, replaced: messages and logs may be shared."""
    return re.sub(r"(://[^:/@]*:)[^/?#]*@", r"\1***@", url)


def _database_url(url: str) -> str:
    """Refuse a QA_DATABASE_URL SQLAlchemy cannot use, before anything tries to connect."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    shown = f"QA_DATABASE_URL={redact(url)!r}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SettingsError(f"{shown} is not a database URL; use e.g. "
                            "postgresql+psycopg://user@host/db or sqlite:////path/to/qa.sqlite3") from None
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise SettingsError(f"{shown} names a database SQLAlchemy does not know ({parsed.drivername}); "
                            "use postgresql+psycopg://… or sqlite:///…") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise SettingsError(f"{shown} needs the Python package {exc.name or exc}, which is not installed; "
                            "use postgresql+psycopg://… (psycopg 3 is) or sqlite:///…") from None
    return url


def _message_queue(raw: str) -> str | None:
    url = raw.strip()
    if url and not re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
        raise SettingsError(f"QA_MESSAGE_QUEUE={redact(url)!r} is not a URL; use e.g. redis://127.0.0.1:6379/0")
    return url or None


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    admin_token: str
    admin_token_generated: bool
    message_queue: str | None = None
    async_mode: str = DEFAULT_ASYNC_MODE
    allowed_origins: tuple[str, ...] = ()
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_busy_timeout_ms: int = 5000
    rate_limits: bool = True
    max_sockets_per_address: int = 500
    trusted_proxies: int = 0
    profanity_filter: bool = False
    speedups: bool = True  # qa/web/speedups.py; off: the libraries as shipped

    def config(self) -> dict:
        """Each setting as the app's config key: its name in capitals (DATABASE_URL, …)."""
        return {f.name.upper(): getattr(self, f.name) for f in fields(self)}


def _instance_secret(instance: Path, name: str) -> tuple[str, bool]:
    """Read a secret kept in the instance folder, creating it on first use."""
    path = instance / name
    if path.exists():
        return path.read_text().strip(), False
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    # Created 0600 so other local users cannot read the organiser's token.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value, True


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("", "0", "off", "false", "no")


def load_settings(instance_path: str | os.PathLike, env: dict | None = None) -> Settings:
    """Build settings from `env` (default: os.environ after loading .env)."""
    if env is None:
        try:
            from dotenv import load_dotenv

            load_dotenv(override=False)
        except ImportError:  # pragma: no cover - python-dotenv is a pinned requirement
            pass
        env = dict(os.environ)
    instance = Path(instance_path)

    async_mode = env.get("QA_ASYNC_MODE", DEFAULT_ASYNC_MODE).strip() or DEFAULT_ASYNC_MODE
    if async_mode not in ASYNC_MODES:
        raise SettingsError(
            f"QA_ASYNC_MODE={async_mode!r} is not one of {', '.join(ASYNC_MODES)}"
        )

    database_url = env.get("QA_DATABASE_URL", "").strip()
    if database_url:
        _database_url(database_url)
    else:
        instance.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{(instance / 'qa.sqlite3').resolve()}"

    secret_key = env.get("QA_SECRET_KEY", "").strip()
    if not secret_key:
        secret_key, _ = _instance_secret(instance, "secret_key")

    admin_token = env.get("QA_ADMIN_TOKEN", "").strip()
    generated = False
    if not admin_token:
        admin_token, generated = _instance_secret(instance, "admin_token")

    origins = tuple(
        o.strip().rstrip("/")
        for o in env.get("QA_ALLOWED_ORIGINS", "").split(",")
        if o.strip()
    )
    return Settings(
        database_url=database_url,
        secret_key=secret_key,
        admin_token=admin_token,
        admin_token_generated=generated,
        message_queue=_message_queue(env.get("QA_MESSAGE_QUEUE", "")),
        async_mode=async_mode,
        allowed_origins=origins,
        db_pool_size=_int(env, "QA_DB_POOL_SIZE", 10),
        db_max_overflow=_int(env, "QA_DB_MAX_OVERFLOW", 20),
        db_busy_timeout_ms=_int(env, "QA_DB_BUSY_TIMEOUT_MS", 5000),
        rate_limits=_flag(env.get("QA_RATE_LIMITS", "on")),
        max_sockets_per_address=_int(env, "QA_MAX_SOCKETS_PER_ADDRESS", 500),
        trusted_proxies=_int(env, "QA_TRUSTED_PROXIES", 0),
        profanity_filter=_flag(env.get("QA_PROFANITY_FILTER", "off")),
        speedups=_flag(env.get("QA_SPEEDUPS", "on")),
    )
