"""The organiser console under /admin, and the same operations as JSON under /api/admin.

The console signs in with the admin token once and keeps a session cookie
(HttpOnly, SameSite=Lax, Secure over HTTPS); every form carries a CSRF token.
The JSON endpoints take the admin token as `Authorization: Bearer`. Both are
thin adapters over qa/domain/organiser.py.
"""
from __future__ import annotations

import hmac
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from babel.dates import format_date, format_time, get_datetime_format
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale, gettext, ngettext
from werkzeug.datastructures import MultiDict

from ..domain import events as events_domain
from ..domain import organiser
from ..domain.errors import DomainError
from ..domain.identity import admin_mark
from ..extensions import db, socketio
from ..models import Event
from . import csrf
from .api import event_links
from .auth import WRONG, require_token, token_matches
from . import broadcast
from .broadcast import event_updated, presence

bp = Blueprint("admin", __name__, url_prefix="/admin")
api = Blueprint("admin_api", __name__, url_prefix="/api/admin")

SESSION_SECONDS = 12 * 3600  # a signed-in console lasts a working day
THEME_FIELD = re.compile(r"^themes-(\d{1,3})-(key|label|prompt|colour|hidden|label_fr|prompt_fr|label_es|prompt_es)$")
TRANSLATED = ("fr", "es")  # the languages the form takes besides the event's own
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
    app.register_blueprint(api)


# ---- Sockets -------------------------------------------------------------------------


def disconnect_sockets(event_id: int, role: str | None = "moderator") -> int:
    """Close the event's sockets (its moderators only, unless role is None); returns how many
    were this process's.

    This process's sockets are disconnected here. With several processes, the others'
    moderator sockets are taken out of the moderators' room through the message queue
    (so they stop receiving pending questions at once), told `moderator:revoked` (the
    page leaves), and refused and disconnected at their next action (qa/web/sockets.py
    checks the token before each one).
    """
    if role == "moderator":
        room = broadcast.moderators(event_id)
    else:
        room = broadcast.everyone(event_id)
        broadcast.event_cache.forget(event_id)  # closed or deleted: no join from the cache
    socketio.emit("moderator:revoked" if role == "moderator" else "event:closed", {}, to=room)
    socketio.close_room(room)
    sids = [
        sid for sid, client in list(presence.clients.items())
        if client.event_id == event_id and (role is None or client.role == role)
    ]
    for sid in sids:
        socketio.server.disconnect(sid)
    return len(sids)


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


# ---- Forms ---------------------------------------------------------------------------


def _local_to_iso(value: str, offset: str) -> str:
    """A datetime-local value and the browser's getTimezoneOffset() as ISO-8601 with its zone."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value  # the domain says what is wrong with it
    if when.tzinfo is not None:
        return when.isoformat()
    try:
        minutes = int(offset)
    except (TypeError, ValueError):
        minutes = 0  # no script ran: the form said the time is UTC
    if abs(minutes) > 18 * 60:
        minutes = 0
    return when.replace(tzinfo=timezone(-timedelta(minutes=minutes))).isoformat()


def form_themes(form: MultiDict) -> list[dict]:
    rows: dict[int, dict[str, Any]] = {}
    for name, value in form.items(multi=False):
        match = THEME_FIELD.match(name)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
    themes = []
    texts = [f"{f}_{lang}" for lang in TRANSLATED for f in ("label", "prompt")]
    for _, row in sorted(rows.items()):
        if not any((row.get(f) or "").strip() for f in ("key", "label", "prompt", *texts)):
            continue  # an empty row left in the form
        themes.append({
            "key": (row.get("key") or "").strip(),
            "label": row.get("label") or "",
            "prompt": row.get("prompt") or "",
            "colour": row.get("colour") or "",
            "hidden": row.get("hidden") in ("on", "1", "true"),
        })
        if any(f in row for f in texts):
            # Blank fields are sent too, so that a translation cleared in the form is cleared.
            themes[-1]["translations"] = {lang: {"label": row.get(f"label_{lang}") or "",
                                                 "prompt": row.get(f"prompt_{lang}") or ""} for lang in TRANSLATED}
    return themes


def form_translations(form: MultiDict) -> dict:
    """The title's French and Spanish, as the domain takes them (blank clears)."""
    return {lang: {"title": form.get(f"title_{lang}", "")} for lang in TRANSLATED if f"title_{lang}" in form}


def form_payload(form: MultiDict) -> dict:
    """The event form as the payload the domain (and the JSON API) takes."""
    themes = form_themes(form)
    if not themes:
        raise DomainError("invalid", "Add at least one theme.", "themes")
    return {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "starts_at": _local_to_iso(form.get("starts_at", ""), form.get("tz_offset", "")),
        "themes": themes,
        "moderation": form.get("moderation", "pre"),
        "names": form.get("names", "optional"),
        **({"translations": translations} if (translations := form_translations(form)) else {}),
    }


