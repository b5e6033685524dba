"""The four HTML pages and the join QR code."""
from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, render_template, url_for

from ..domain import events as events_domain
from ..extensions import db

bp = Blueprint("pages", __name__)


@bp.get("/")
def join():
    return render_template("join.html")


def _context(code: str) -> dict:
    event = events_domain.find_event(db.session, code)
    return {
        "event": events_domain.event_to_dict(event),
        "participant_url": url_for("pages.participant", code=event.code, _external=True),
        "screen_url": url_for("pages.screen", code=event.code, _external=True),
    }


@bp.get("/e/<code>")
def participant(code: str):
    return render_template("participant.html", **_context(code))


@bp.get("/e/<code>/moderate")
def moderate(code: str):
    return render_template("moderate.html", **_context(code))


@bp.get("/e/<code>/screen")
def screen(code: str):
    return render_template("screen.html", **_context(code))


@bp.get("/e/<code>/qr.svg")
def qr(code: str):
    event = events_domain.find_event(db.session, code)
    url = url_for("pages.participant", code=event.code, _external=True)
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=10, border=2, dark="#000", light="#fff")
    return Response(out.getvalue(), mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=3600"})
