"""Errors as JSON under /api and as a plain page elsewhere; never a traceback."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from ..domain.errors import N_, DomainError
from ..extensions import db

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 415: "bad_request", 429: "rate_limited"}
# Plain words, in the person's language, for werkzeug's own (English) descriptions.
HTTP_MESSAGES = {
    400: N_("The request could not be understood."),
    401: N_("You need a token to do this."),
    403: N_("You may not do this."),
    404: N_("There is nothing at this address. Check the link or the event code."),
    405: N_("This address does not accept that kind of request."),
    413: N_("The request is too large (the limit is 64 KiB)."),
    415: N_("Send the body as JSON."),
    429: N_("Too many requests; please wait a moment and try again."),
}


def _respond(status: int, code: str, message: str):
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error={"code": code, "message": message}), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return _respond(exc.status, exc.code, exc.to_dict(gettext)["message"])

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = HTTP_CODES.get(exc.code or 500, "error")
        own = exc.description and exc.description != type(exc).description  # a message of ours: keep it
        status = exc.code or 500
        message = exc.description if own else gettext(HTTP_MESSAGES.get(status, exc.name))
        return _respond(status, code, message)

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        db.session.rollback()
        app.logger.exception("database error")
        return _respond(503, "unavailable", gettext("The database is unavailable; please try again."))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        return _respond(500, "internal", gettext("Something went wrong on the server."))