def _form_values(summary: dict | None = None, form: MultiDict | None = None) -> dict:
    """What the event form shows: an event's values, defaults, or what was just submitted."""
    counts = {t["key"]: t["questions"] for t in summary["themes"]} if summary else {}
    if form is not None:
        themes = [{**t, "questions": counts.get(t["key"], 0)} for t in form_themes(form)]
        return {
            "title": form.get("title", ""), "description": form.get("description", ""),
            "title_translations": {lang: form.get(f"title_{lang}", "") for lang in TRANSLATED},
            "starts_at_value": form.get("starts_at", ""), "starts_at_utc": "",
            "moderation": form.get("moderation", "pre"), "names": form.get("names", "optional"),
            "themes": themes or [BLANK_THEME], "open_now": form.get("open_now") == "on",
        }
    if summary is None:
        # A new event starts with one empty theme; the demo's four are one click away (use_defaults).
        return {
            "title": "", "description": "", "title_translations": {}, "starts_at_value": "", "starts_at_utc": "",
            "moderation": "pre", "names": "optional", "themes": [BLANK_THEME], "open_now": False,
        }
    starts = summary["starts_at"]
    texts = summary.get("translations") or {}
    themes = [{**t, "translations": {lang: (texts.get(lang, {}).get("themes") or {}).get(t["key"], {})
                                     for lang in TRANSLATED}} for t in summary["themes"]]
    return {
        "title": summary["title"], "description": summary["description"],
        "title_translations": {lang: texts.get(lang, {}).get("title", "") for lang in TRANSLATED},
        "starts_at_value": starts[:16] if starts else "", "starts_at_utc": starts or "",
        "moderation": summary["moderation"], "names": summary["names"],
        "themes": themes, "open_now": False,
    }


BLANK_THEME: dict = {"key": "", "label": "", "prompt": "", "colour": "", "hidden": False, "questions": 0,
                     "translations": {}}


def _with_default_themes(values: dict) -> dict:
    """The form as it was, with the WTO MSME Group's four themes (and their translations) in place
    of the theme rows still empty, added after the ones already filled in."""
    filled = [t for t in values["themes"] if (t.get("label") or "").strip()]
    have = {t["key"] for t in filled}
    defaults = [{**t, "questions": 0} for t in organiser.default_themes() if t["key"] not in have]
    return {**values, "themes": filled + defaults}


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
    return _form_page(None, _form_values())


@bp.post("/events")
def create_event():
    if request.form.get("use_defaults"):
        return _form_page(None, _with_default_themes(_form_values(form=request.form)))
    try:
        payload = form_payload(request.form)
        payload["submissions_open"] = request.form.get("open_now") == "on"
        event = organiser.create_event(db.session, payload)
    except DomainError as exc:
        db.session.rollback()
        return _form_page(None, _form_values(form=request.form), exc, exc.status)
    return _back(event.code, gettext("Created “%(title)s”, code %(code)s.", title=event.title, code=event.code))


@bp.get("/events/<code>/edit")
def edit_event(code: str):
    summary = organiser.describe(db.session, _event(code))
    return _form_page(summary, _form_values(summary))


@bp.post("/events/<code>/edit")
def save_event(code: str):
    event = _event(code)
    try:
        event = organiser.edit_event(db.session, event.id, form_payload(request.form))
    except DomainError as exc:
        db.session.rollback()
        summary = organiser.describe(db.session, _event(code))
        return _form_page(summary, _form_values(summary, request.form), exc, exc.status)
    event_updated(event)
    return _back(event.code, gettext("Saved “%(title)s”.", title=event.title))


@bp.post("/events/<code>/open")
def open_event(code: str):
    event = organiser.set_submissions(db.session, _event(code).id, True)
    event_updated(event)
    return _back(event.code, gettext("Questions are open for “%(title)s”.", title=event.title))


@bp.post("/events/<code>/close")
def close_event(code: str):
    event = organiser.set_submissions(db.session, _event(code).id, False)
    event_updated(event)
    return _back(event.code, gettext("Questions are closed for “%(title)s”.", title=event.title))


@bp.post("/events/<code>/rotate-token")
def rotate_token(code: str):
    event = organiser.rotate_moderator_token(db.session, _event(code).id)
    closed = disconnect_sockets(event.id)
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
    event_updated(event)
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
    disconnect_sockets(event_id, role=None)
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


# ---- JSON: /api/admin ----------------------------------------------------------------


@api.before_request
def api_guard() -> None:
    require_token(current_app.config["ADMIN_TOKEN"], "admin token")


@api.errorhandler(DomainError)
def api_error(exc: DomainError):
    db.session.rollback()
    return jsonify(error=translated(exc)), exc.status


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
    event_updated(event)
    return _answer(event)


@api.post("/events/<code>/open")
def api_open(code: str):
    event = organiser.set_submissions(db.session, _event(code).id, True)
    event_updated(event)
    return _answer(event)


@api.post("/events/<code>/close")
def api_close(code: str):
    event = organiser.set_submissions(db.session, _event(code).id, False)
    event_updated(event)
    return _answer(event)


@api.post("/events/<code>/archive")
def api_archive(code: str):
    event = organiser.archive_event(db.session, _event(code).id)
    event_updated(event)
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
    return _answer(event, disconnected=disconnect_sockets(event.id))


@api.delete("/events/<code>")
def api_delete(code: str):
    event = _event(code)
    event_id = event.id
    payload = request.get_json(silent=True)
    confirm = payload.get("confirm") if isinstance(payload, dict) else request.args.get("confirm")
    deleted = organiser.delete_event(db.session, event_id, confirm)
    return jsonify(deleted={"code": event.code, **deleted},
                   disconnected=disconnect_sockets(event_id, role=None))
