"""When a paced broadcast may go out, and with what: one `Pace`, asked by the Coalescer
(qa/web/throttle.py) before every flush, so that one rule paces a process alone and many behind Redis.

`LocalPace` keeps the turns of one process. `RedisPace` keeps one turn per event across every
process of the app: behind a Redis message queue each process would keep its own, and the
screen got one `votes` message per process per interval (8 a second from two processes where
the API promises at most 4). A slot in Redis, taken with SET NX PX for one interval, says
which process may send next. A process that finds the slot taken leaves its items in a shared
set, which the next holder sends with its own, and looks again when the slot frees if items
are still waiting. Both steps are one Lua script, so no item can fall between a holder's read
of the set and another process's add to it.

If Redis cannot be reached, each process sends on its own pace (at most one message per
interval per process, the Coalescer waiting out each turn it takes): late or extra messages,
never lost items.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

log = logging.getLogger(__name__)

# KEYS: slot, shared items. ARGV: interval (ms), then this process's items.
# Returns {1, items} with the slot taken, or {0, ms until the slot frees, items waiting}.
_TAKE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  local items = redis.call('SMEMBERS', KEYS[2])
  redis.call('DEL', KEYS[2])
  return {1, items}
end
if #ARGV > 1 then
  redis.call('SADD', KEYS[2], unpack(ARGV, 2))
  redis.call('PEXPIRE', KEYS[2], 60000)
end
return {0, redis.call('PTTL', KEYS[1]), redis.call('SCARD', KEYS[2])}
"""

ITEMS_PER_CALL = 1000  # Lua's unpack() takes a few thousand arguments at most
WARN_EVERY = 60.0  # seconds between two warnings that Redis is unreachable
NEVER = float("-inf")  # when the turn of a (name, key) that never had one ended


@dataclass(slots=True)
class Turn:
    go: bool  # the caller sends now
    items: set = field(default_factory=set)  # what to send: its own and those left by other senders
    # Seconds until the next turn may be given: after one given, when it ends; after a refusal, when
    # the other's ends, or None when no items wait for it (no need to look again).
    retry_in: float | None = None


class Pace(Protocol):
    def take(self, name: str, key: int, interval: float, items: set) -> Turn:
        """May the caller send `name` for `key` now? A turn given holds (name, key) for `interval`
        (`retry_in`): no other before it ends. The caller hands `items` over: sent now or left for
        the next sender."""

    def close(self) -> None:
        """Let go of what the pace holds (a connection)."""


class LocalPace:
    """The turns of one process: when each (name, key)'s last one ends, and the items left meanwhile."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # a test's own, so that none patches the process's
        self._lock = threading.Lock()
        # Its end, not its start: a caller that waits `retry_in` on this clock finds it ended,
        # with no float rounding between start + interval and the time it is asked again.
        self._ends: dict[tuple[str, int], float] = {}
        self._waiting: dict[tuple[str, int], set] = {}

    def take(self, name: str, key: int, interval: float, items: set) -> Turn:
        slot = (name, key)
        with self._lock:
            now = self._clock()
            ends = self._ends.get(slot, NEVER)
            if now >= ends:
                self._ends[slot] = now + interval
                left = self._waiting.pop(slot, None)
                if left:
                    left |= items
                    items = left
                return Turn(True, items, interval)
            if items:
                waiting = self._waiting.get(slot)
                if waiting is None:
                    self._waiting[slot] = items
                else:
                    waiting |= items
            elif slot not in self._waiting:
                return Turn(False)
        return Turn(False, retry_in=ends - now)

    def forget(self) -> None:
        """Drop every turn and waiting item: keyed by event id, they belong to an earlier app's database."""
        with self._lock:
            self._ends.clear()
            self._waiting.clear()

    def close(self) -> None:
        pass


class RedisPace:
    """The turns of every process of the app that shares this Redis: see the module's docstring."""

    def __init__(self, url: str, prefix: str = "qa:pace") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._take = self._redis.register_script(_TAKE)
        self._prefix = prefix
        self._warned = 0.0

    def take(self, name: str, key: int, interval: float, items: set) -> Turn:
        """May this process send `name` for `key` now? Its `items` are sent now or left for the next sender."""
        slot, shared = f"{self._prefix}:{name}:{key}", f"{self._prefix}:{name}:{key}:items"
        ms = max(1, int(interval * 1000))
        own = sorted(str(i) for i in items)
        head, tail = own[:-ITEMS_PER_CALL], own[-ITEMS_PER_CALL:]
        try:
            # Items beyond one call's worth join the shared set first: the script's taker gets them too.
            for start in range(0, len(head), ITEMS_PER_CALL):
                self._redis.sadd(shared, *head[start:start + ITEMS_PER_CALL])
            reply = self._take(keys=[slot, shared], args=[ms, *tail])
        except Exception:
            now = time.monotonic()
            if now - self._warned > WARN_EVERY:
                self._warned = now
                log.warning("broadcast pacing: Redis unreachable, each process keeps its own pace")
            return Turn(True, set(items), interval)
        if int(reply[0]):
            # Redis keeps the slot while its clock, in whole ms, is not past the expiry: up to 1 ms more.
            return Turn(True, set(items) | {int(x) for x in reply[1]}, (ms + 1) / 1000)
        waiting = int(reply[2])
        return Turn(False, retry_in=max(0.001, int(reply[1]) / 1000) if waiting else None)

    def close(self) -> None:
        self._redis.close()
