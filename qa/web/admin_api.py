"""The organiser's operations as JSON under /api/admin, with the admin token as `Authorization: Bearer`.

Thin adapters over qa/domain/organiser.py, as the console (qa/web/console.py) is.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from flask_babel import gettext

from ..domain import events as events_domain
from ..domain import organiser
from ..domain.errors import DomainError
from ..extensions import db
from ..links import event_links
from ..models import Event
from .auth import require_token
from .event_changes import event_changed

api = Blueprint("admin_api", __name__, url_prefix="/api/admin")


def init_app(app: Flask) -> None:
    app.register_blueprint(api)


def _event(code: str) -> Event:
    return events_domain.find_event(db.session, code)



@api.before_request
def api_guard() -> None:
    require_token(current_app.config["ADMIN_TOKEN"], "admin token")


@api.errorhandler(DomainError)
def api_error(exc: DomainError):
    db.session.rollback()
    return jsonify(error=exc.to_dict(gettext)), exc.status


def _body() -> dict:
    payload = request.get_json(silent=True)
    if payload is None:
        raise DomainError("bad_request", "Send a JSON body with Content-Type: application/json.")
    return payload


def with_links(summary: dict) -> dict:
    return {**summary, "links": event_links(summary["code"], summary["moderator_token"])}


def _answer(event: Event, status: int = 200, **extra: Any):
    return jsonify({**with_links(organiser.describe(db.session, event)), **extra}), status


@api.get("/events")
def api_list():
    status = request.args.get("status") or None
    items = organiser.list_events(db.session, include_archived=request.args.get("archived") == "1", status=status)
    return jsonify(events=[with_links(item) for item in items])


@api.post("/events")
def api_create():
    return _answer(organiser.create_event(db.session, _body()), 201)


@api.get("/events/<code>")
def api_get(code: str):
    return _answer(_event(code))


@api.patch("/events/<code>")
def api_edit(code: str):
    event = organiser.edit_event(db.session, _event(code).id, _body())
    event_changed(event, "updated")
    return _answer(event)


@api.post("/events/<code>/open")
def api_open(code: str):
    event = organiser.set_submissions(db.session, _event(code).id, True)
    event_changed(event, "updated")
    return _answer(event)


@api.post("/events/<code>/close")
def api_close(code: str):
    event = organiser.set_submissions(db.session, _event(code).id, False)
    event_changed(event, "updated")
    return _answer(event)


@api.post("/events/<code>/archive")
def api_archive(code: str):
    event = organiser.archive_event(db.session, _event(code).id)
    event_changed(event, "updated")
    return _answer(event)


@api.post("/events/<code>/restore")
def api_restore(code: str):
    return _answer(organiser.restore_event(db.session, _event(code).id))


@api.post("/events/<code>/duplicate")
def api_duplicate(code: str):
    return _answer(organiser.duplicate_event(db.session, _event(code).id), 201)


@api.post("/events/<code>/rotate-token")
def api_rotate(code: str):
    event = organiser.rotate_moderator_token(db.session, _event(code).id)
    return _answer(event, disconnected=event_changed(event, "token"))


@api.delete("/events/<code>")
def api_delete(code: str):
    event = _event(code)
    event_id = event.id
    payload = request.get_json(silent=True)
    confirm = payload.get("confirm") if isinstance(payload, dict) else request.args.get("confirm")
    deleted = organiser.delete_event(db.session, event_id, confirm)
    return jsonify(deleted={"code": event.code, **deleted},
                   disconnected=event_changed(event_id, "deleted"))
