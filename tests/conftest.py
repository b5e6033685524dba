"""Shared fixtures: an app per test on a fresh database (SQLite, and PostgreSQL when it runs)."""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from typing import Any, Callable, Iterator

import pytest
import requests
from socketio import SimpleClient
from sqlalchemy import func, select

from qa import create_app, schema
from qa.domain import events as events_domain
from qa.domain import organiser, translations
from qa.extensions import db, socketio
from qa.web import broadcast

from live_server import LiveServer

PG_URL = os.environ.get("QA_TEST_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("QA_TEST_REDIS", "redis://127.0.0.1:6379/0")
# CI sets this so that a missing service fails the run instead of skipping tests.
REQUIRE_SERVICES = os.environ.get("QA_TEST_REQUIRE_SERVICES") == "1"
ADMIN_TOKEN = "test-admin-token"
# The trailing `queue:order` after approvals waits out 2 s in production; tests read it after
# broadcast.settle(), which would wait that long each time. test_broadcast checks the real interval.
# Set per app (qa.web.broadcast.init_app), not on the module: an app made elsewhere keeps the real one.
ORDER_INTERVAL = 0.05


def _reachable_postgres() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2):
            return None
    except Exception as exc:  # any failure means "not available here"
        return f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"


def _reachable_redis() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc.__class__.__name__}"


_why_no_postgres = _reachable_postgres()
_why_no_redis = _reachable_redis()


def need(reason: str | None) -> None:
    """Skip (or, in CI, fail) a test whose service is missing."""
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(reason + " (QA_TEST_REQUIRE_SERVICES=1)", pytrace=False)
    # Also at the top of a module (the browser modules): there it skips the whole module.
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture
def redis_url() -> str:
    need(_why_no_redis)
    return REDIS_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema of its own, dropped afterwards."""
    need(_why_no_postgres)
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'qa.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def make_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        "QA_DATABASE_URL": database_url,
        "QA_ADMIN_TOKEN": ADMIN_TOKEN,
        "QA_SECRET_KEY": "test-secret-key",
        "QA_ASYNC_MODE": "threading",
        # Most tests send many messages from one participant; test_ratelimit turns limits on.
        "QA_RATE_LIMITS": "off",
        # CI runs the suite a second time with QA_SPEEDUPS=off: the libraries as shipped.
        "QA_SPEEDUPS": os.environ.get("QA_SPEEDUPS", "on"),
    }
    env.update(extra)
    return env


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "QA_ENV": make_env(database_url), "ORDER_INTERVAL": ORDER_INTERVAL})
    schema.upgrade(db.engine_of(app))
    yield app
    assert broadcast.settle(), "a broadcast flush was still running 5 s after the test"
    db.engine_of(app).dispose()


@pytest.fixture
def make_app(tmp_path):
    """make_app(database_url, testing=True, **env) -> an app on that database, no migrations run;
    each one's engine is closed after the test (engines are per app, nobody else closes them)."""
    made = []

    def _make(database_url: str, testing: bool = True, **extra: str):
        made.append(create_app({"TESTING": testing, "INSTANCE_PATH": str(tmp_path / "instance"),
                                "QA_ENV": make_env(database_url, **extra)}))
        return made[-1]

    yield _make
    for app in made:
        db.engine_of(app).dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session


@pytest.fixture
def event(app) -> dict[str, Any]:
    """A fresh event with the default themes: {id, code, token}."""
    with app.app_context():
        ev = events_domain.create_event(db.session, {"title": "Test webinar"})
        return {"id": ev.id, "code": ev.code, "token": ev.moderator_token}


@pytest.fixture
def connect(app, client, event) -> Callable[..., Any]:
    """connect(role, **auth) -> a Flask-SocketIO test client joined to `event`."""
    made = []

    def _connect(role: str = "participant", **auth: Any):
        auth = {"event": event["code"], "role": role, **auth}
        if role == "moderator":
            auth.setdefault("token", event["token"])
        c = socketio.test_client(app, auth=auth, flask_test_client=client)
        made.append(c)
        return c

    yield _connect
    for c in made:
        if c.is_connected():
            c.disconnect()


def received(test_client, name: str | None = None) -> list[dict]:
    """Messages a test client got since last asked, optionally only one event's payloads."""
    msgs = test_client.get_received()
    if name is None:
        return msgs
    return [m["args"][0] for m in msgs if m["name"] == name]


# ---- The organiser console and /api/admin (tests/test_console.py, test_event_form.py, test_admin_api.py) --
# `admin_console`, not `console`: that name is taken below, by a browser page's console.

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    return CSRF_INPUT.search(html).group(1)


def form(title: str = "Session 1", themes: list[tuple[str, str]] | None = None, **extra: str) -> dict:
    """The event form as a browser posts it."""
    data = {"title": title, "description": "", "starts_at": "", "tz_offset": "",
            "moderation": "pre", "names": "optional"}
    for i, (key, label) in enumerate([("a", "Alpha"), ("b", "Beta")] if themes is None else themes):
        data.update({f"themes-{i}-key": key, f"themes-{i}-label": label,
                     f"themes-{i}-prompt": f"About {label}?", f"themes-{i}-colour": "#1f6feb"})
    data.update(extra)
    return data


class AdminConsole:
    """The test client signed in to /admin, posting forms with the session's CSRF token."""

    def __init__(self, client):
        self.client = client

    def csrf(self) -> str:
        with self.client.session_transaction() as s:
            if "csrf" in s:
                return s["csrf"]
        return csrf_of(text(self.client.get("/admin")))

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | None = None, **kw):
        return self.client.post(path, data={"csrf_token": self.csrf(), **(data or {})}, **kw)


