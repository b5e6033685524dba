"""The organiser console under /admin: HTML pages over qa/domain/organiser.py.

It signs in with the admin token once and keeps a session cookie (HttpOnly,
SameSite=Lax, Secure over HTTPS); every form carries a CSRF token. The same
operations as JSON are in qa/web/admin_api.py.
"""
from __future__ import annotations

import hmac
import time
from datetime import datetime, timezone

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from babel.dates import format_date, format_time, get_datetime_format
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale, gettext, ngettext

from ..domain import events as events_domain
from ..domain import organiser
from ..domain.errors import DomainError
from ..domain.identity import admin_mark
from ..extensions import db
from ..links import event_links
from ..models import Event
from . import csrf
from .auth import WRONG, token_matches
from .event_changes import event_changed
from .event_form import form_payload, form_values, with_default_themes

bp = Blueprint("admin", __name__, url_prefix="/admin")

SESSION_SECONDS = 12 * 3600  # a signed-in console lasts a working day
# The console shows these in the page's language (pgettext "event status" in templates/admin/events.html).
STATUS_WORDS = {"draft": "Draft", "open": "Open", "closed": "Closed", "archived": "Archived"}
# Errors about one theme's key, label or prompt are shown beside the themes.
FORM_FIELDS = {"key": "themes", "label": "themes", "prompt": "themes"}


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    app.session_interface = SessionCookie()
    app.register_blueprint(bp)


# ---- Signing in ----------------------------------------------------------------------


def _admin_mark() -> str:
    """What the session keeps: changes when the admin token changes, reveals nothing of it."""
    return admin_mark(current_app.config["SECRET_KEY"], current_app.config["ADMIN_TOKEN"])


def signed_in() -> bool:
    mark, since = session.get("admin"), session.get("admin_since")
    return (
        isinstance(mark, str)
        and hmac.compare_digest(mark.encode(), _admin_mark().encode())
        and isinstance(since, (int, float))
        and 0 <= time.time() - since < SESSION_SECONDS
    )


@bp.before_request
def guard():
    if request.method == "POST":
        csrf.check()
    if request.endpoint in ("admin.index", "admin.sign_in") or signed_in():
        return None
    if request.method == "GET":
        return redirect(url_for("admin.index"))
    raise DomainError("unauthorized", "Sign in with the admin token first.")


@bp.context_processor
def template_helpers() -> dict:
    return {"signed_in": signed_in(), "csrf_token": csrf.token, "status_words": STATUS_WORDS,
            "local_datetime": local_datetime}


def local_datetime(iso: str | None) -> str:
    """An ISO-8601 instant as the page's language writes a date and time, in UTC
    ("Dec 1, 2026, 13:30 UTC", "1 déc. 2026, 13:30 UTC"); admin.js shows it in local time."""
    if not iso:
        return ""
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    locale = get_locale() or "en"
    pattern = str(get_datetime_format("medium", locale=locale))
    text = pattern.replace("{1}", format_date(when, "medium", locale=locale)).replace(
        "{0}", format_time(when, "short", tzinfo=timezone.utc, locale=locale))
    return f"{text} UTC"


def translated(exc: DomainError) -> dict:
    """The error object with its message in the person's language."""
    return exc.to_dict(gettext)


@bp.errorhandler(DomainError)
def page_error(exc: DomainError):
    return render_template("admin/error.html", error=translated(exc), status=exc.status), exc.status


def _sign_in_page(error: str | None = None, status: int = 200):
    return render_template("admin/sign_in.html", error=error), status


@bp.get("/")
@bp.get("")
def index():
    if not signed_in():
        return _sign_in_page()
    archived = request.args.get("show") == "archived"
    items = organiser.list_events(db.session, status="archived" if archived else None)
    for item in items:
        item["links"] = event_links(item["code"], item["moderator_token"])
    return render_template("admin/events.html", events=items, archived=archived)


@bp.post("/sign-in")
def sign_in():
    given = (request.form.get("token") or "").strip()
    if not given:
        return _sign_in_page(gettext("Enter the admin token. The server prints it the first time it starts; "
                                     "python run.py --show-admin-token prints it again."), 401)
    if not token_matches(given, current_app.config["ADMIN_TOKEN"]):
        return _sign_in_page(gettext(WRONG["admin token"]), 403)
    session.clear()  # a fresh session (and CSRF token) for the signed-in organiser
    session["admin"] = _admin_mark()
    session["admin_since"] = int(time.time())
    return redirect(url_for("admin.index"), 303)


@bp.post("/sign-out")
def sign_out():
    session.clear()
    flash(gettext("You are signed out."), "ok")
    return redirect(url_for("admin.index"), 303)


def _form_page(event: dict | None, values: dict, error: DomainError | None = None, status: int = 200):
    err = translated(error) if error else None
    if err and err.get("field") in FORM_FIELDS:
        err["field"] = FORM_FIELDS[err["field"]]
    return render_template("admin/event_form.html", event=event, form=values, error=err,
                           palette=events_domain.THEME_COLOURS), status


