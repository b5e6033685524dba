"""Rate limits for submit and vote, by the `limits` library: in memory for one process, in Redis
when several share an event.

Sliding-window counters: a burst of `amount`, then one more each time `amount` / `per` of the
previous window's weight has gone, much as the token buckets this replaced refilled. Not
its moving window: the memory storage keeps every hit and sweeps them all every 10 ms, which
at 2,000 voters starved eventlet's loop (docs/benchmarks.md, issue 16).

No Flask here: the Socket.IO adapter decides the keys (participant, address)
and turns a refusal into a `rate_limited` ack.
"""
from __future__ import annotations

import logging
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import SlidingWindowCounterRateLimiter

log = logging.getLogger(__name__)

# Per participant: a person types; per address: a venue's whole Wi-Fi may share one.
RULES: dict[str, RateLimitItem] = {
    "submit:participant": parse("5 per 50 seconds"),  # 5 at once, then one every 10 s
    "submit:address": parse("120 per minute"),
    "vote:participant": parse("30 per 6 seconds"),
    "vote:address": parse("1000 per 10 seconds"),
}
# A refusal always asks for some wait, even when a slot came free between the hit and the look.
MIN_WAIT = 0.001


def storage_for(message_queue: str | None) -> Storage:
    """Redis when processes share a Redis message queue (they may share an event), else memory."""
    if message_queue and message_queue.startswith("redis"):
        return RedisStorage(message_queue, key_prefix="qa:rl", socket_timeout=1, socket_connect_timeout=1)
    return MemoryStorage()


class RateLimiter:
    def __init__(self, storage: Storage | None, rules: dict[str, RateLimitItem] = RULES):
        self.rules = rules
        self._limiter = None if storage is None else SlidingWindowCounterRateLimiter(storage)  # None: off
        self._shared = isinstance(storage, RedisStorage)
        self._fallback: SlidingWindowCounterRateLimiter | None = None

    def take(self, key: str, item: RateLimitItem) -> float:
        """Take one hit of `item` for `key`: 0 if allowed, else the seconds to wait."""
        assert self._limiter is not None, "limits are off"
        if not self._shared:
            return _take(self._limiter, key, item)
        try:
            return _take(self._limiter, key, item)
        except Exception:
            # Redis down: limit per process rather than refuse everyone or no one.
            log.warning("rate limiter: Redis unreachable, limiting in this process only")
            if self._fallback is None:
                self._fallback = SlidingWindowCounterRateLimiter(MemoryStorage())
            return _take(self._fallback, key, item)

    def check(self, action: str, participant: str, address: str | None) -> float:
        """Seconds to wait before `action` is allowed again (0: go ahead, hit counted)."""
        if self._limiter is None:
            return 0.0
        wait = self.take(f"{action}:p:{participant}", self.rules[f"{action}:participant"])
        if wait == 0.0 and address and not is_loopback(address):
            wait = self.take(f"{action}:a:{address}", self.rules[f"{action}:address"])
        return wait


def _take(limiter: SlidingWindowCounterRateLimiter, key: str, item: RateLimitItem) -> float:
    if limiter.hit(item, key):
        return 0.0
    reset, _ = limiter.get_window_stats(item, key)
    return max(MIN_WAIT, reset - time.time())


def is_loopback(address: str) -> bool:
    # Behind a proxy whose X-Forwarded-For is not trusted, every client looks like
    # 127.0.0.1; limiting that "address" would throttle the whole audience at once.
    return address.startswith("127.") or address == "::1"
