"""A load-generator process: many real Socket.IO clients (python-socketio AsyncClient over aiohttp).

The orchestrator (bench.pool) sends one command at a time over a pipe and gets
one reply; between commands the event loop goes on receiving broadcasts.
Every time stamp is `time.time_ns()`, the one clock all processes on the
machine share, so a send stamped here and a receive stamped in another worker
make a latency. Each reply carries this process's CPU use since the last
`mark`, so a saturated generator shows up in the report instead of passing for
a slow server; and how late its event loop ran what was due (`lag`): a generator
busy for 200 ms after a broadcast reads every reply that arrived meanwhile 200 ms
late, at any average CPU, and that delay is in the latencies it reports.
"""
from __future__ import annotations

import asyncio
import collections
import gc
import json
import os
import resource
import time
import traceback
from typing import Any

from . import stats

now = time.time_ns
LAG_TICK = 0.005  # seconds: the lag probe asks to run again after this long


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Client:
    """One Socket.IO connection and what it saw."""

    __slots__ = ("index", "role", "sio", "t0", "t_conn", "t_snap", "snap_n", "participant",
                 "error", "snapped", "sampled", "counts", "auth")

    def __init__(self, index: int, role: str, sio: Any, sampled: bool) -> None:
        self.index = index
        self.role = role
        self.sio = sio
        self.t0 = self.t_conn = self.t_snap = 0
        self.snap_n = -1
        self.participant: str | None = None
        self.error = ""
        self.snapped = asyncio.Event()
        self.sampled = sampled
        self.counts: dict[str, int] = {}  # latest vote count seen, by question id
        self.auth: dict = {}


