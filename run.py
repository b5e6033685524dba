"""Start the Q&A server: the only place that knows about monkey-patching and servers."""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _constants():
    """qa/constants.py read on its own: importing the qa package would import Flask before patch()."""
    spec = importlib.util.spec_from_file_location("_qa_constants", ROOT / "qa" / "constants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CONSTANTS = _constants()
ASYNC_MODES, DEFAULT_ASYNC_MODE = _CONSTANTS.ASYNC_MODES, _CONSTANTS.DEFAULT_ASYNC_MODE

# Every WebSocket holds one server connection for its whole life. eventlet's wsgi server caps
# simultaneous connections at 1,024 by default (connection 1,025 waits until one closes), and
# eventlet.listen() and the kernel queue at most 50 unaccepted connections, so a room of a few
# thousand joining at once saw drops and retries (docs/benchmarks.md). gevent has no cap, but
# the same listen queue. The kernel clips the backlog to net.core.somaxconn (4096 by default).
MAX_CONNECTIONS = 10_000
LISTEN_BACKLOG = 1024



def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Live Q&A with moderation. Settings come from QA_* environment "
        "variables or a .env file; see README.md and docs/api.md.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000)")
    parser.add_argument(
        "--async-mode", choices=ASYNC_MODES, default=None,
        help=f"server concurrency model; overrides QA_ASYNC_MODE (default {DEFAULT_ASYNC_MODE})",
    )
    parser.add_argument("--no-demo", action="store_true", help="do not create the demo event on an empty database")
    parser.add_argument(
        "--show-admin-token", action="store_true",
        help="print the organiser (admin) token and exit, without serving (works while a server runs)",
    )
    parser.add_argument(
        "--debug", action="store_true",
        help="a local try-out: accept the CHANGE-ME placeholder secrets of deploy/qa.env.example",
    )
    return parser.parse_args(argv)


def use_project_venv(argv: list[str]) -> str | None:
    """Re-run under the project's .venv when this interpreter lacks the server's packages.

    The README's set-up (scripts/serve) installs them into .venv, so a plain `python run.py
    --show-admin-token` would otherwise end in a ModuleNotFoundError traceback. Returns an error
    message when there is no .venv to turn to; does not return when it re-runs.
    """
    import importlib.util

    if importlib.util.find_spec("flask_socketio") is not None:
        return None
    venv = ROOT / ".venv"
    python = venv / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != venv.resolve():
        os.execv(python, [str(python), str(ROOT / "run.py"), *argv])
    return (f"{sys.executable} lacks the server's Python packages; start it with scripts/serve, "
            "which installs them into .venv")


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
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    missing = use_project_venv(argv)
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 1
    from dotenv import load_dotenv  # pure Python, safe before patching

    load_dotenv(override=False)
    mode = args.async_mode or os.environ.get("QA_ASYNC_MODE", DEFAULT_ASYNC_MODE).strip() or DEFAULT_ASYNC_MODE
    if mode not in ASYNC_MODES:
        print(f"QA_ASYNC_MODE={mode!r} is not one of {', '.join(ASYNC_MODES)}", file=sys.stderr)
        return 2
    os.environ["QA_ASYNC_MODE"] = mode
    patch(mode)

    if args.show_admin_token:
        from qa.startup import StartupError, create, show_admin_token

        try:
            show_admin_token(create(debug=args.debug))
        except StartupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0

    # The port first, even before importing the app: a second server on a taken port stops
    # here, at once, before it touches the database or prints links that lead to the other one.
    try:
        sock = listen(args.host, args.port)
    except CannotListen as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from qa.startup import StartupError, create, prepare

    base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    try:
        app = create(debug=args.debug)
        prepare(app, base_url=base, demo=not args.no_demo)
    except StartupError as exc:
        sock.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1

    from qa.extensions import socketio
    from qa.web import metrics, speedups

    if speedups.tune_collector(app):  # the cycle collector's pauses: see qa/web/speedups.py
        socketio.start_background_task(speedups.collect_when_quiet, socketio.sleep, metrics.handled)
    print(f"Serving on {base} (async mode: {mode}). Press Ctrl+C to stop.", flush=True)
    serve(app, args.host, args.port, mode, sock)
    return 0


class CannotListen(Exception):
    """The server cannot take its address; the message says which and what to do, in one line."""


def listen(host: str, port: int):
    """A listening socket of this process alone, or CannotListen.

    No SO_REUSEPORT (eventlet.listen() sets it by default): with it a second server on the
    same port also bound, and the kernel split the clients of one event between two processes.
    SO_REUSEADDR stays, so a restart binds while the last connections sit in TIME_WAIT; Linux
    still refuses it while another socket listens there. Call after patch(): the socket module
    is green by then under eventlet and gevent.
    """
    import errno
    import socket

    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, IndexError):
        raise CannotListen(f"cannot resolve --host {host!r} to an address of this machine") from None
    try:
        return socket.create_server(address, family=family, backlog=LISTEN_BACKLOG, reuse_port=False)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(f"port {port} on {host} is already in use (another server?); "
                               "stop it or pick another port with --port") from None
        if exc.errno == errno.EACCES:
            raise CannotListen(f"not allowed to listen on port {port} (ports below 1024 need "
                               "root); pick another port with --port") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise CannotListen(f"{host} is not an address of this machine; pick another with --host") from None
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve(app, host: str, port: int, mode: str, sock=None) -> None:
    """Serve a WSGI app as socketio.run() does, with room for every connection (see MAX_CONNECTIONS).

    `sock` is listen()'s socket (made here when not given). socketio.run() would make its own,
    with eventlet's SO_REUSEPORT and a backlog of 50, so this is its branch for each mode
    (minus SSL and the reloader, unused here). bench/baseline_server.py serves the bare server
    through this too, so both listen alike.
    """
    if sock is None:
        sock = listen(host, port)
    if mode == "eventlet":
        import eventlet.wsgi

        eventlet.wsgi.server(sock, app, log_output=False, max_size=MAX_CONNECTIONS)
    elif mode == "gevent":
        from gevent import pywsgi

        from qa.web.websocket import gevent_request_handler

        # simple-websocket provides WebSocket, as under socketio.run(); the handler hangs up
        # after a WebSocket instead of reading its frames as HTTP.
        pywsgi.WSGIServer(sock, app, log=None, handler_class=gevent_request_handler()).serve_forever()
    else:
        from werkzeug.serving import make_server

        from qa.web.websocket import RequestHandler

        # What socketio.run() reaches through app.run() and run_simple(), on our socket; the
        # handler hangs up after a WebSocket instead of reading its frames as HTTP. The address
        # the socket is bound to, not --host, tells Werkzeug its family (localhost may be ::1).
        server = make_server(sock.getsockname()[0], port, app, threaded=True, fd=sock.fileno(),
                             request_handler=RequestHandler)
        sock.close()  # the server holds its own duplicate of the descriptor
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
