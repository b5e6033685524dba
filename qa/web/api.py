"""The HTTP API under /api: JSON in, JSON out, errors as {"error": {code, message}}."""
from __future__ import annotations

import csv
import io
import json

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import gettext

from ..domain import events as events_domain
from ..domain import questions
from ..domain.errors import DomainError
from ..domain.errors import N_
from ..domain.export import (
    CSV_COLUMNS,
    REPLY_LABEL_COLUMNS,
    csv_row,
    export_rows,
    reply_label_cells,
    theme_summary,
)
from ..domain.report import time_zone
from ..extensions import db
from ..links import event_links
from .auth import WRONG, bearer_token, require_token, token_matches

bp = Blueprint("api", __name__, url_prefix="/api")
# A question's status in the CSV, as the participant page words it.
STATUS_WORDS = {"pending": N_("Awaiting moderation"), "approved": N_("Published"),
                "answered": N_("Answered"), "rejected": N_("Not published")}


@bp.post("/events")
def create_event():
    require_token(current_app.config["ADMIN_TOKEN"], "admin token")
    payload = request.get_json(silent=True)
    if payload is None:
        raise DomainError("bad_request", "Send a JSON body with Content-Type: application/json.")
    event = events_domain.create_event(db.session, payload)
    return jsonify(
        code=event.code,
        moderator_token=event.moderator_token,
        links=event_links(event.code, event.moderator_token),
    ), 201


@bp.get("/events/<code>")
def get_event(code: str):
    return jsonify(events_domain.event_to_dict(events_domain.find_event(db.session, code)))


@bp.get("/events/<code>/questions")
def list_questions(code: str):
    event = events_domain.find_event(db.session, code)
    token = bearer_token()
    if token is None:
        items, view = questions.public_questions(db.session, event.id), questions.question_to_dict
    elif token_matches(token, event.moderator_token):
        items, view = questions.all_questions(db.session, event.id), questions.question_for_moderators
    else:
        raise DomainError("forbidden", WRONG["moderator token"])
    return jsonify(questions=[view(q) for q in items])


def _moderated_event(code: str):
    event = events_domain.find_event(db.session, code)
    require_token(event.moderator_token, "moderator token")
    return event


@bp.get("/events/<code>/export.json")
def export_json(code: str):
    event = _moderated_event(code)
    body = json.dumps(
        {"event": events_domain.event_to_dict(event),
         "summary": theme_summary(db.session, event.id),
         "questions": export_rows(db.session, event.id)},
        ensure_ascii=False,
        indent=1,
    )
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{event.code}-questions.json"'},
    )


def _cell(value: str | None) -> str | None:
    # A question starting with "=" must not run as a formula in the organiser's spreadsheet.
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def _cells(row: dict) -> dict:
    """Every text cell neutralised: organisers' labels are user input as much as questions."""
    return {key: _cell(value) if isinstance(value, str) else value for key, value in row.items()}


@bp.get("/events/<code>/export.csv")
def export_csv(code: str):
    event = _moderated_event(code)
    rows = export_rows(db.session, event.id)
    out = io.StringIO()
    columns = CSV_COLUMNS + REPLY_LABEL_COLUMNS
    # Statuses in the viewer's language, times in the zone the viewer asks for (?tz=Europe/Paris; UTC if none).
    words = {status: gettext(word) for status, word in STATUS_WORDS.items()}
    tz = time_zone(request.args.get("tz"))
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        cells = {**row, **reply_label_cells(row)}
        writer.writerow(_cells({**cells, **csv_row(row, words, tz)}))
    # BOM so spreadsheet programs read the accents in French and Spanish questions.
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{event.code}-questions.csv"'},
    )


@bp.get("/events/<code>/summary")
def summary(code: str):
    event = _moderated_event(code)
    return jsonify(summary=theme_summary(db.session, event.id))


@bp.get("/events/<code>/summary.csv")
def summary_csv(code: str):
    event = _moderated_event(code)
    out = io.StringIO()
    columns = ["theme", "label", "received", "pending", "published", "answered", "not_published"]
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(_cells(row) for row in theme_summary(db.session, event.id))
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{event.code}-summary.csv"'},
    )
