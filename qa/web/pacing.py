"""One pace for a broadcast across every process of an event (Redis), so that scaling out
does not multiply it.

A `Coalescer` keeps its interval per process. Behind a Redis message queue each process
would keep its own, and the screen got one `votes` message per process per interval (8 a
second from two processes where the API promises at most 4). Here a slot in Redis, taken
with SET NX PX for one interval, says which process may send next. A process that finds the
slot taken leaves its items in a shared set, which the next holder sends with its own, and
looks again when the slot frees if items are still waiting. Both steps are one Lua script,
so no item can fall between a holder's read of the set and another process's add to it.

If Redis cannot be reached, each process sends on its own pace (at most one message per
interval per process): late or extra messages, never lost items.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

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


@dataclass
class Turn:
    go: bool  # this process sends now
    items: set = field(default_factory=set)  # what to send: its own and those left by other processes
    retry_in: float | None = None  # not our turn, items still waiting: seconds until the slot frees


class RedisPace:
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
            return Turn(True, set(items))
        if int(reply[0]):
            return Turn(True, set(items) | {int(x) for x in reply[1]})
        waiting = int(reply[2])
        return Turn(False, retry_in=max(0.001, int(reply[1]) / 1000) if waiting else None)

    def close(self) -> None:
        self._redis.close()
