"""One benchmark session: a fresh server, its clients, and every scenario measured in turn.

Phases, in this order, on the same connections: join storm (1), idle memory (5),
fan-out (2), submissions at a steady rate then as fast as possible (3), vote
storm (4) last, since a server it overloads drops clients on ping timeouts. The app and the baseline go through exactly the same phases and
the same client code; only the payload of `question:moderate` differs (the
baseline is handed the question it is to broadcast, the app looks it up).
"""
from __future__ import annotations

import collections
import os
import re
import random
import statistics
import time
from bisect import bisect_left
from dataclasses import asdict, dataclass
from typing import Any, Callable

import requests

from . import stats
from .pool import Pool
from .servers import ADMIN_TOKEN, Monitor, Target
from .workload import question_dict, vote_targets

SCENARIOS = ("join", "fanout", "submit", "vote", "idle")
QUIET_S = 2.5  # before a phase, nothing received for this long: longer than the app's 2 s `queue:order` batching
MODERATOR, SCREEN = -1, -2  # client indices of the control worker's two clients
now = time.time_ns


@dataclass
class Config:
    participants: int = 2000
    workers: int = 2
    questions: int = 200  # public questions in the event before anything is measured
    join_concurrency: int = 100  # connects in flight per worker
    fanout_rate: float = 2.0  # approvals per second
    fanout_seconds: float = 60.0
    votes_per_participant: int = 5
    vote_seconds: float = 10.0
    submit_rate: float = 50.0
    submit_seconds: float = 10.0
    submit_burst: int = 0  # questions sent as fast as possible; 0 means one per participant
    submit_inflight: int = 100  # per worker, in the as-fast-as-possible phase
    sample: int = 25  # receivers per worker whose every `votes` message is kept (vote-to-visible)
    timeout: float = 60.0  # one connect or one ack
    grace: float = 10.0  # after the last send, how long deliveries may still arrive
    idle_settle: float = 3.0
    quiet: float = QUIET_S  # stillness before each phase (see Session._quiet)
    rss_samples: int = 5  # server memory read this many times, 0.2 s apart, before and after the join
    seed: int = 6

    def as_dict(self) -> dict:
        return asdict(self)


def listen_overflows() -> int:
    """TcpExt ListenOverflows from /proc/net/netstat (0 where there is none)."""
    try:
        lines = open("/proc/net/netstat").read().splitlines()
    except OSError:
        return 0
    for head, values in zip(lines[::2], lines[1::2]):
        if head.startswith("TcpExt:"):
            return int(dict(zip(head.split()[1:], values.split()[1:])).get("ListenOverflows", 0))
    return 0


def _split(items: list, n: int) -> list[list]:
    return [items[k::n] for k in range(n)]


def _cpu_pct(cpu: dict) -> float:
    return 100.0 * cpu["cpu_s"] / cpu["wall_s"] if cpu["wall_s"] else 0.0