def sign_in(client, token: str = ADMIN_TOKEN):
    page = client.get("/admin")
    return client.post("/admin/sign-in", data={"token": token, "csrf_token": csrf_of(page.get_data(as_text=True))})


@pytest.fixture
def admin_console(client) -> AdminConsole:
    r = sign_in(client)
    assert r.status_code == 303 and r.headers["Location"] == "/admin"
    return AdminConsole(client)


def text(r) -> str:
    return r.get_data(as_text=True)


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def load(app, code: str) -> dict:
    with app.app_context():
        return organiser.describe(db.session, events_domain.find_event(db.session, code))


def created_code(r) -> str:
    assert r.status_code == 303, text(r)[:500]
    return re.search(r"#event-([A-Z0-9]+)$", r.headers["Location"]).group(1)


# ---- A real browser (tests/test_browser.py, test_desk_browser.py, test_accessibility.py) ----------
# Those modules call need_browser() before these fixtures run: a missing Chromium or Playwright
# skips them here and fails them in CI.

CHROMIUM = "/usr/bin/chromium"  # Debian's chromium package; never a downloaded browser
# Only tests/test_ci.py sets it: to see what a machine without Chromium does.
CHROMIUM = os.environ.get("QA_TEST_CHROMIUM", CHROMIUM)


def _why_no_browser() -> str | None:
    import importlib.util

    if not os.path.exists(CHROMIUM):
        return f"browser tests need Chromium at {CHROMIUM} (Debian's chromium package)"
    if importlib.util.find_spec("playwright") is None:
        return "browser tests need Playwright for Python (requirements-dev.txt)"
    return None


def need_browser() -> None:
    """At the top of a browser test module, or as the `browser_required` fixture."""
    need(_why_no_browser())


@pytest.fixture
def browser_required() -> None:
    need_browser()


# A module that skips by itself (pytest.skip, importorskip, skipif) when Chromium, Playwright or
# axe-core is missing would pass CI having tested nothing in a browser: there it fails instead.
_BROWSER_WORDS = ("chromium", "playwright", "axe-core")


def _no_browser_skip_in_ci(report) -> None:
    if REQUIRE_SERVICES and report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        if any(word in reason.lower() for word in _BROWSER_WORDS):
            report.outcome = "failed"
            report.longrepr = f"{reason} (QA_TEST_REQUIRE_SERVICES=1: no browser test skips in CI)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _no_browser_skip_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _no_browser_skip_in_ci(outcome.get_result())

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BROWSER_WAIT_MS = 10_000  # every browser wait is bounded


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api

    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def contexts(browser):
    """contexts(**options) -> a new browser context, closed after the test."""
    opened = []

    def open_context(**kwargs):
        ctx = browser.new_context(**kwargs)
        opened.append(ctx)
        return ctx

    yield open_context
    for ctx in opened:
        try:
            ctx.close()
        except Exception:
            pass  # the browser may already be gone; nothing left to release


class Console:
    """Errors a page logs: script errors and, above all, CSP violations."""

    def __init__(self):
        self.errors: list[str] = []

    def watch(self, page, name: str):
        # With the URL: a failed resource's message names only its status.
        page.on("console", lambda m: self.errors.append(f"{name}: {m.text} [{(m.location or {}).get('url', '')}]")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"{name}: {e}"))
        page.set_default_timeout(BROWSER_WAIT_MS)
        return page


@pytest.fixture
def console():
    return Console()


@contextlib.contextmanager
def approved_questions(prefix: str, questions: list[tuple[str, str, str]], **extra_env: str):
    """A live server with the demo's event (its long title, four themes, three languages) and
    `questions` ((key, theme, text) each) asked and approved; yields the server, the event, a
    moderator socket to drive it, and the question ids by key."""
    with tempfile.TemporaryDirectory(prefix=f"qa-{prefix}-") as workdir:
        env = {"QA_DATABASE_URL": f"sqlite:///{workdir}/{prefix}.db", "QA_ADMIN_TOKEN": ADMIN_TOKEN,
               "QA_SECRET_KEY": "test-secret", "QA_ASYNC_MODE": "threading", "QA_INSTANCE_PATH": workdir,
               **extra_env}
        with LiveServer(env, args=("--no-demo",)) as server:
            r = requests.post(f"{server.url}/api/admin/events", timeout=10,
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                              json={"title": events_domain.DEMO_TITLE, "submissions_open": True,
                                    "translations": translations.DEMO_TRANSLATIONS})
            r.raise_for_status()
            ev = r.json()
            participant = SimpleClient()
            participant.connect(server.url, auth={"event": ev["code"], "role": "participant"},
                                transports=["websocket"])
            moderator = SimpleClient()
            moderator.connect(server.url, transports=["websocket"],
                              auth={"event": ev["code"], "role": "moderator", "token": ev["moderator_token"]})
            ids = {}
            for i, (key, theme, text) in enumerate(questions):
                ack = participant.call("question:submit", {"client_id": f"{prefix}{i}", "theme": theme, "text": text},
                                       timeout=10)
                assert ack["ok"], ack
                ids[key] = ack["question"]["id"]
                assert moderator.call("question:moderate", {"id": ids[key], "action": "approve"}, timeout=10)["ok"]
            participant.disconnect()
            try:
                yield server, ev, moderator, ids
            finally:
                moderator.disconnect()