def _event(code: str) -> Event:
    return events_domain.find_event(db.session, code)


def _back(code: str | None, message: str, category: str = "ok"):
    flash(message, category)
    anchor = f"event-{code}" if code else None
    return redirect(url_for("admin.index", _anchor=anchor), 303)


@bp.get("/events/new")
def new_event():
    return _form_page(None, form_values())


@bp.post("/events")
def create_event():
    if request.form.get("use_defaults"):
        return _form_page(None, with_default_themes(form_values(form=request.form)))
    try:
        payload = form_payload(request.form)
        payload["submissions_open"] = request.form.get("open_now") == "on"
        event = organiser.create_event(db.session, payload)
    except DomainError as exc:
        db.session.rollback()
        return _form_page(None, form_values(form=request.form), exc, exc.status)
    return _back(event.code, gettext("Created “%(title)s”, code %(code)s.", title=event.title, code=event.code))


@bp.get("/events/<code>/edit")
def edit_event(code: str):
    summary = organiser.describe(db.session, _event(code))
    return _form_page(summary, form_values(summary))


@bp.post("/events/<code>/edit")
def save_event(code: str):
    event = _event(code)
    try:
        event = organiser.edit_event(db.session, event.id, form_payload(request.form))
    except DomainError as exc:
        db.session.rollback()
        summary = organiser.describe(db.session, _event(code))
        return _form_page(summary, form_values(summary, request.form), exc, exc.status)
    event_changed(event, "updated")
    return _back(event.code, gettext("Saved “%(title)s”.", title=event.title))


@bp.post("/events/<code>/open")
def open_event(code: str):
    event = organiser.set_submissions(db.session, _event(code).id, True)
    event_changed(event, "updated")
    return _back(event.code, gettext("Questions are open for “%(title)s”.", title=event.title))


@bp.post("/events/<code>/close")
def close_event(code: str):
    event = organiser.set_submissions(db.session, _event(code).id, False)
    event_changed(event, "updated")
    return _back(event.code, gettext("Questions are closed for “%(title)s”.", title=event.title))


@bp.post("/events/<code>/rotate-token")
def rotate_token(code: str):
    event = organiser.rotate_moderator_token(db.session, _event(code).id)
    closed = event_changed(event, "token")
    if closed:
        message = ngettext("New moderator link for “%(title)s”: the old one no longer works "
                           "(%(num)d moderator connection closed).",
                           "New moderator link for “%(title)s”: the old one no longer works "
                           "(%(num)d moderator connections closed).", closed, title=event.title)
    else:
        message = gettext("New moderator link for “%(title)s”: the old one no longer works.", title=event.title)
    return _back(event.code, message)


@bp.post("/events/<code>/duplicate")
def duplicate_event(code: str):
    copy = organiser.duplicate_event(db.session, _event(code).id)
    flash(gettext("Copied as “%(title)s”, code %(code)s. Give it its own title and date.",
                  title=copy.title, code=copy.code), "ok")
    return redirect(url_for("admin.edit_event", code=copy.code), 303)


@bp.post("/events/<code>/archive")
def archive_event(code: str):
    event = organiser.archive_event(db.session, _event(code).id)
    event_changed(event, "updated")
    return _back(None, gettext("Archived “%(title)s”. It is listed under Archived events.", title=event.title))


@bp.post("/events/<code>/restore")
def restore_event(code: str):
    event = organiser.restore_event(db.session, _event(code).id)
    return _back(event.code, gettext("Restored “%(title)s” from the archive (questions stay closed).",
                                     title=event.title))


def _delete_page(event: Event, error: dict | None = None, status: int = 200):
    return render_template("admin/delete.html", event=organiser.describe(db.session, event),
                           rows=organiser.rows_of(db.session, event.id), error=error), status


@bp.get("/events/<code>/delete")
def confirm_delete(code: str):
    return _delete_page(_event(code))


@bp.post("/events/<code>/delete")
def delete_event(code: str):
    event = _event(code)
    title, event_id = event.title, event.id
    if request.form.get("understood") != "yes":
        error = DomainError("invalid", "Tick the box to confirm that everything in this event will be deleted.",
                            "understood")
        return _delete_page(event, translated(error), error.status)
    try:
        deleted = organiser.delete_event(db.session, event_id, request.form.get("confirm", ""))
    except DomainError as exc:
        return _delete_page(_event(code), translated(exc), exc.status)
    event_changed(event_id, "deleted")
    questions = ngettext("%(num)d question", "%(num)d questions", deleted["questions"])
    votes = ngettext("%(num)d vote", "%(num)d votes", deleted["votes"])
    return _back(None, gettext("Deleted “%(title)s” (%(code)s) with its %(questions)s and %(votes)s.",
                               title=title, code=code.upper(), questions=questions, votes=votes))


@bp.get("/events/<code>/print")
def print_page(code: str):
    event = _event(code)
    summary = organiser.describe(db.session, event)
    return render_template("admin/print.html", event=summary,
                           links=event_links(event.code, event.moderator_token),
                           join_url=url_for("pages.join", _external=True))
