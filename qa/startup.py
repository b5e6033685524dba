"""What the server does once before serving: checks, schema, demo event, the links to print.

A fault found here (a setting, a database or message queue out of reach, a placeholder secret)
is a StartupError whose message fits on one line: run.py prints it and exits, no traceback.
"""
from __future__ import annotations

from flask import Flask

from . import schema
from .domain import translations
from .domain.errors import DomainError
from .domain.events import DEMO_CODE, ensure_demo_event, find_event
from .extensions import db
from .links import event_links
from .settings import SettingsError, redact

# What deploy/qa.env.example ships in QA_SECRET_KEY and QA_ADMIN_TOKEN: anyone who read the
# example could sign participants' identities or create events.
PLACEHOLDER = "CHANGE-ME"
MAKE_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
# A message queue that does not answer within this long at start is reported as unreachable.
QUEUE_TIMEOUT = 3.0


class StartupError(Exception):
    """A fault the person starting the server can fix; the message says which and how."""


def create(debug: bool = False) -> Flask:
    """create_app(), with a bad setting as a StartupError and placeholder secrets refused."""
    from . import create_app

    try:
        app = create_app()
    except SettingsError as exc:
        raise StartupError(str(exc)) from None
    check_secrets(app, allow_placeholders=debug)
    return app


def check_secrets(app: Flask, allow_placeholders: bool = False) -> None:
    if allow_placeholders or app.testing:
        return
    names = [name for name, key in (("QA_SECRET_KEY", "SECRET_KEY"), ("QA_ADMIN_TOKEN", "ADMIN_TOKEN"))
             if PLACEHOLDER in str(app.config[key]).upper()]
    if names:
        raise StartupError(
            f"{' and '.join(names)} still hold{'s' if len(names) == 1 else ''} the {PLACEHOLDER} "
            f"placeholder of deploy/qa.env.example; set each to the output of {MAKE_SECRET} "
            "(or start with --debug for a local try-out)"
        )


def check_message_queue(url: str | None) -> None:
    """Without this, a server whose Redis is down starts, then logs a retry every few seconds
    while its broadcasts reach only its own clients."""
    if not url or not url.startswith(("redis://", "rediss://", "unix://")):
        return  # none, or a queue python-socketio reaches through kombu: it reports its own faults
    import redis

    shown = f"QA_MESSAGE_QUEUE={redact(url)!r}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=QUEUE_TIMEOUT, socket_timeout=QUEUE_TIMEOUT)
    except ValueError as exc:
        raise StartupError(f"{shown} is not a Redis URL ({exc})") from None
    try:
        client.ping()
    except redis.RedisError as exc:
        raise StartupError(f"cannot reach the message queue {shown}: {_first_line(exc)}; "
                           "start Redis or fix the URL") from None
    finally:
        client.close()


def upgrade_schema(app: Flask) -> None:
    from sqlalchemy.exc import InterfaceError, OperationalError

    try:
        schema.upgrade(db.engine_of(app))
    except (OperationalError, InterfaceError) as exc:
        shown = f"QA_DATABASE_URL={redact(app.config['DATABASE_URL'])!r}"
        raise StartupError(f"cannot use the database {shown}: {_first_line(exc.orig or exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else exc.__class__.__name__


def prepare(app: Flask, base_url: str, demo: bool = True) -> None:
    check_message_queue(app.config["MESSAGE_QUEUE"])
    upgrade_schema(app)
    translations.warm_up()
    with app.test_request_context(base_url=base_url):
        event = ensure_demo_event(db.session) if demo else None
        if event is not None:
            print(f"Created the demo event \u201c{event.title}\u201d, code {event.code}:", flush=True)
        elif demo:
            # A restart: the links are still what a person starting the server needs.
            try:
                event = find_event(db.session, DEMO_CODE)
            except DomainError:
                event = None  # the organiser deleted it; the database holds other events only
            if event is not None:
                print(f"The demo event \u201c{event.title}\u201d, code {event.code}:", flush=True)
        if event is not None:
            links = event_links(event.code, event.moderator_token)
            print(f"  participant: {links['participant']}")
            print(f"  moderator:   {links['moderator']}")
            print(f"  screen:      {links['screen']}", flush=True)
    if app.config["ADMIN_TOKEN_GENERATED"]:
        show_admin_token(app)
    else:
        print("Admin token: set by QA_ADMIN_TOKEN or kept in instance/admin_token "
              "(python run.py --show-admin-token prints it).", flush=True)


def show_admin_token(app: Flask) -> None:
    print(f"Admin token (for POST /api/events): {app.config['ADMIN_TOKEN']}", flush=True)
