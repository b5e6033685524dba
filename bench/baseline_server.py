"""The baseline: a bare python-socketio server on the same stack as the app, doing the least.

It is served by run.py's own `serve()`, exactly as the app is (eventlet's wsgi
server or gevent's pywsgi, same listen backlog, same connection cap), with no
Flask, no database and no rules. What it does is what the app must do at the very least:

- on connect: join the room of everyone (moderators also a moderators' room) and
  send a `snapshot` with the same event and the same number of questions as the
  app's, built once at start (it is still serialised per connection, as the app's is);
- `question:moderate` `{"question": …}`: broadcast it as `question:update` to everyone;
- `question:submit`: ack with a question and send `question:new` to the moderators;
- `question:vote`: count it once per connection and question, ack with the count,
  and broadcast `votes` at most every 0.3 s, as the app does (its API promises at most 4 a second);
- any other event: broadcast it to everyone as it came, and ack.

GET /healthz answers 200 and GET /state the vote counts, the number of
submissions and the disconnects by reason, so the benchmark checks its counts
as it checks the app's.

    python -m bench.baseline_server --port 5100 --async-mode eventlet --questions 200
"""
from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5100)
    parser.add_argument("--async-mode", choices=("eventlet", "gevent"), default="eventlet")
    parser.add_argument("--questions", type=int, default=200, help="public questions in every snapshot")
    return parser.parse_args(argv)


def patch(mode: str) -> None:
    # As run.py does: before anything imports socket, threading or ssl.
    if mode == "eventlet":
        import warnings

        warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
    else:
        from gevent import monkey

        monkey.patch_all()


def build(mode: str, n_questions: int):
    """The python-socketio server and its WSGI app."""
    import collections
    import json
    import threading

    import socketio

    from bench.workload import event_dict, question_dict

    sio = socketio.Server(async_mode=mode, cors_allowed_origins="*", max_http_buffer_size=64 * 1024)
    snapshot_event = event_dict()
    snapshot_questions = [question_dict(i + 1) for i in range(n_questions)]
    lock = threading.Lock()
    state = {"submitted": 0, "next_id": n_questions + 100_000, "participants": 0}
    counts: dict[int, int] = {}
    voted: set[tuple[str, int]] = set()
    dirty: set[int] = set()

    @sio.event
    def connect(sid, environ, auth=None):
        role = (auth or {}).get("role", "participant")
        sio.enter_room(sid, "all")
        if role == "moderator":
            sio.enter_room(sid, "mod")
        with lock:
            state["participants"] += 1
            pid = f"p{state['participants']}"
        sio.emit("snapshot", {"event": snapshot_event, "questions": snapshot_questions,
                              "participant": pid}, to=sid)

    disconnects: collections.Counter = collections.Counter()

    @sio.event
    def disconnect(sid, reason=None):
        with lock:
            disconnects[str(reason)] += 1

    @sio.on("question:moderate")
    def moderate(sid, data):
        question = data.get("question") if isinstance(data, dict) else None
        sio.emit("question:update", {"question": question}, to="all")
        return {"ok": True, "question": question}

    @sio.on("question:submit")
    def submit(sid, data):
        with lock:
            state["submitted"] += 1
            state["next_id"] += 1
            qid = state["next_id"]
        question = {"id": qid, "theme": data.get("theme"), "text": data.get("text"), "name": None,
                    "status": "pending", "votes": 0, "live": False, "created_at": snapshot_questions[0]["created_at"]
                    if snapshot_questions else ""}
        sio.emit("question:new", {"question": question}, to="mod")
        return {"ok": True, "question": {**question, "mine": True}}

    @sio.on("question:vote")
    def vote(sid, data):
        qid = int(data.get("id"))
        with lock:
            if (sid, qid) not in voted:
                voted.add((sid, qid))
                counts[qid] = counts.get(qid, 0) + 1
                dirty.add(qid)
            n = counts.get(qid, 0)
        return {"ok": True, "id": qid, "votes": n}

    @sio.on("*")
    def anything(event, sid, data=None):
        sio.emit(event, data, to="all")
        return {"ok": True}

    def flush_votes():
        while True:
            sio.sleep(0.3)
            with lock:
                if not dirty:
                    continue
                batch = {str(q): counts[q] for q in sorted(dirty)}
                dirty.clear()
            sio.emit("votes", {"counts": batch}, to="all")

    sio.start_background_task(flush_votes)

    def http(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            body = b'{"ok": true}'
        elif path == "/state":
            with lock:
                body = json.dumps({"submitted": state["submitted"], "disconnects": disconnects,
                                   "votes": {str(k): v for k, v in counts.items()}}).encode()
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": {"code": "not_found", "message": "Not here."}}']
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return sio, socketio.WSGIApp(sio, http)


def serve(app, host: str, port: int, mode: str) -> None:
    """As run.py serves the app: the same listen call, backlog and connection cap."""
    import run  # run.py at the top of the project; it imports only argparse, os and sys at the top

    run.serve(app, host, port, mode)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    patch(args.async_mode)
    _, app = build(args.async_mode, args.questions)
    print(f"Baseline serving on http://{args.host}:{args.port} (async mode: {args.async_mode})", flush=True)
    try:
        serve(app, args.host, args.port, args.async_mode)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
