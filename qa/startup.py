"""What the server does once before serving: schema, demo event, the links to print."""
from __future__ import annotations

from flask import Flask

from . import schema
from .domain import translations
from .domain.events import ensure_demo_event
from .extensions import db


def prepare(app: Flask, base_url: str, demo: bool = True, show_admin_token: bool = False) -> None:
    schema.upgrade(db.engine)
    translations.warm_up()
    with app.test_request_context(base_url=base_url):
        from .web.api import event_links

        event = ensure_demo_event(db.session) if demo else None
        if event is not None:
            links = event_links(event.code, event.moderator_token)
            print(f"Created the demo event \u201c{event.title}\u201d, code {event.code}:", flush=True)
            print(f"  participant: {links['participant']}")
            print(f"  moderator:   {links['moderator']}")
            print(f"  screen:      {links['screen']}", flush=True)
    if app.config["ADMIN_TOKEN_GENERATED"] or show_admin_token:
        print(f"Admin token (for POST /api/events): {app.config['ADMIN_TOKEN']}", flush=True)
    else:
        print("Admin token: set by QA_ADMIN_TOKEN or kept in instance/admin_token "
              "(python run.py --show-admin-token prints it).", flush=True)