class Worker:
    def __init__(self, conn: Any, name: str) -> None:
        self.conn = conn
        self.name = name
        self.clients: dict[int, Client] = {}
        self.moderator: Client | None = None
        self.http = None
        self.mark_cpu = time.process_time()
        self.mark_wall = time.monotonic()
        self.mark_wait = _runqueue_wait()
        self.lags_ns: list[int] = []  # how much later than asked the lag probe ran, since the mark
        self._reset_logs()

    def _reset_logs(self) -> None:
        self.updates: list[tuple[int, int, int]] = []  # (client, question id, received ns)
        self.votes_log: list[tuple[int, int, dict]] = []  # sampled clients: (client, received ns, counts)
        self.events: collections.Counter = collections.Counter()

    # -- the command loop -------------------------------------------------------------------

    async def serve(self) -> None:
        import aiohttp

        loop = asyncio.get_running_loop()
        probe = asyncio.create_task(self._probe_lag())
        # One HTTP session for all clients: no cookie sharing, no pool cap on sockets.
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                          cookie_jar=aiohttp.DummyCookieJar())
        try:
            while True:
                try:
                    cmd = await loop.run_in_executor(None, self.conn.recv)
                except (EOFError, OSError):
                    break  # the orchestrator is gone
                op = cmd.pop("op")
                if op == "exit":
                    break
                try:
                    result = await getattr(self, "op_" + op)(**cmd)
                    reply = {"ok": True, "result": result}
                except Exception:
                    reply = {"ok": False, "error": f"{self.name} {op}: {traceback.format_exc()}"}
                reply["cpu"] = self._cpu()
                self.conn.send(reply)
        finally:
            probe.cancel()
            await self._disconnect_all(200)
            await self.http.close()

    def _cpu(self) -> dict:
        return {"cpu_s": time.process_time() - self.mark_cpu, "wall_s": time.monotonic() - self.mark_wall,
                "wait_s": _runqueue_wait() - self.mark_wait, "lag_ms": stats.summary_ms(self.lags_ns)}

    async def _probe_lag(self) -> None:
        while True:
            asked = time.monotonic_ns() + int(LAG_TICK * 1e9)
            await asyncio.sleep(LAG_TICK)
            self.lags_ns.append(max(0, time.monotonic_ns() - asked))

    # -- clients ----------------------------------------------------------------------------

    def _new_client(self, index: int, role: str, sampled: bool) -> Client:
        import socketio

        # The standard json module as is: python-engineio's default wraps it with a Python hook per
        # integer (a guard against huge numbers from untrusted peers), a quarter of a generator's CPU
        # in a vote storm, where every `votes` message is a dict of counts to 1,000 clients.
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=self.http,
                                   request_timeout=30, json=json)
        c = Client(index, role, sio, sampled)
        updates, votes_log, events = self, self, self  # looked up at call time: logs are reset

        def on_snapshot(data):
            c.t_snap = now()
            c.snap_n = len(data.get("questions", ()))
            c.participant = data.get("participant")
            c.snapped.set()

        def on_update(data):
            updates.updates.append((index, data["question"]["id"], now()))
            events.events["question:update"] += 1

        def on_votes(data):
            counts = data.get("counts", {})
            c.counts.update(counts)
            if c.sampled:
                votes_log.votes_log.append((index, now(), counts))
            events.events["votes"] += 1

        def on_any(event, *args):
            events.events[event] += 1

        sio.on("snapshot", on_snapshot)
        sio.on("question:update", on_update)
        sio.on("votes", on_votes)
        sio.on("*", on_any)
        return c

    async def _connect(self, c: Client, url: str, auth: dict, timeout: float) -> None:
        c.t0 = now()
        try:
            # aiohttp's own default would wait 5 minutes for a handshake that never comes.
            await asyncio.wait_for(c.sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=timeout),
                                   timeout)
            c.t_conn = now()
            await asyncio.wait_for(c.snapped.wait(), timeout)
        except Exception as exc:  # counted and reported, never fatal for the run
            c.error = f"{exc.__class__.__name__}: {exc}"[:200]

    async def op_connect(self, urls: list[str], role: str, indices: list[int], auth: dict,
                         start_at_ns: int, concurrency: int, ack_timeout: float, sample: int = 0) -> list:
        """Connect clients `indices` (spread over `urls`), at most `concurrency` at a time."""
        await _sleep_until(start_at_ns)
        gate = asyncio.Semaphore(max(1, concurrency))
        made = []
        for pos, i in enumerate(indices):
            c = self._new_client(i, role, sampled=pos < sample or role == "screen")
            c.auth = dict(auth)
            self.clients[i] = c
            if role == "moderator":
                self.moderator = c
            made.append(c)

        async def one(c: Client) -> None:
            async with gate:
                await self._connect(c, urls[c.index % len(urls)], dict(auth), ack_timeout)

        await asyncio.gather(*(one(c) for c in made))
        return [(c.index, c.t0, c.t_conn, c.t_snap, c.snap_n, c.error) for c in made]

    async def op_reconnect(self, urls: list[str], auth: dict, concurrency: int, ack_timeout: float) -> list:
        """Connect again every client the server dropped, as a browser would (same identity)."""
        gate = asyncio.Semaphore(max(1, concurrency))
        dropped = [c for c in self.clients.values() if not c.sio.connected]

        async def one(old: Client) -> str:
            async with gate:
                try:
                    await asyncio.wait_for(old.sio.disconnect(), 5)
                except Exception:
                    pass
                c = self._new_client(old.index, old.role, old.sampled)
                self.clients[old.index] = c
                if old.role == "moderator":
                    self.moderator = c
                a = dict(auth) if old.role == "participant" else dict(old.auth)
                if old.participant:
                    a["participant"] = old.participant
                c.auth = a
                await self._connect(c, urls[c.index % len(urls)], a, ack_timeout)
                return c.error

        return list(await asyncio.gather(*(one(c) for c in dropped)))

    async def op_disconnect(self, concurrency: int = 200) -> int:
        n = len(self.clients)
        await self._disconnect_all(concurrency)
        return n

    async def _disconnect_all(self, concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(c: Client) -> None:
            async with gate:
                try:
                    await asyncio.wait_for(c.sio.disconnect(), 10)
                except Exception:
                    pass

        clients = list(self.clients.values())
        self.clients.clear()
        self.moderator = None
        await asyncio.gather(*(one(c) for c in clients))

    # -- measurement windows ----------------------------------------------------------------

    async def op_mark(self) -> None:
        # What exists now (the clients) lives through the phase: out of every collection in it.
        gc.collect()
        gc.freeze()
        self._reset_logs()
        self.mark_cpu = time.process_time()
        self.mark_wall = time.monotonic()
        self.mark_wait = _runqueue_wait()
        self.lags_ns = []

    async def op_progress(self) -> dict:
        return {**self.events, "connected": sum(1 for c in self.clients.values() if c.sio.connected)}

    async def op_report(self, expected_counts: dict[str, int] | None = None) -> dict:
        out: dict[str, Any] = {"updates": self.updates, "votes_log": self.votes_log,
                               "events": dict(self.events), "clients": len(self.clients)}
        if expected_counts is not None:
            # Clients whose latest `votes` view of every question equals the stored count.
            out["counts_match"] = sum(
                1 for c in self.clients.values()
                if c.role != "moderator" and all(c.counts.get(k) == v for k, v in expected_counts.items() if v)
            )
            out["counts_clients"] = sum(1 for c in self.clients.values() if c.role != "moderator")
        return out

    # -- actions ----------------------------------------------------------------------------

    async def _call(self, c: Client, event: str, payload: dict, timeout: float) -> tuple[int, int, Any]:
        sent = now()
        try:
            ack = await c.sio.call(event, payload, timeout=timeout)
        except Exception as exc:
            return sent, now(), {"ok": False, "error": {"code": exc.__class__.__name__, "message": str(exc)}}
        return sent, now(), ack

    async def op_seed(self, submitter_indices: list[int], url: str, code: str, per_submitter: int,
                      n_public: int, n_total: int, ack_timeout: float) -> dict:
        """Questions through the real API: participants submit, the moderator approves `n_public`."""
        from bench.workload import submission

        await self.op_connect([url], "participant", submitter_indices, {"event": code, "role": "participant"},
                              0, 64, ack_timeout)
        submitters = [self.clients[i] for i in submitter_indices]
        bad = [c.error for c in submitters if c.error]
        if bad:
            raise RuntimeError(f"seed participants could not connect: {bad[:3]}")
        ids: list[int | None] = [None] * n_total

        async def submit_all(k: int, c: Client) -> None:
            for j in range(per_submitter):
                n = k * per_submitter + j
                if n >= n_total:
                    return
                _, _, ack = await self._call(c, "question:submit", submission(f"seed-{n}", n + 1), ack_timeout)
                if not ack.get("ok"):
                    raise RuntimeError(f"seed submit refused: {ack}")
                ids[n] = ack["question"]["id"]

        await asyncio.gather(*(submit_all(k, c) for k, c in enumerate(submitters)))
        for c in submitters:
            await c.sio.disconnect()
            del self.clients[c.index]
        for qid in ids[:n_public]:
            _, _, ack = await self._call(self.moderator, "question:moderate", {"id": qid, "action": "approve"},
                                         ack_timeout)
            if not ack.get("ok"):
                raise RuntimeError(f"seed approve refused: {ack}")
        return {"public": ids[:n_public], "pending": ids[n_public:]}

    async def op_fanout(self, plan: list[tuple[float, dict]], start_at_ns: int, ack_timeout: float) -> list:
        """The moderator sends `question:moderate` payloads at their offsets (open loop)."""

        async def one(offset: float, payload: dict):
            await _sleep_until(start_at_ns + int(offset * 1e9))
            sent, acked, ack = await self._call(self.moderator, "question:moderate", payload, ack_timeout)
            return payload["id"], sent, acked, bool(ack.get("ok")), _code(ack)

        return list(await asyncio.gather(*(one(o, p) for o, p in plan)))

    async def op_vote(self, plan: list[tuple[int, int, float]], start_at_ns: int, ack_timeout: float) -> list:
        """(client, question id, offset s): each vote sent at its offset, acks awaited concurrently."""

        async def one(ci: int, qid: int, offset: float):
            await _sleep_until(start_at_ns + int(offset * 1e9))
            sent, acked, ack = await self._call(self.clients[ci], "question:vote", {"id": qid}, ack_timeout)
            return ci, qid, sent, acked, bool(ack.get("ok")), ack.get("votes", -1), _code(ack)

        return list(await asyncio.gather(*(one(*p) for p in plan)))

    async def op_submit(self, plan: list[tuple[int, str, int, float | None]], start_at_ns: int,
                        inflight: int, ack_timeout: float) -> list:
        """(client, client_id, text index, offset s or None): None means as soon as a slot is free."""
        from bench.workload import submission

        gate = asyncio.Semaphore(max(1, inflight))

        async def one(ci: int, client_id: str, text_index: int, offset: float | None):
            if offset is not None:
                await _sleep_until(start_at_ns + int(offset * 1e9))
                sent, acked, ack = await self._call(self.clients[ci], "question:submit",
                                                    submission(client_id, text_index), ack_timeout)
            else:
                await _sleep_until(start_at_ns)
                async with gate:
                    sent, acked, ack = await self._call(self.clients[ci], "question:submit",
                                                        submission(client_id, text_index), ack_timeout)
            qid = ack.get("question", {}).get("id") if ack.get("ok") else None
            return ci, client_id, sent, acked, bool(ack.get("ok")), qid, _code(ack)

        return list(await asyncio.gather(*(one(*p) for p in plan)))


def _runqueue_wait() -> float:
    """Seconds this process's threads were runnable but waiting for a CPU (Linux schedstat)."""
    total = 0
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/schedstat") as fh:
                total += int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return total / 1e9


def _code(ack: Any) -> str:
    if isinstance(ack, dict) and not ack.get("ok"):
        return str((ack.get("error") or {}).get("code", "error"))
    return ""


async def _sleep_until(t_ns: int) -> None:
    delay = (t_ns - now()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)


def main(conn: Any, name: str, nice: int = 0) -> None:
    """Entry point of a worker process (multiprocessing, spawn)."""
    _raise_nofile()
    if nice:
        os.nice(nice)
    import logging
    import warnings

    warnings.simplefilter("ignore")
    # Closing 2,000 clients makes each library say so; the counts, not the logs, are the result.
    for name in ("engineio.client", "socketio.client", "aiohttp", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # A collection walks every object it is not told to skip; with 1,000 clients the default young
    # generation (700) made 5-20 ms pauses many times a second and a full one took 130 ms, all of it
    # in the latencies this process stamps. As the app's server does (run.py): fewer, after a freeze.
    gc.set_threshold(50_000, 20, 10)
    asyncio.run(Worker(conn, name).serve())
