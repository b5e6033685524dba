"""Languages: which one a person gets, the gettext catalogues, the page scripts' strings.

English, French and Spanish. The language is, in this order: `?lang=` on the
request (a link can fix a screen to one language), the `qa_lang` cookie set by
the language switch, else the best match for the browser's Accept-Language.
Socket.IO clients send `lang` in their connect `auth`; acks and refusals are
translated into it. The page scripts' strings come from the same catalogues
(`/i18n/<lang>.json`, the msgids pybabel's javascript extractor finds).
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.messages.extract import extract_from_file
from babel.support import Translations
from flask import Blueprint, Flask, Response, abort, current_app, g, has_request_context, redirect, request, url_for
from flask_babel import Babel, get_locale, refresh

from .constants import LANGUAGES
from .domain.translations import localize

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
SCRIPTS = ROOT / "static" / "js"

DEFAULT = LANGUAGES[0]
COOKIE = "qa_lang"
SOCKET_LANGUAGE = "qa_socket_language"  # app.extensions key: sid -> the language its connect chose
COOKIE_MAX_AGE = 365 * 24 * 3600
# Each language named in itself, as the switch shows it.
NAMES = {"en": "English", "fr": "Français", "es": "Español"}
# The keywords the page scripts use: t('msgid', {params}) and tn('one', 'many', n, {params}).
JS_KEYWORDS = {"t": None, "tn": (1, 2)}

babel = Babel()
bp = Blueprint("i18n", __name__)


def normalize(value: Any) -> str | None:
    """'fr', 'FR', 'fr-CA', 'es_419' → 'fr' or 'es'; anything we do not speak → None."""
    if not isinstance(value, str):
        return None
    base = value.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def explicit_language() -> str | None:
    """A choice the person made: `?lang=` on this request, else the remembered cookie."""
    return normalize(request.args.get("lang")) or normalize(request.cookies.get(COOKIE))


def negotiated_language() -> str:
    """The explicit choice, else the best of the browser's Accept-Language, else English."""
    if not has_request_context():
        return DEFAULT
    return explicit_language() or request.accept_languages.best_match(LANGUAGES, default=DEFAULT)


def select_locale() -> str:
    # A Socket.IO connection's own language (its connect auth's `lang`) wins.
    return g.get("qa_lang") or _socket_language() or negotiated_language()


def _socket_language() -> str | None:
    sid = getattr(request, "sid", None) if has_request_context() else None
    if sid is None:
        return None
    # The Socket.IO layer registers how to look up a connection's choice (qa/web/sockets.py).
    language_of = current_app.extensions.get(SOCKET_LANGUAGE)
    return language_of(sid) if language_of is not None else None


def use_language(value: Any) -> str:
    """Answer this Socket.IO event in `value` (a code from the client), else the negotiated language."""
    g.qa_lang = normalize(value) or negotiated_language()
    refresh()
    return g.qa_lang


def current_language() -> str:
    locale = get_locale()
    return normalize(str(locale)) if locale is not None else DEFAULT


# ---- The page scripts' strings -------------------------------------------------------


_script_lock = threading.Lock()
_script_cache: dict[str, tuple[str, str]] = {}


def script_msgids() -> list[str | tuple[str, str]]:
    """Every t()/tn() msgid in static/js, found by the same extractor as pybabel's."""
    found: dict[Any, None] = {}
    for path in sorted(SCRIPTS.rglob("*.js")):  # desk/, lib/: the modules in folders too
        for _line, message, _comments, _context in extract_from_file(
            "javascript", str(path), keywords=JS_KEYWORDS, comment_tags=(), options={}
        ):
            found[message] = None
    return list(found)


def script_catalogue(lang: str) -> dict[str, Any]:
    """{msgid: text} for the page scripts; a plural msgid maps to [one, other]."""
    translations = Translations.load(str(TRANSLATIONS), [lang], "messages")
    out: dict[str, Any] = {}
    for message in script_msgids():
        if isinstance(message, tuple):
            singular, plural = message[:2]
            out[singular] = [translations.ngettext(singular, plural, 1),
                             translations.ngettext(singular, plural, 2)]
        else:
            out[message] = translations.gettext(message)
    return out


def script_json(lang: str) -> tuple[str, str]:
    """The body of /i18n/<lang>.json and its version (a hash of the body), cached per process."""
    with _script_lock:
        if lang not in _script_cache:
            body = json.dumps({"lang": lang, "messages": script_catalogue(lang)},
                              ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            _script_cache[lang] = (body, hashlib.sha256(body.encode()).hexdigest()[:12])
        return _script_cache[lang]


@bp.get("/i18n/<lang>.json")
def script_strings(lang: str):
    if lang not in LANGUAGES:
        abort(404)
    body, version = script_json(lang)
    # Versioned URLs (?v=) never change; a bare one is revalidated.
    cache = "public, max-age=31536000, immutable" if request.args.get("v") == version else "no-cache"
    response = Response(body, mimetype="application/json", headers={"Cache-Control": cache})
    response.set_etag(version)
    return response.make_conditional(request)


# ---- The language switch ---------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@bp.get("/lang/<lang>")
def choose(lang: str):
    """Remember a language (the switch on every page) and go back to the page."""
    chosen = normalize(lang)
    if chosen is None:
        abort(404)
    response = redirect(_safe_next(request.args.get("next")), code=303)
    response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    return response


def _here_without_lang() -> str:
    """This page's path and query, less `lang`: the switch's way back."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return request.script_root + request.path + ("?" + urlencode(args) if args else "")


def _template_context() -> dict[str, Any]:
    lang = current_language()
    here = _here_without_lang() if has_request_context() else "/"
    _body, version = script_json(lang)
    return {
        "lang": lang,
        "languages": [
            {"code": code, "name": NAMES[code], "current": code == lang,
             "url": url_for("i18n.choose", lang=code, next=here)}
            for code in LANGUAGES
        ],
        "i18n_url": url_for("i18n.script_strings", lang=lang, v=version),
    }


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.context_processor(_template_context)
    app.jinja_env.filters["localized"] = localize  # {{ event|localized(lang) }}

    @app.after_request
    def vary(response: Response) -> Response:
        # Pages differ by Accept-Language and the cookie: caches must know.
        if response.mimetype == "text/html":
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response
