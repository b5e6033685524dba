"""`python -m bench`: run the scenarios against the app and the baseline, write the report."""
from __future__ import annotations

import argparse
import json
import re
import shlex
import signal
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from . import report
from .pool import Pool
from .servers import ROOT, PostgresSchema, PrivateRedis, start_app, start_baseline
from .session import SCENARIOS, Config, Session

ALL = (*SCENARIOS, "redis")
RESULTS = ROOT / "bench" / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Issue 6's benchmark: every scenario against the app (run.py) and a bare "
        "python-socketio server with the same async mode, side by side; writes docs/benchmarks.md.",
    )
    p.add_argument("--scenarios", default=",".join(ALL),
                   help=f"comma-separated, from {', '.join(ALL)} (join always runs: it connects everyone; "
                   "default: all)")
    p.add_argument("--modes", default="eventlet,gevent", help="async modes (default: eventlet,gevent)")
    p.add_argument("--targets", default="app,baseline", help="app, baseline or both (default: both)")
    p.add_argument("--clients", type=int, default=2000, help="participants (default 2000)")
    p.add_argument("--workers", type=int, default=2, help="load-generator processes (default 2)")
    p.add_argument("--questions", type=int, default=200, help="public questions before measuring (default 200)")
    p.add_argument("--repeats", type=int, default=3, help="runs of the short scenarios per mode; medians reported")
    p.add_argument("--join-concurrency", type=int, default=100, help="connects in flight per worker")
    p.add_argument("--fanout-rate", type=float, default=2.0, help="approvals per second (default 2)")
    p.add_argument("--fanout-seconds", type=float, default=60.0, help="fan-out duration (default 60)")
    p.add_argument("--votes", type=int, default=5, help="votes per participant (default 5)")
    p.add_argument("--vote-seconds", type=float, default=10.0, help="window the votes are spread over")
    p.add_argument("--submit-rate", type=float, default=50.0, help="steady submissions per second")
    p.add_argument("--submit-seconds", type=float, default=10.0, help="steady submission duration")
    p.add_argument("--submit-burst", type=int, default=0,
                   help="questions sent as fast as possible (default: one per participant)")
    p.add_argument("--submit-inflight", type=int, default=100, help="per worker, in the as-fast-as-possible phase")
    p.add_argument("--sample", type=int, default=25, help="receivers per worker timed for vote-to-visible")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds for one connect or one ack")
    p.add_argument("--redis-modes", default=None, help="async modes for scenario 7 (default: the first mode)")
    p.add_argument("--postgres-url", default="postgresql+psycopg://root@127.0.0.1:5432/test",
                   help="database for scenario 7; each run gets a fresh schema")
    p.add_argument("--redis-url", default=None,
                   help="message queue for scenario 7 (default: a private redis-server on a free port)")
    p.add_argument("--profile", action="store_true",
                   help="also record py-spy profiles of the app during join and fan-out (separate sessions)")
    p.add_argument("--profile-phases", default="join,fanout",
                   help="phases to profile (join, fanout, vote, submit_steady, submit_max)")
    p.add_argument("--profile-idle", action="store_true",
                   help="include time spent waiting (py-spy --idle): where handlers block, not only CPU")
    p.add_argument("--nice", type=int, default=0,
                   help="scheduling priority for servers and load generators alike (e.g. -5 on a machine "
                   "shared with other work; needs root for negative values)")
    p.add_argument("--max-minutes", type=float, default=45.0, help="stop starting new sessions after this")
    p.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"), help="Markdown report ('-': none)")
    p.add_argument("--json", default=None, help="raw results (default: bench/results/<time>.json)")
    p.add_argument("--report-only", metavar="JSON", help="rewrite the report from saved raw results")
    p.add_argument("--merge-profile", metavar="JSON", action="append", default=[],
                   help="with --report-only: also show the profiles recorded in this run's raw results")
    p.add_argument("--smoke", action="store_true",
                   help="a small quick run (the test suite's): 50 clients, 10 questions, eventlet, once, "
                   "a second or less per scenario; options given explicitly still win")
    args = p.parse_args(argv)
    if args.smoke:
        # It checks that every scenario runs and counts right, not how fast: as many sends, in less
        # time. The quiet before each phase (see _config) keeps the last phase's trailing broadcasts
        # out of the next one's timings; no count depends on it.
        for name, value in (("clients", 50), ("questions", 10), ("repeats", 1), ("fanout_rate", 4.0),
                            ("fanout_seconds", 1.0), ("votes", 2), ("vote_seconds", 0.5), ("submit_rate", 40.0),
                            ("submit_seconds", 0.5), ("sample", 5), ("timeout", 30.0)):
            if getattr(args, name) == p.get_default(name):
                setattr(args, name, value)
        if args.modes == p.get_default("modes"):
            args.modes = "eventlet"
        if args.scenarios == p.get_default("scenarios"):
            args.scenarios = ",".join(SCENARIOS)
    return args


