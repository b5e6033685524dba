"""The Markdown report: machine, versions, command, and the tables, app against baseline."""
from __future__ import annotations

import os
import platform
import statistics
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import psutil

BEGIN = "<!-- bench:begin: written by `python -m bench`; text outside these markers is kept -->"
END = "<!-- bench:end -->"
SATURATED = 85.0  # a load generator above this share of one core may be the bottleneck


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "os": f"{platform.system()} {platform.release()}"}


def versions() -> dict:
    out = {"Python": platform.python_version()}
    for dist in ("Flask", "Flask-SocketIO", "python-socketio", "python-engineio", "eventlet", "gevent",
                 "greenlet", "simple-websocket", "SQLAlchemy", "psycopg", "redis", "aiohttp", "py-spy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


# -- figures ---------------------------------------------------------------------------------

def _pcts(key: str) -> Callable[[dict], Any]:
    return lambda p: tuple(p[key][k] for k in ("p50", "p99", "max")) if p[key]["n"] else None


def _pair(a: str, b: str) -> Callable[[dict], Any]:
    return lambda p: (p[a], p[b])


def _ping_timeouts(p: dict) -> int:
    return p["server_disconnects"].get("ping timeout", 0)


# (scenario, figure, phase, extract). A tuple of 3 is p50/p99/max; a pair is a count "a/b".
ROWS: list[tuple[str, str, str, Callable[[dict], Any]]] = [
    ("1 join storm", "joined / expected", "join", _pair("joined", "expected")),
    ("1 join storm", "snapshots with every public question", "join", _pair("snapshots_complete", "joined")),
    ("1 join storm", "time to all joined (s)", "join", lambda p: p["time_to_all_s"]),
    ("1 join storm", "joins per second", "join", lambda p: p["joins_per_s"]),
    ("1 join storm", "connect → snapshot p50 / p99 / max (ms)", "join", _pcts("latency_ms")),
    ("1 join storm", "SYNs dropped on a full listen queue (machine-wide)", "join", lambda p: p["listen_overflows"]),
    ("1 join storm", "server CPU (% of one core)", "join", lambda p: p["server_cpu_pct"]),
    ("1 join storm", "server peak RSS (MB)", "join", lambda p: p["server_peak_rss_mb"]),
    ("5 idle memory", "server RSS per connected participant (KB)", "idle", lambda p: p["kb_per_client"]),
    ("5 idle memory", "server RSS with everyone connected (MB)", "idle", lambda p: p["rss_after_mb"]),
    ("2 fan-out", "participants reconnected before (dropped earlier)", "fanout", lambda p: p["rejoined_before"]),
    ("2 fan-out", "delivered / expected", "fanout", _pair("delivered", "expected")),
    ("2 fan-out", "approve → delivery p50 / p99 / max (ms)", "fanout", _pcts("latency_ms")),
    ("2 fan-out", "approve ack p50 / p99 / max (ms)", "fanout", _pcts("ack_ms")),
    ("2 fan-out", "participants still connected after", "fanout", _pair("connected_after", "participants")),
    ("2 fan-out", "dropped by the server for ping timeout", "fanout",
     _ping_timeouts),
    ("2 fan-out", "server CPU (% of one core)", "fanout", lambda p: p["server_cpu_pct"]),
    ("2 fan-out", "server peak RSS (MB)", "fanout", lambda p: p["server_peak_rss_mb"]),
    ("4 vote storm", "participants reconnected before (dropped earlier)", "vote", lambda p: p["rejoined_before"]),
    ("4 vote storm", "votes acked / sent", "vote", _pair("acked_ok", "sent")),
    ("4 vote storm", "stored votes / votes that reached the server", "vote",
     lambda p: (p["stored_total"], p.get("attempted", p["sent"]))),
    ("4 vote storm", "counted exactly once: acked ≤ stored ≤ reached, per question", "vote",
     lambda p: p["counted_exactly"]),
    ("4 vote storm", "clients whose final counts equal the stored ones", "vote",
     _pair("final_counts_seen", "final_counts_expected")),
    ("4 vote storm", "`votes` messages, most in any 1 s (screen)", "vote", lambda p: p["votes_msgs_max_per_s"]),
    ("4 vote storm", "vote → visible p50 / p99 / max (ms)", "vote", _pcts("visible_ms")),
    ("4 vote storm", "vote ack p50 / p99 / max (ms)", "vote", _pcts("ack_ms")),
    ("4 vote storm", "participants still connected after", "vote", _pair("connected_after", "participants")),
    ("4 vote storm", "dropped by the server for ping timeout", "vote",
     _ping_timeouts),
    ("4 vote storm", "server CPU (% of one core)", "vote", lambda p: p["server_cpu_pct"]),
    ("4 vote storm", "server peak RSS (MB)", "vote", lambda p: p["server_peak_rss_mb"]),
    ("3 submissions", "participants reconnected before (dropped earlier)", "submit_steady",
     lambda p: p["rejoined_before"]),
    ("3 submissions", "steady: acked / sent", "submit_steady", _pair("acked_ok", "sent")),
    ("3 submissions", "steady: ack p50 / p99 / max (ms)", "submit_steady", _pcts("ack_ms")),
    ("3 submissions", "steady: server CPU (% of one core)", "submit_steady", lambda p: p["server_cpu_pct"]),
    ("3 submissions", "max: acked / sent", "submit_max", _pair("acked_ok", "sent")),
    ("3 submissions", "max: durable (counted back over HTTP) / acked", "submit_max", _pair("durable", "acked_ok")),
    ("3 submissions", "max: durable questions per second", "submit_max", lambda p: p["durable_per_s"]),
    ("3 submissions", "max: ack p50 / p99 / max (ms)", "submit_max", _pcts("ack_ms")),
    ("3 submissions", "max: server CPU (% of one core)", "submit_max", lambda p: p["server_cpu_pct"]),
    ("3 submissions", "dropped by the server for ping timeout", "submit_max",
     _ping_timeouts),
    ("3 submissions", "participants still connected after", "submit_max", _pair("connected_after", "participants")),
]


def values(sessions: list[dict], phase: str, extract: Callable[[dict], Any]) -> list:
    out = []
    for s in sessions:
        p = s["phases"].get(phase)
        if p is None:
            continue
        try:
            out.append(extract(p))
        except (KeyError, TypeError, ZeroDivisionError):
            out.append(None)
    return out


def aggregate(vals: list) -> Any:
    """Numbers: the median over repeats. p50/p99/max: the median of each. Counts: every run's."""
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    first = vals[0]
    if isinstance(first, bool):
        return vals if len(vals) > 1 else first
    if isinstance(first, tuple) and len(first) == 3:
        return tuple(statistics.median(v[k] for v in vals) for k in range(3))
    if isinstance(first, tuple):
        return vals
    return statistics.median(vals)


def num(v: float | None) -> str:
    if v is None:
        return "–"
    a = abs(v)
    return f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}"


