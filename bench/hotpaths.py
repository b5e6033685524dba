"""CPU per call of the paths issue 16 handed to libraries, in the tree on PYTHONPATH.

    PYTHONPATH=<tree> .venv/bin/python bench/hotpaths.py [--calls 20000]

Run it once per tree (say a `git archive` of the commit before and of the one after) to
compare: counting an ack and a broadcast (/metrics), a vote's rate-limit check over 2,000
participants, reading a participant token, a join's event from the cache, one /metrics scrape. Under eventlet, as run.py
serves, yielding every 10 calls so background tasks (a storage's sweeper) run and are counted.
Last, the CPU of 10 s of rate-limit checks paced as in a vote storm (250 a second over 500
participants), which counts what a timer does between the calls too.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()

    from qa import create_app, schema
    from qa.domain import events, identity
    from qa.extensions import db
    from qa.web import join_cache, metrics

    tmp = tempfile.mkdtemp(prefix="qa-hotpaths-")
    app = create_app({"TESTING": True, "INSTANCE_PATH": tmp, "QA_ENV": {
        "QA_DATABASE_URL": f"sqlite:///{tmp}/qa.sqlite3", "QA_ADMIN_TOKEN": "bench", "QA_SECRET_KEY": "bench",
        "QA_ASYNC_MODE": "eventlet", "QA_RATE_LIMITS": "on"}})
    limiter = app.extensions["qa_ratelimit"]
    _, token = identity.new_participant("bench")

    def clock(label: str, call) -> None:
        start = time.process_time()
        for i in range(args.calls):
            call(i)
            if i % 10 == 9:
                eventlet.sleep(0)
        print(f"{label}: {(time.process_time() - start) / args.calls * 1e6:.1f} µs", flush=True)

    with app.app_context():
        clock("count an ack", lambda i: metrics.acks.inc("question:vote", "ok"))
        clock("count a broadcast", lambda i: metrics.emits.inc("votes"))
        clock("vote rate-limit check, 2,000 participants",
              lambda i: limiter.check("vote", f"p{i % 2000}", "127.0.0.1"))
        clock("read a participant token", lambda i: identity.verify_participant("bench", token))
        schema.upgrade(db.engine)
        code = events.create_event(db.session, {"title": "Bench"}).code
        cache = join_cache.EventCache(ttl=3600.0)
        clock("a join's event from the cache (EventCache.get, a hit)", lambda i: cache.get(db.session, code))
        with app.test_request_context("/metrics"):
            view = app.view_functions["metrics.metrics"]
            start = time.process_time()
            for _ in range(200):
                view()
            print(f"one /metrics scrape: {(time.process_time() - start) / 200 * 1e3:.2f} ms", flush=True)
        start, began, done = time.process_time(), time.monotonic(), 0
        while time.monotonic() - began < 10:
            limiter.check("vote", f"q{done % 500}", "127.0.0.1")
            done += 1
            eventlet.sleep(0.004)  # votes arrive one by one, not in bursts
        print(f"10 s of rate-limit checks at 250/s over 500 participants: "
              f"{time.process_time() - start:.2f} s CPU ({done} checks)", flush=True)
    os._exit(0)  # the app's background tasks and a storage's timer would keep the process


if __name__ == "__main__":
    main()
