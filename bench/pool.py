"""The orchestrator's side of the load-generator processes."""
from __future__ import annotations

import multiprocessing
import time
from typing import Any

from . import worker


class WorkerError(RuntimeError):
    pass


class Handle:
    """One worker process; one command in flight at a time."""

    def __init__(self, ctx: Any, name: str, nice: int = 0) -> None:
        self.name = name
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker.main, args=(child, name, nice), name=name, daemon=True)
        self.proc.start()
        child.close()
        self.pending: str | None = None

    def send(self, op: str, **kwargs: Any) -> None:
        if self.pending:
            raise WorkerError(f"{self.name}: '{op}' sent while '{self.pending}' is in flight")
        self.conn.send({"op": op, **kwargs})
        self.pending = op

    def recv(self, timeout: float) -> tuple[Any, dict]:
        """The result of the command in flight, and the worker's CPU since its last mark."""
        op = self.pending
        if not self.conn.poll(timeout):
            raise WorkerError(f"{self.name}: no answer to '{op}' within {timeout:.0f} s")
        try:
            reply = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerError(f"{self.name} died during '{op}': {exc}") from exc
        self.pending = None
        if not reply["ok"]:
            raise WorkerError(reply["error"])
        return reply["result"], reply["cpu"]

    def call(self, op: str, timeout: float = 120, **kwargs: Any) -> Any:
        self.send(op, **kwargs)
        return self.recv(timeout)[0]

    def close(self) -> None:
        try:
            if self.pending is None:
                self.conn.send({"op": "exit"})
            self.proc.join(15)
        except (OSError, ValueError):
            pass
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


class Pool:
    """`n` participant workers plus one control worker (moderator, screen, seeding)."""

    def __init__(self, n: int, nice: int = 0) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.participants = [Handle(ctx, f"worker-{i + 1}", nice) for i in range(n)]
        self.control = Handle(ctx, "control", nice)

    @property
    def all(self) -> list[Handle]:
        return [*self.participants, self.control]

    def each(self, op: str, per_worker: list[dict] | None = None, timeout: float = 120,
             handles: list[Handle] | None = None, **common: Any) -> list[tuple[Any, dict]]:
        """Send `op` to several workers at once and gather (result, cpu) from each."""
        handles = handles if handles is not None else self.participants
        for k, h in enumerate(handles):
            h.send(op, **common, **(per_worker[k] if per_worker else {}))
        deadline = time.monotonic() + timeout
        return [h.recv(max(1.0, deadline - time.monotonic())) for h in handles]

    def close(self) -> None:
        for h in self.all:
            h.close()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