def show(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    if isinstance(v, list) and v and isinstance(v[0], bool):  # yes/no per run
        shown = ["yes" if x else "**no**" for x in v]
        return f"{shown[0]} ×{len(v)}" if len(set(v)) == 1 else " · ".join(shown)
    if isinstance(v, list):  # counts per run
        shown = [f"{a}/{b}" if a == b else f"**{a}/{b}**" for a, b in v]
        return shown[0] if len(set(shown)) == 1 and len(shown) == 1 else \
            (f"{shown[0]} ×{len(shown)}" if len(set(shown)) == 1 else " · ".join(shown))
    if isinstance(v, tuple):
        return " / ".join(num(x) for x in v)
    return num(v)


def ratio(a: Any, b: Any) -> str:
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == 3:
        return " / ".join(f"{x / y:.2f}" if x is not None and y else "–" for x, y in zip(a, b)) + " ×"
    if isinstance(a, (int, float)) and not isinstance(a, bool) and isinstance(b, (int, float)) and b:
        return f"{a / b:.2f} ×"
    return ""


# -- tables ----------------------------------------------------------------------------------

def _sessions(run: dict, mode: str, target: str, group: str = "sessions") -> list[dict]:
    return [s for s in run.get(group, []) if s["mode"] == mode and s["target"] == target]


def detail_table(a: list[dict], b: list[dict], head_a: str, head_b: str, ratio_head: str) -> list[str]:
    lines = [f"| scenario | figure | {head_a} | {head_b} | {ratio_head} |", "|---|---|---|---|---|"]
    last = ""
    for scenario, figure, phase, extract in ROWS:
        va, vb = aggregate(values(a, phase, extract)), aggregate(values(b, phase, extract))
        if va is None and vb is None:
            continue
        label = scenario if scenario != last else ""
        last = scenario
        lines.append(f"| {label} | {figure} | {show(va)} | {show(vb)} | {ratio(va, vb)} |")
    return lines


def _fig(sessions: list[dict], phase: str, extract: Callable[[dict], Any]) -> Any:
    return aggregate(values(sessions, phase, extract))


def _all_counts(v: Any) -> bool | None:
    return None if v is None else all(a == b for a, b in v)


# (target, figure, phase, extract, is it met? given (app value, baseline value))
HEADLINE: list[tuple[str, str, str, Callable[[dict], Any], Callable[[Any, Any], bool | None]]] = [
    ("1 all join", "joined / expected", "join", _pair("joined", "expected"), lambda a, b: _all_counts(a)),
    ("1 ≥ 150 joins/s", "joins per second", "join", lambda p: p["joins_per_s"],
     lambda a, b: None if a is None else a >= 150),
    ("1 ≤ 1.3× bare connect time", "time to all joined (s)", "join", lambda p: p["time_to_all_s"],
     lambda a, b: None if a is None or not b else a / b <= 1.3),
    ("2 100 % delivered", "delivered / expected", "fanout", _pair("delivered", "expected"),
     lambda a, b: _all_counts(a)),
    ("2 p99 ≤ 1.25× bare broadcast", "approve → delivery p99 (ms)", "fanout",
     lambda p: p["latency_ms"]["p99"], lambda a, b: None if a is None or not b else a / b <= 1.25),
    ("3 ack p99 < 100 ms at 50/s", "steady ack p99 (ms)", "submit_steady", lambda p: p["ack_ms"]["p99"],
     lambda a, b: None if a is None else a < 100),
    ("3 ≥ 200 durable questions/s", "durable questions per second", "submit_max", lambda p: p["durable_per_s"],
     lambda a, b: None if a is None else a >= 200),
    ("4 every vote taken", "votes acked / sent", "vote", _pair("acked_ok", "sent"), lambda a, b: _all_counts(a)),
    ("4 every vote counted once", "acked ≤ stored ≤ reached", "vote", lambda p: p["counted_exactly"],
     lambda a, b: None if a is None else (all(a) if isinstance(a, list) else a)),
    ("4 ≤ 4 `votes` messages/s", "most `votes` messages in 1 s", "vote", lambda p: p["votes_msgs_max_per_s"],
     lambda a, b: None if a is None else a <= 4),
    ("4 vote → visible p99 < 500 ms", "vote → visible p99 (ms)", "vote", lambda p: p["visible_ms"]["p99"],
     lambda a, b: None if a is None else a < 500),
    ("5 < 100 KB per participant", "server RSS per participant (KB)", "idle", lambda p: p["kb_per_client"],
     lambda a, b: None if a is None else a < 100),
]


def headline(run: dict) -> list[str]:
    modes = run["modes"]
    head = "| target (issue 6) | figure | " + " | ".join(
        f"{m}: app | {m}: baseline | app/baseline | met" for m in modes) + " |"
    lines = [head, "|---|---|" + "---|---|---|---|" * len(modes)]
    for target, figure, phase, extract, met in HEADLINE:
        cells = []
        any_value = False
        for m in modes:
            a = _fig(_sessions(run, m, "app"), phase, extract)
            b = _fig(_sessions(run, m, "baseline"), phase, extract)
            any_value = any_value or a is not None
            ok = met(a, b)
            cells += [show(a), show(b), ratio(a, b), "–" if ok is None else ("yes" if ok else "**no**")]
        if any_value:
            lines.append(f"| {target} | {figure} | " + " | ".join(cells) + " |")
    return lines


def generators(run: dict) -> list[str]:
    lines = ["| mode | server | phase | server CPU % | server waiting for a CPU % | "
             "generator CPU % (each, max over runs) | generator event-loop lag p99 / max (ms, worst generator, "
             "median over runs) | other processes on the machine (cores) | note |",
             "|---|---|---|---|---|---|---|---|---|"]
    for group in ("sessions", "redis"):
        seen = []
        for s in run.get(group, []):
            key = (s["mode"], s["target"])
            if key not in seen:
                seen.append(key)
        for mode, target in seen:
            sessions = _sessions(run, mode, target, group)
            for phase in ("join", "fanout", "vote", "submit_steady", "submit_max"):
                ps = [s["phases"][phase] for s in sessions if phase in s["phases"]]
                if not ps:
                    continue
                width = max(len(p["workers_cpu_pct"]) for p in ps)
                each = [max(p["workers_cpu_pct"][k] for p in ps if k < len(p["workers_cpu_pct"]))
                        for k in range(width)]
                server = statistics.median(p["server_cpu_pct"] for p in ps)
                waited = statistics.median(p.get("server_runqueue_wait_pct", 0.0) for p in ps)
                others = statistics.median(p.get("other_cores", 0.0) for p in ps)
                lag = _lag(ps)
                flag = "⚠ generator saturated" if max(each) > SATURATED else ""
                lines.append(f"| {mode} | {target} | {phase} | {num(server)} | {num(waited)} | "
                             f"{' / '.join(num(x) for x in each)} | {lag} | {others:.2f} | {flag} |")
    return lines


def _lag(phases: list[dict]) -> str:
    """The slowest generator's event-loop lag in each run (runs before it was measured: –), median of runs."""
    p99s, maxes = [], []
    for p in phases:
        lags = [lag for lag in p.get("workers_lag_ms") or [] if lag and lag.get("n")]
        if lags:
            p99s.append(max(lag["p99"] for lag in lags))
            maxes.append(max(lag["max"] for lag in lags))
    if not p99s:
        return "–"
    return f"{num(statistics.median(p99s))} / {num(statistics.median(maxes))}"


def redis_table(run: dict) -> list[str]:
    groups = run.get("redis", [])
    if not groups:
        return []
    out = []
    for mode in dict.fromkeys(s["mode"] for s in groups):
        one = [s for s in groups if s["mode"] == mode and s["processes"] == 1]
        two = [s for s in groups if s["mode"] == mode and s["processes"] == 2]
        out += [f"**{mode}**", ""]
        out += detail_table(two, one, "two processes (PostgreSQL + Redis)", "one process (PostgreSQL)",
                            "two / one")
        out.append("")
    return out


def profile_section(run: dict) -> list[str]:
    out = []
    for rec in run.get("profile", []):
        s = rec.get("summary")
        if not s:
            continue
        out += [f"**{rec['mode']}, {rec['phase']}** ({s['samples']} samples of CPU time at 100 Hz; flame graph "
                f"`bench/results/{Path(rec['svg']).name}`, written by the run, not committed):", ""]
        out += ["| where the CPU went (leaf frame) | % |", "|---|---|"]
        out += [f"| {a} | {p} |" for a, p in s["areas"]]
        out += ["", "| heaviest app functions, inclusive | % |", "|---|---|"]
        out += [f"| `{f}` | {p} |" for f, p in s["app"][:10]]
        out += ["", "| heaviest functions, self | % |", "|---|---|"]
        out += [f"| `{f}` | {p} |" for f, p in s["self"][:10]]
        out.append("")
    return out


def render(run: dict) -> str:
    cfg = run["config"]
    m, v = run["machine"], run["versions"]
    lines = [
        BEGIN, "",
        f"Run {run['started']} → {run['finished']} ({run['elapsed_min']:.1f} min). Reproduce with:", "",
        "```", run["command"], "```", "",
        f"**Machine:** {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}. "
        f"Server, {cfg['workers']} load-generator processes and a control process (moderator, screen) "
        "share these cores, as they would on one small machine; the generators' own CPU is in the "
        "last table. Other processes' CPU during each phase is reported too: the machine is shared.", "",
        "**Versions:** " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".", "",
        f"**Load:** {cfg['participants']} participants over {cfg['workers']} processes "
        f"(python-socketio AsyncClient on aiohttp, WebSocket transport only, 127.0.0.1), joining at most "
        f"{cfg['join_concurrency']} at a time per process; an event with {cfg['questions']} public "
        f"questions made through the API (participants submit, the moderator approves); fan-out "
        f"{cfg['fanout_rate']:g} approvals/s for {cfg['fanout_seconds']:g} s; {cfg['votes_per_participant']} votes "
        f"per participant within {cfg['vote_seconds']:g} s; submissions at {cfg['submit_rate']:g}/s for "
        f"{cfg['submit_seconds']:g} s, then {cfg['submit_burst'] or cfg['participants']} as fast as possible "
        f"({cfg['submit_inflight']} in flight per process). The app runs with its production defaults "
        "(SQLite file in WAL mode with synchronous=FULL, rate limits on)"
        + (f", started through `bench/app_server.py`, which is run.py with eventlet's cap of 1,024 "
           f"simultaneous connections raised to {run['eventlet_max_size']}"
           if run.get("eventlet_max_size")  # runs recorded before run.py raised the cap itself
           else ", started with `python run.py` (which lets eventlet hold 10,000 connections and "
                "listens with a backlog of 1,024; the baseline is served by the same code)")
        + "; the baseline is `bench/baseline_server.py`. "
        + (f"Servers and load generators ran at nice {run['nice']}. " if run.get("nice") else "")
        + "Phases run in this order on the same connections: join, idle, fan-out, submissions, votes. "
        f"Short scenarios ran {run['repeats']}× per mode and the tables show medians (counts: every run); "
        "the fan-out ran once per mode. Latencies are `time.time_ns()` stamps taken by the sending "
        "process and the receiving one on the same machine.", "",
        "## Targets", "",
        *headline(run), "",
    ]
    for mode in run["modes"]:
        app, base = _sessions(run, mode, "app"), _sessions(run, mode, "baseline")
        if app or base:
            lines += [f"## {mode}: app against the bare python-socketio server", ""]
            lines += detail_table(app, base, "app", "baseline", "app / baseline")
            lines.append("")
    if run.get("redis"):
        lines += ["## 7 Two processes with Redis against one", "",
                  "Both on PostgreSQL (a fresh schema each), so that the only difference is the second "
                  "process and the message queue (a private redis-server on a free loopback port, so no "
                  "other test's broadcasts reach it). Participants alternate between the two processes; "
                  "the moderator is on the first and the screen on the second, so every broadcast "
                  "crosses Redis. Server figures are both processes together.", ""]
        lines += redis_table(run)
    lines += ["## Load generators and the machine", "",
              f"CPU of each generator process as a share of one core over the phase; above {SATURATED:.0f} % "
              "the generator, not the server, may be what limits a figure. Its event-loop lag is how much "
              "later than asked a 5 ms timer in the generator ran: a reply that reached a generator while it "
              "was busy (reading a broadcast to its 1,000 clients, say) is stamped that much late, at any "
              "average CPU. \"Waiting for a CPU\" is the time "
              "the server was ready to run but the scheduler ran something else (Linux schedstat), and "
              "\"other processes\" the cores the rest of the machine used meanwhile: on a shared machine "
              "these say how far a figure is the app's and how far the neighbours'.", ""]
    lines += generators(run)
    lines.append("")
    if run.get("errors"):
        lines += ["## Errors during the run", ""] + [f"- {e}" for e in run["errors"]] + [""]
    if run.get("profile"):
        lines += ["## Profile data", "", "Recorded by `python -m bench --profile` in separate app sessions "
                  "(not the measured ones), with `py-spy record --nonblocking` attached to the server process "
                  "for the phase. Percentages are of the samples; \"inclusive\" counts a function whenever "
                  "it is on the stack.", ""]
        lines += profile_section(run)
    lines.append(END)
    return "\n".join(lines) + "\n"


def write(path: Path, run: dict) -> None:
    """Replace the generated part of `path`, keeping what was written around it by hand."""
    body = render(run)
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            before, rest = text.split(BEGIN, 1)
            _, after = rest.split(END, 1)
            path.write_text(before + body.rstrip("\n") + after)
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Benchmarks\n\nIssue 6's suite: the app against a bare python-socketio server "
                    "on the same stack, in the same run. `python -m bench --help` for the options.\n\n"
                    + body)
