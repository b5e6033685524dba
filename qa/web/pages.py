"""The four HTML pages and the join QR code."""
from __future__ import annotations

import io
from datetime import datetime

import segno
from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from flask import Blueprint, Response, render_template, request, url_for

from ..constants import LANGUAGES
from ..domain import events as events_domain
from ..domain.organiser import status_of
from ..domain.questions import question_total
from ..domain import report as report_domain
from ..extensions import db
from ..i18n import current_language
from .auth import bearer_token, token_matches

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


# A link copied or typed with a trailing slash reaches the page too; the rule without it is
# registered first (the inner decorator), so url_for still builds /e/<code>.
@bp.get("/e/<code>/")
@bp.get("/e/<code>")
def participant(code: str):
    context = _context(code)
    event = events_domain.find_event(db.session, code)
    # A draft is not "closed": its questions open soon (qa/domain/organiser.py's life cycle).
    draft = status_of(event, question_total(db.session, event.id)) == "draft"
    return render_template("participant.html", draft=draft, **context)


@bp.get("/e/<code>/moderate")
def moderate(code: str):
    return render_template("moderate.html", **_context(code))


@bp.get("/e/<code>/screen")
def screen(code: str):
    return render_template("screen.html", **_context(code))


@bp.route("/e/<code>/report", methods=["GET", "POST"])
def report(code: str):
    """The outcome report (moderator token), printable. The token comes as `Authorization:
    Bearer`, or posted by the page's own form (report.js fills it from the moderator link's
    #token or the desk's stored one), never in the address, where it would end up in logs."""
    event = events_domain.find_event(db.session, code)
    given = request.form.get("token", "").strip() if request.method == "POST" else bearer_token()
    if given and "#token=" in given:
        given = given.split("#token=", 1)[1]
    context = {**_context(code), "asked": bool(given)}
    if not token_matches(given or None, event.moderator_token):
        return render_template("report.html", report=None, **context), (403 if given else 200)
    tz = report_domain.time_zone(request.form.get("tz") or request.args.get("tz"))
    data = report_domain.build(db.session, event.id, current_language(), tz)
    return render_template("report.html", report=data, language_names=language_names(), **context)


@bp.app_template_filter("report_datetime")
def report_datetime(when: datetime) -> str:
    """A local time as the page's language writes a date and time, without seconds:
    "Dec 4, 2026, 3:09 PM", "4 déc. 2026, 15:09"."""
    locale = current_language()
    pattern = str(get_datetime_format("medium", locale=locale))
    return pattern.replace("{1}", format_date(when, "medium", locale=locale)).replace(
        "{0}", format_time(when, "short", tzinfo=when.tzinfo, locale=locale))


@bp.app_template_filter("report_time")
def report_time(when: datetime) -> str:
    """Hours and minutes in the page's language ("3:05 PM", "15:05")."""
    return format_time(when, "short", tzinfo=when.tzinfo, locale=current_language())


def language_names() -> dict:
    """Each language's name in the page's language: "French", "français", "francés"."""
    names = Locale.parse(current_language()).languages
    return {code: names.get(code, code) for code in LANGUAGES}


@bp.get("/e/<code>/qr.svg")
def qr(code: str):
    event = events_domain.find_event(db.session, code)
    url = url_for("pages.participant", code=event.code, _external=True)
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=10, border=2, dark="#000", light="#fff")
    return Response(out.getvalue(), mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=3600"})
