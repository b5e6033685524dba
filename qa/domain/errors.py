"""The one error type the domain raises; adapters turn it into a 4xx or an ack.

Messages are English gettext msgids with %(name)s placeholders, so each adapter
can answer in the person's language (pybabel extracts them: see babel.cfg).
"""
from __future__ import annotations

from typing import Any, Callable

# HTTP status for each error code, so both adapters agree.
STATUS = {
    "bad_request": 400,
    "invalid": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "closed": 409,
    "too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
}


def N_(msgid: str) -> str:
    """Mark a string for translation where it is defined; it is translated where shown."""
    return msgid


class DomainError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None, **params: Any):
        self.code = code
        self.template = message
        self.field = field
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return self.template % self.params if self.params else self.template

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 400)

    def to_dict(self, translate: Callable[..., str] | None = None) -> dict:
        """The error object; `translate(msgid, **params)` is e.g. flask_babel.gettext."""
        if translate is None:
            message = self.message
        else:
            # Field labels are msgids too (marked with N_); other values are data.
            params = {k: translate(v) if k == "label" else v for k, v in self.params.items()}
            message = translate(self.template, **params)
        error = {"code": self.code, "message": message}
        if self.field:
            error["field"] = self.field
        return error