class Session:
    def __init__(self, pool: Pool, target: Target, cfg: Config,
                 hook: Callable[[str, str, Target], None] | None = None) -> None:
        self.pool, self.target, self.cfg = pool, target, cfg
        self.app = target.kind != "baseline"
        self.monitor = Monitor(target.pids)
        self.hook = hook or (lambda *_: None)
        self.result: dict[str, Any] = {"target": target.kind, "mode": target.mode, "phases": {}}
        self.participants = list(range(cfg.participants))
        self.per_worker = _split(self.participants, len(pool.participants))
        self.worker_of = {i: k for k, idx in enumerate(self.per_worker) for i in idx}

    # -- plumbing ---------------------------------------------------------------------------

    def _rejoin(self, name: str) -> None:
        """Before a phase, connect again whoever the server dropped in the last one (browsers do)."""
        t0 = time.monotonic()
        replies = self.pool.each("reconnect", handles=self.pool.all, timeout=self.cfg.timeout * 4 + 300,
                                 urls=self.target.urls, auth={"event": self.code, "role": "participant"},
                                 concurrency=self.cfg.join_concurrency, ack_timeout=self.cfg.timeout)
        errors = [e for r, _ in replies for e in r]
        self.result.setdefault("rejoined", {})[name] = {
            "reconnected": sum(1 for e in errors if not e), "failed": sum(1 for e in errors if e),
            "seconds": round(time.monotonic() - t0, 1)}

    def _begin(self, name: str) -> None:
        self._rejoin(name)
        self._quiet(self.cfg.quiet)
        self.pool.each("mark", handles=self.pool.all)
        self.hook("begin", name, self.target)
        self._overflows = listen_overflows()
        self._disconnects = self._server_disconnects()
        self.monitor.begin()

    def _quiet(self, still_s: float = QUIET_S, limit_s: float = 15.0) -> None:
        """Wait until no client has received anything for `still_s` (at most `limit_s`), so that
        a phase measures its own load: the app's trailing broadcasts (a `queue:order` up to 2 s
        after the fan-out's last approval) fell into the steady submissions and made their p99."""
        deadline = time.monotonic() + limit_s
        last, still_since = None, time.monotonic()
        while time.monotonic() < deadline:
            seen = sum(n for r, _ in self.pool.each("progress", handles=self.pool.participants)
                       for k, n in r.items() if k != "connected")
            if seen != last:
                last, still_since = seen, time.monotonic()
            elif time.monotonic() - still_since >= still_s:
                return
            time.sleep(0.25)

    def _server_disconnects(self) -> collections.Counter:
        """Clients each server let go so far, by python-engineio's reason (summed over processes):
        the app's /metrics, the baseline's /state. A ping timeout is a server too busy to read a pong."""
        total: collections.Counter = collections.Counter()
        for url in self.target.urls:
            try:
                if self.app:
                    text = requests.get(f"{url}/metrics", timeout=30).text
                    for m in re.finditer(r'^qa_socket_disconnects_total\{reason="([^"]*)"\} (\d+)', text, re.M):
                        total[m.group(1)] += int(m.group(2))
                else:
                    total.update(requests.get(f"{url}/state", timeout=30).json().get("disconnects", {}))
            except (requests.RequestException, ValueError):
                pass  # a figure missing, not a failed run
        return total

    def _end(self, name: str, worker_cpu: list[dict], extra: dict) -> dict:
        m = self.monitor.end()
        self.hook("end", name, self.target)
        m["rejoined_before"] = self.result.get("rejoined", {}).get(name, {}).get("reconnected", 0)
        m["workers_cpu_pct"] = [round(_cpu_pct(c), 1) for c in worker_cpu]
        m["workers_wait_pct"] = [round(100.0 * c.get("wait_s", 0.0) / c["wall_s"], 1) if c["wall_s"] else 0.0
                                 for c in worker_cpu]
        m["workers_lag_ms"] = [c.get("lag_ms") for c in worker_cpu]
        # SYNs the kernel dropped because a listen queue was full (machine-wide; 1 s retransmits follow).
        m["listen_overflows"] = listen_overflows() - self._overflows
        # Counters only grow: the difference keeps the reasons that happened in this phase.
        m["server_disconnects"] = dict(self._server_disconnects() - self._disconnects)
        m["participants"] = self.cfg.participants
        m["connected_after"] = sum(r["connected"] for r, _ in self.pool.each("progress", handles=self.pool.participants))
        # What the rest of the machine used meanwhile (other people's work on a shared box).
        m["other_cores"] = max(0.0, m["machine_busy_pct"] / 100 * (os.cpu_count() or 1)
                               - m["server_cpu_pct"] / 100 - sum(m["workers_cpu_pct"]) / 100)
        m.update(extra)
        self.result["phases"][name] = m
        return m

    def _start_at(self, delay: float = 0.2) -> int:
        return now() + int(delay * 1e9)

    def _stored(self) -> dict:
        """The server's own record: {question id: votes} and the set of question ids."""
        url = self.target.urls[0]
        if self.app:
            r = requests.get(f"{url}/api/events/{self.code}/questions",
                             headers={"Authorization": f"Bearer {self.token}"}, timeout=60)
            r.raise_for_status()
            qs = r.json()["questions"]
            return {"votes": {str(q["id"]): q["votes"] for q in qs}, "ids": {q["id"] for q in qs},
                    "pending": sum(1 for q in qs if q["status"] == "pending")}
        state = requests.get(f"{url}/state", timeout=30).json()
        return {"votes": state["votes"], "ids": set(), "submitted": state["submitted"]}

    # -- setup ------------------------------------------------------------------------------

    def setup(self) -> None:
        cfg, control = self.cfg, self.pool.control
        n_pending = int(round(cfg.fanout_rate * cfg.fanout_seconds))
        urls = self.target.urls
        if self.app:
            r = requests.post(f"{urls[0]}/api/events", json={"title": "Benchmark"},
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
            r.raise_for_status()
            self.code, self.token = r.json()["code"], r.json()["moderator_token"]
        else:
            self.code, self.token = "BENCH", "bench"
        mod = control.call("connect", urls=urls[:1], role="moderator", indices=[MODERATOR],
                           auth={"event": self.code, "role": "moderator", "token": self.token},
                           start_at_ns=0, concurrency=1, ack_timeout=cfg.timeout)
        if mod[0][5]:
            raise RuntimeError(f"moderator could not connect: {mod[0][5]}")
        t0 = time.monotonic()
        if self.app:
            per = 5  # the app's submit limit lets one participant send 5 at once
            total = cfg.questions + n_pending
            seeders = [-1000 - k for k in range((total + per - 1) // per)]
            ids = control.call("seed", timeout=600, submitter_indices=seeders, url=urls[0], code=self.code,
                               per_submitter=per, n_public=cfg.questions, n_total=total, ack_timeout=cfg.timeout)
            self.public, self.pending = ids["public"], ids["pending"]
        else:
            self.public = list(range(1, cfg.questions + 1))
            self.pending = list(range(cfg.questions + 1, cfg.questions + 1 + n_pending))
        self.result["seed_s"] = time.monotonic() - t0
        scr = control.call("connect", urls=urls[-1:], role="screen", indices=[SCREEN],
                           auth={"event": self.code, "role": "screen"}, start_at_ns=0, concurrency=1,
                           ack_timeout=cfg.timeout)
        if scr[0][5]:
            raise RuntimeError(f"screen could not connect: {scr[0][5]}")

    # -- 1 join storm and 5 idle memory -----------------------------------------------------

    def join(self) -> None:
        cfg = self.cfg
        time.sleep(max(0.3, cfg.idle_settle / 3))
        rss_before = statistics.median(self._rss_samples(cfg.rss_samples))
        self._begin("join")
        replies = self.pool.each(
            "connect", per_worker=[{"indices": idx} for idx in self.per_worker], timeout=cfg.timeout * 4 + 600,
            urls=self.target.urls, role="participant", auth={"event": self.code, "role": "participant"},
            start_at_ns=self._start_at(), concurrency=cfg.join_concurrency, ack_timeout=cfg.timeout, sample=cfg.sample)
        rows = [row for result, _ in replies for row in result]
        ok = [r for r in rows if r[3] and not r[5]]
        errors = collections.Counter(r[5].split(":")[0] for r in rows if r[5])
        first = min(r[1] for r in rows)
        last = max((r[3] for r in ok), default=first)
        span = (last - first) / 1e9
        complete = sum(1 for r in ok if r[4] >= cfg.questions)
        self._end("join", [cpu for _, cpu in replies], {
            "joined": len(ok), "expected": cfg.participants, "snapshots_complete": complete,
            "time_to_all_s": span, "joins_per_s": len(ok) / span if span else None,
            "latency_ms": stats.summary_ms(r[3] - r[1] for r in ok),
            "connect_ms": stats.summary_ms(r[2] - r[1] for r in ok),
            "errors": dict(errors.most_common(5)),
        })
        # 5: what the joined, idle clients cost the server.
        time.sleep(cfg.idle_settle)
        rss_after = statistics.median(self._rss_samples(cfg.rss_samples))
        self.result["phases"]["idle"] = {
            "clients": len(ok), "rss_before_mb": rss_before / 2**20, "rss_after_mb": rss_after / 2**20,
            "kb_per_client": (rss_after - rss_before) / 1024 / len(ok) if ok else None,
        }

    def _rss_samples(self, n: int) -> list[int]:
        out = []
        for _ in range(n):
            out.append(self.monitor.rss())
            time.sleep(0.2)
        return out

    # -- 2 fan-out --------------------------------------------------------------------------

    def fanout(self) -> None:
        cfg, control = self.cfg, self.pool.control
        ids = self.pending[: int(round(cfg.fanout_rate * cfg.fanout_seconds))]
        plan = []
        for k, qid in enumerate(ids):
            payload: dict[str, Any] = {"id": qid, "action": "approve"}
            if not self.app:
                payload["question"] = question_dict(qid)
            plan.append((k / cfg.fanout_rate, payload))
        self._begin("fanout")
        control.send("fanout", plan=plan, start_at_ns=self._start_at(), ack_timeout=cfg.timeout)
        sends = control.recv(cfg.fanout_seconds + cfg.timeout + 60)[0]
        receivers = cfg.participants + 1  # every participant and the screen
        expected = receivers * len(ids)
        self._wait_for("question:update", expected, cfg.grace)
        replies = self.pool.each("report", handles=self.pool.all)
        sent_at = {qid: sent for qid, sent, _, ok, _ in sends if ok}
        seen: set[tuple[int, int]] = set()
        lat = []
        for result, _ in replies:
            for ci, qid, t in result["updates"]:
                if ci == MODERATOR or qid not in sent_at or (ci, qid) in seen:
                    continue
                seen.add((ci, qid))
                lat.append(t - sent_at[qid])
        self._end("fanout", [cpu for _, cpu in replies], {
            "sent": len(ids), "acked_ok": len(sent_at), "delivered": len(seen), "expected": expected,
            "latency_ms": stats.summary_ms(lat),
            "ack_ms": stats.summary_ms(acked - sent for _, sent, acked, ok, _ in sends if ok),
            "errors": dict(collections.Counter(code for *_, ok, code in sends if not ok)),
            "messages": _sum_events(replies),
        })

    def _wait_for(self, event: str, expected: int, grace: float) -> None:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            got = sum(r.get(event, 0) for r, _ in self.pool.each("progress", handles=self.pool.all))
            if got >= expected:
                return
            time.sleep(0.25)

    # -- 4 vote storm -----------------------------------------------------------------------

    def vote(self) -> None:
        cfg = self.cfg
        rng = random.Random(cfg.seed)
        plans: list[list[tuple[int, int, float]]] = [[] for _ in self.pool.participants]
        for i in self.participants:
            for qid in vote_targets(i, self.public, cfg.votes_per_participant):
                plans[self.worker_of[i]].append((i, qid, rng.uniform(0, cfg.vote_seconds)))
        self._begin("vote")
        replies = self.pool.each("vote", per_worker=[{"plan": p} for p in plans],
                                 timeout=cfg.vote_seconds + cfg.timeout + 120,
                                 start_at_ns=self._start_at(), ack_timeout=cfg.timeout)
        rows = [row for result, _ in replies for row in result]
        stored = self._drained(len(rows))
        reports = self.pool.each("report", handles=self.pool.all, expected_counts=stored)
        m = self._end("vote", [cpu for _, cpu in reports], {})

        # Exactly once: per question, at least every acked vote and at most every vote that reached the
        # server (a vote from a client the server had dropped never left it; one whose ack timed out may or
        # may not have been counted). With no errors both bounds are the votes sent.
        attempted = collections.Counter(r[1] for r in rows if r[6] not in _NOT_SENT)
        acked = collections.Counter(r[1] for r in rows if r[4])
        ok_rows = [r for r in rows if r[4]]
        mismatched = {q for q in set(attempted) | set(acked)
                      if not acked[q] <= stored.get(str(q), 0) <= attempted[q]}
        extra = {q for q, v in stored.items() if v and int(q) not in attempted}
        # Vote-to-visible: the first `votes` message at a sampled receiver whose count reaches the ack's.
        logs: dict[int, list[tuple[int, dict]]] = collections.defaultdict(list)
        screen_times = []
        for result, _ in reports:
            for ci, t, counts in result["votes_log"]:
                if ci == MODERATOR:
                    continue
                logs[ci].append((t, counts))
                if ci == SCREEN:
                    screen_times.append(t)
        visible, lat = 0, []
        for ci, entries in logs.items():
            entries.sort(key=lambda e: e[0])
            series: dict[int, tuple[list[int], list[int]]] = {}
            for t, counts in entries:
                for q, n in counts.items():
                    ts, ns = series.setdefault(int(q), ([], []))
                    if not ns or n > ns[-1]:
                        ts.append(t)
                        ns.append(n)
            for _, qid, sent_ns, _, ok, votes, _ in ok_rows:
                ts, ns = series.get(qid, ([], []))
                k = bisect_left(ns, votes)
                if k < len(ns):
                    visible += 1
                    lat.append(max(0, ts[k] - sent_ns))
        span = (max(screen_times) - min(screen_times)) / 1e9 if len(screen_times) > 1 else 0.0
        m.update({
            "sent": len(rows), "acked_ok": len(ok_rows), "expected": cfg.participants * min(
                cfg.votes_per_participant, len(self.public)),
            "stored_total": sum(stored.values()), "counted_exactly": not mismatched and not extra,
            "attempted": sum(attempted.values()),
            "mismatched_questions": len(mismatched) + len(extra),
            "ack_ms": stats.summary_ms(r[3] - r[2] for r in ok_rows),
            "visible_ms": stats.summary_ms(lat), "visible": visible, "visible_expected": len(ok_rows) * len(logs),
            "sampled_receivers": len(logs),
            "votes_msgs_screen": len(screen_times), "votes_msgs_max_per_s": stats.max_per_window(screen_times),
            "votes_msgs_mean_per_s": (len(screen_times) - 1) / span if span else None,
            "final_counts_seen": sum(r.get("counts_match", 0) for r, _ in reports),
            "final_counts_expected": sum(r.get("counts_clients", 0) for r, _ in reports),
            "errors": dict(collections.Counter(r[6] for r in rows if not r[4])),
        })

    def _drained(self, sent: int) -> dict:
        """Stored vote counts once the server has worked through its backlog (acks may have timed out)."""
        deadline = time.monotonic() + self.cfg.timeout
        last, stable_since = None, time.monotonic()
        while True:
            stored = self._stored()["votes"]
            total = sum(stored.values())
            if total != last:
                last, stable_since = total, time.monotonic()
            if total >= sent or time.monotonic() - stable_since > 2.0 or time.monotonic() > deadline:
                time.sleep(0.5)  # longer than the app's 0.3 s batching interval: the last counts are out
                return self._stored()["votes"]
            time.sleep(0.2)

    # -- 3 submissions ----------------------------------------------------------------------

    def submit(self) -> None:
        cfg = self.cfg
        before = self._stored()
        # Steady: `submit_rate` a second, each from another participant.
        n_a = int(round(cfg.submit_rate * cfg.submit_seconds))
        plans: list[list] = [[] for _ in self.pool.participants]
        for k in range(n_a):
            i = k % cfg.participants
            plans[self.worker_of[i]].append((i, f"a-{k}", 10_000 + k, k / cfg.submit_rate))
        self._begin("submit_steady")
        replies = self.pool.each("submit", per_worker=[{"plan": p} for p in plans],
                                 timeout=cfg.submit_seconds + cfg.timeout + 120, start_at_ns=self._start_at(),
                                 inflight=10**6, ack_timeout=cfg.timeout)
        rows = [row for result, _ in replies for row in result]
        steady = _submit_figures(rows, n_a)
        steady.pop("_window_s")
        self._end("submit_steady", [cpu for _, cpu in replies], steady)

        # As fast as possible: every participant sends one more, `submit_inflight` per worker at a time.
        n_b = cfg.submit_burst or cfg.participants
        plans = [[] for _ in self.pool.participants]
        for k in range(n_b):
            i = (k + n_a) % cfg.participants
            plans[self.worker_of[i]].append((i, f"b-{k}", 20_000 + k, None))
        self._begin("submit_max")
        replies = self.pool.each("submit", per_worker=[{"plan": p} for p in plans],
                                 timeout=cfg.timeout * 4 + 600, start_at_ns=self._start_at(),
                                 inflight=cfg.submit_inflight, ack_timeout=cfg.timeout)
        rows_b = [row for result, _ in replies for row in result]
        figures = _submit_figures(rows_b, n_b)
        after = self._stored()
        if self.app:
            acked = {r[5] for r in rows + rows_b if r[4]}
            figures["durable"] = len({r[5] for r in rows_b if r[4]} & after["ids"])
            figures["durable_all"] = len(acked & after["ids"]) == len(acked)
            figures["new_pending"] = after["pending"] - before["pending"]
        else:
            figures["durable"] = after["submitted"] - before["submitted"] - sum(1 for r in rows if r[4])
        window = figures.pop("_window_s")
        figures["durable_per_s"] = figures["durable"] / window if window else None
        self._end("submit_max", [cpu for _, cpu in replies], figures)

    # -- all --------------------------------------------------------------------------------

    def run(self, scenarios: tuple[str, ...], fanout: bool) -> dict:
        started = time.monotonic()
        try:
            self.setup()
            self.join()
            if fanout:
                self.fanout()
            if "submit" in scenarios:
                self.submit()
            if "vote" in scenarios:  # last: a server it overloads may drop clients (ping timeouts)
                self.vote()
        finally:
            self.result["session_s"] = time.monotonic() - started
            try:
                self.pool.each("disconnect", handles=self.pool.all, timeout=120)
            finally:
                self.monitor.close()
        return self.result


_NOT_SENT = ("BadNamespaceError",)  # python-socketio: the client was no longer connected


def _submit_figures(rows: list, n: int) -> dict:
    ok = [r for r in rows if r[4]]
    window = (max(r[3] for r in ok) - min(r[2] for r in rows)) / 1e9 if ok else 0.0
    return {"sent": len(rows), "expected": n, "acked_ok": len(ok), "ack_ms": stats.summary_ms(r[3] - r[2] for r in ok),
            "acked_per_s": len(ok) / window if window else None, "_window_s": window,
            "errors": dict(collections.Counter(r[6] for r in rows if not r[4]))}


def _sum_events(replies: list) -> dict:
    total: collections.Counter = collections.Counter()
    for result, _ in replies:
        total.update(result["events"])
    return dict(total)
