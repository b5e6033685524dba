"""Start the Q&A server: the only place that knows about monkey-patching and servers."""
from __future__ import annotations

import argparse
import os
import sys

ASYNC_MODES = ("eventlet", "gevent", "threading")

# Every WebSocket holds one server connection for its whole life. eventlet's wsgi server caps
# simultaneous connections at 1,024 by default (connection 1,025 waits until one closes), and
# eventlet.listen() and the kernel queue at most 50 unaccepted connections, so a room of a few
# thousand joining at once saw drops and retries (docs/benchmarks.md). gevent has no cap, but
# the same listen queue. The kernel clips the backlog to net.core.somaxconn (4096 by default).
MAX_CONNECTIONS = 10_000
LISTEN_BACKLOG = 1024

# With CPython's default collection thresholds (700, 10, 10), a server holding 2,000 sockets
# ran a full collection every second of a join storm and every ~15 s of a fan-out, each
# stopping the whole process for 65-220 ms: the tail of every latency (docs/benchmarks.md).
# What exists once the app is ready (modules, mappers, catalogs) lives as long as the process,
# so it is frozen out of every collection; the young generation is collected every 50,000
# allocations instead of 700, which still reclaims the cycles a join or a message leaves.
GC_THRESHOLDS = (50_000, 20, 10)
# A burst (2,000 questions submitted) leaves tens of thousands of young objects that live on;
# the collection that walks them came later, in whatever burst followed, as a 50-60 ms pause.
# When the server has handled no event for QUIET_CHECK seconds, they are collected then.
QUIET_CHECK = 0.5
QUIET_YOUNG = 10_000


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Live Q&A with moderation. Settings come from QA_* environment "
        "variables or a .env file; see README.md and docs/api.md.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000)")
    parser.add_argument(
        "--async-mode", choices=ASYNC_MODES, default=None,
        help="server concurrency model; overrides QA_ASYNC_MODE (default eventlet)",
    )
    parser.add_argument("--no-demo", action="store_true", help="do not create the demo event on an empty database")
    parser.add_argument("--show-admin-token", action="store_true", help="print the organiser (admin) token at start")
    return parser.parse_args(argv)


def patch(mode: str) -> None:
    # Must run before anything imports socket, threading or ssl.
    if mode == "eventlet":
        import warnings

        # Known and documented in the README (gevent is the alternative); not news at every start.
        # The message starts with a newline, which "." does not match without (?s).
        warnings.filterwarnings("ignore", message=r"(?s)\s*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
    elif mode == "gevent":
        from gevent import monkey

        monkey.patch_all()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from dotenv import load_dotenv  # pure Python, safe before patching

    load_dotenv(override=False)
    mode = args.async_mode or os.environ.get("QA_ASYNC_MODE", "eventlet").strip() or "eventlet"
    if mode not in ASYNC_MODES:
        print(f"QA_ASYNC_MODE={mode!r} is not one of {', '.join(ASYNC_MODES)}", file=sys.stderr)
        return 2
    os.environ["QA_ASYNC_MODE"] = mode
    patch(mode)

    from qa import create_app
    from qa.startup import prepare

    app = create_app()
    base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    try:
        prepare(app, base_url=base, demo=not args.no_demo, show_admin_token=args.show_admin_token)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    tune_gc()
    from qa.extensions import socketio
    from qa.web import metrics

    socketio.start_background_task(collect_when_quiet, socketio.sleep, metrics.handled)
    print(f"Serving on {base} (async mode: {mode}). Press Ctrl+C to stop.", flush=True)
    serve(app, args.host, args.port, mode)
    return 0


def tune_gc() -> None:
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def collect_when_quiet(sleep, handled) -> None:
    """Collect the young generations (0 and 1) in a pause of the traffic, not in the next burst.

    `handled()` counts the events handled so far; unchanged after QUIET_CHECK seconds means quiet.
    """
    import gc

    seen = handled()
    while True:
        sleep(QUIET_CHECK)
        now = handled()
        if now == seen and gc.get_count()[0] >= QUIET_YOUNG:
            gc.collect(1)
        seen = now


def serve(app, host: str, port: int, mode: str) -> None:
    """Serve a WSGI app as socketio.run() does, with room for every connection (see MAX_CONNECTIONS).

    bench/baseline_server.py serves the bare server through this too, so both listen alike.
    """
    if mode == "eventlet":
        # socketio.run() would call eventlet.listen() with its backlog of 50 and offers no way
        # to change it, so this is its eventlet branch (minus SSL and the reloader, unused here).
        import eventlet
        import eventlet.green.socket
        import eventlet.wsgi

        addresses = eventlet.green.socket.getaddrinfo(host, port)
        if not addresses:
            raise RuntimeError(f"cannot resolve {host!r}")
        sock = eventlet.listen(addresses[0][4], addresses[0][0], backlog=LISTEN_BACKLOG)
        eventlet.wsgi.server(sock, app, log_output=False, max_size=MAX_CONNECTIONS)
    elif mode == "gevent":
        from gevent import pywsgi

        # What socketio.run() does for gevent (simple-websocket provides WebSocket), plus the backlog.
        pywsgi.WSGIServer((host, port), app, log=None, backlog=LISTEN_BACKLOG).serve_forever()
    else:
        from qa.extensions import socketio

        socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    sys.exit(main())