def _config(args: argparse.Namespace) -> Config:
    return Config(participants=args.clients, workers=args.workers, questions=args.questions,
                  join_concurrency=args.join_concurrency, fanout_rate=args.fanout_rate,
                  fanout_seconds=args.fanout_seconds, votes_per_participant=args.votes,
                  vote_seconds=args.vote_seconds, submit_rate=args.submit_rate,
                  submit_seconds=args.submit_seconds, submit_burst=args.submit_burst,
                  submit_inflight=args.submit_inflight, sample=args.sample, timeout=args.timeout,
                  grace=3.0 if args.smoke else 10.0, idle_settle=0.6 if args.smoke else 3.0,
                  **({"quiet": 0.5, "rss_samples": 1} if args.smoke else {}))


def _log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


def _server_errors(output: str) -> int:
    return output.count("Traceback (most recent call last)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # A `timeout` or Ctrl+C ends the run through the finally blocks, which stop every server started.
    # The flag too: an exception raised in a finally block (a worker still busy) replaces the
    # SystemExit, and the run would carry on with broken sessions and then write the report.
    stopping = []

    def _on_sigterm(*_):
        stopping.append(True)
        sys.exit(143)

    signal.signal(signal.SIGTERM, _on_sigterm)
    output = None if args.output == "-" else Path(args.output)
    if args.report_only:
        run = json.loads(Path(args.report_only).read_text())
        for extra in args.merge_profile:
            other = json.loads(Path(extra).read_text())
            run.setdefault("profile", []).extend(other.get("profile", []))
            run.setdefault("profile_sessions", []).extend(other.get("profile_sessions", []))
        if output:
            report.write(output, run)
            _log(f"wrote {output}")
        return 0

    scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
    unknown = set(scenarios) - set(ALL)
    if unknown:
        print(f"unknown scenarios: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    cfg = _config(args)
    started = time.monotonic()
    deadline = started + args.max_minutes * 60
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    json_path = Path(args.json) if args.json else RESULTS / f"{stamp}.json"
    run: dict = {
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench " + shlex.join(argv) if argv else "python -m bench",
        "config": cfg.as_dict(),
        "nice": args.nice, "modes": modes, "repeats": args.repeats, "scenarios": list(scenarios),
        "machine": report.machine(), "versions": report.versions(),
        "sessions": [], "redis": [], "profile": [], "errors": [],
    }

    def save() -> None:
        run["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        run["elapsed_min"] = (time.monotonic() - started) / 60
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(run, indent=1, default=str))

    def session(group: str, start, label: str, fanout: bool, extra: dict, which=scenarios, hook=None) -> None:
        if stopping:
            raise SystemExit(143)
        if time.monotonic() > deadline:
            run["errors"].append(f"skipped {label}: --max-minutes {args.max_minutes:g} reached")
            return
        _log(f"{label}: starting")
        target, sess = None, None
        try:
            target = start()
            sess = Session(pool, target, cfg, hook=hook)
            sess.run(which, fanout=fanout)
        except Exception as exc:
            run["errors"].append(f"{label}: {exc.__class__.__name__}: {str(exc)[:300]}")
            traceback.print_exc()
            if sess is not None:
                sess.result["failed"] = f"{exc.__class__.__name__}: {str(exc)[:300]}"
        finally:
            if target is not None:
                logs = target.stop()
                if sess is not None:
                    sess.result.update(extra)
                    sess.result["server_errors"] = sum(_server_errors(o) for o in logs)
                    if sess.result["server_errors"]:
                        kept = json_path.with_name(f"{json_path.stem}-{re.sub(r'[^A-Za-z0-9]+', '-', label)}.log")
                        kept.write_text("\n".join(logs))
                        run["errors"].append(f"{label}: {sess.result['server_errors']} tracebacks in the server"
                                             f" log, kept in {kept.name}")
                    run.setdefault(group, []).append(sess.result)
        _log(f"{label}: done")
        save()

    from . import servers

    servers.NICE = args.nice
    with Pool(args.workers, nice=args.nice) as pool:
        def measured(rep: int) -> None:
            for mode in modes:
                order = targets if rep % 2 == 0 else list(reversed(targets))  # neither always goes first
                for kind in order:
                    start = (lambda m=mode: start_app(m)) \
                        if kind == "app" else (lambda m=mode: start_baseline(m, cfg.questions))
                    session("sessions", start, f"{mode} {kind} run {rep + 1}",
                            fanout="fanout" in scenarios and rep == 0, extra={"repeat": rep + 1})

        def two_processes() -> None:
            for mode in (args.redis_modes or modes[0]).split(","):
                for procs in (1, 2):
                    label = "app×2 (PostgreSQL + Redis)" if procs == 2 else "app (PostgreSQL)"
                    cleanup: list = []

                    def start(mode=mode, procs=procs, cleanup=cleanup):
                        schema = PostgresSchema(args.postgres_url)
                        cleanup.append(schema.drop)
                        queue = None
                        if procs == 2:
                            if args.redis_url:
                                queue = args.redis_url
                            else:
                                redis = PrivateRedis()
                                cleanup.append(redis.stop)
                                queue = redis.url
                        return start_app(mode, procs, schema.url, queue)

                    try:
                        session("redis", start, f"{mode} {label}", fanout="fanout" in scenarios,
                                extra={"processes": procs, "target": label},
                                which=tuple(s for s in scenarios if s != "redis"))
                    finally:
                        for fn in reversed(cleanup):
                            try:
                                fn()
                            except Exception as exc:
                                run["errors"].append(f"cleanup: {exc}")

        # Every mode once, then scenario 7, then the repeats: if time runs out, nothing is missing.
        for rep in range(args.repeats):
            measured(rep)
            if rep == 0 and "redis" in scenarios:
                two_processes()
        if args.repeats == 0 and "redis" in scenarios:
            two_processes()
        if args.profile:
            from . import profile

            for mode in modes:
                phases = tuple(x.strip() for x in args.profile_phases.split(",") if x.strip())
                profiler = profile.Profiler(RESULTS, phases=phases, idle=args.profile_idle)
                which = tuple(s for s in scenarios if s in ("vote", "submit")) + ("join",)
                session("profile_sessions", lambda m=mode: start_app(m), f"{mode} app (profiled)",
                        fanout="fanout" in phases, extra={}, which=which, hook=profiler)
                for rec in profiler.recorded:
                    try:
                        rec["summary"] = profile.summarize(rec["raw"])
                    except OSError as exc:
                        rec["summary"] = None
                        run["errors"].append(f"profile {rec['raw']}: {exc}")
                    run["profile"].append(rec)
    save()
    if stopping:
        _log(f"stopped by SIGTERM; raw results in {json_path}, no report written")
        return 143
    if output:
        report.write(output, run)
        _log(f"wrote {output} and {json_path}")
    else:
        _log(f"wrote {json_path}")
    return 1 if run["errors"] else 0
