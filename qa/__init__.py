"""Live Q&A with moderation: the app factory."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from .extensions import db, socketio
from .settings import load_settings
from .web.speedups import App

ROOT = Path(__file__).resolve().parent.parent
MAX_PAYLOAD = 64 * 1024  # bytes, for HTTP bodies and Socket.IO messages alike


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `test_config` may carry QA_ENV (a stand-in for os.environ),
    INSTANCE_PATH, and any Flask config key to override."""
    test_config = dict(test_config or {})
    app = App(
        __name__,
        instance_path=test_config.pop("INSTANCE_PATH", None)
        or os.environ.get("QA_INSTANCE_PATH")
        or str(ROOT / "instance"),
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
    )
    settings = load_settings(app.instance_path, test_config.pop("QA_ENV", None))
    app.config.from_mapping(
        settings.config(),  # one typed table, qa/settings.py: QA_DATABASE_URL -> DATABASE_URL, …
        MAX_CONTENT_LENGTH=MAX_PAYLOAD,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.update(test_config)
    app.json.sort_keys = False  # keep question fields in the documented order

    db.init_app(app)

    from . import i18n

    i18n.init_app(app)  # before the pages: they render in the person's language

    from .domain import similarity
    from .web import broadcast, sockets  # noqa: F401  (sockets registers the Socket.IO handlers)

    # What the previous app of this process cached, counted or timed by event id or code may be
    # of another database (in tests, every test has its own): start empty.
    broadcast.init_app(app)
    similarity.forget_all()
    from .web import inbound
    from .web.origins import origin_checker

    # Flask-SocketIO keeps options across init_app calls; a message queue of an
    # earlier app (in tests, several apps share this process) must not leak in.
    socketio.server_options.pop("client_manager", None)
    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        message_queue=app.config["MESSAGE_QUEUE"],
        cors_allowed_origins=origin_checker(app.config["ALLOWED_ORIGINS"]),
        max_http_buffer_size=MAX_PAYLOAD,
        # python-socketio's packets (shared parts encoded once: speedups.py); a client's malformed one refused
        serializer=inbound.packet_class(app),
        logger=False,
        engineio_logger=False,
    )
    inbound.guard(socketio.server)  # no client event runs the server's own handlers (connect, …)
    from .web import websocket

    websocket.install(socketio.server.eio)  # threading mode: one writer at a time per WebSocket

    from .ratelimit import MemoryBuckets, RateLimiter, RedisBuckets

    queue = app.config["MESSAGE_QUEUE"]
    shared = bool(queue and queue.startswith("redis"))  # several processes may share an event
    buckets = None
    if app.config["RATE_LIMITS"]:
        buckets = RedisBuckets(queue) if shared else MemoryBuckets()
    app.extensions["qa_ratelimit"] = RateLimiter(buckets)

    from .web.pacing import LocalPace, RedisPace

    # `votes` keep one pace between the processes, or this process's own when it is alone.
    app.extensions["qa_pace"] = RedisPace(queue) if shared else LocalPace()

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Outermost, so Socket.IO connections see the client's address and scheme too.
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    from .web import api, errors, health, metrics, pages, security

    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(pages.bp)
    sockets.init_app(app)
    from . import cli
    from .web import admin_api, console

    console.init_app(app)  # the organiser console (/admin) and its session cookie
    admin_api.init_app(app)  # the same operations as JSON (/api/admin)
    cli.init_app(app)  # flask --app qa events …
    errors.init_app(app)
    security.init_app(app)
    return app
