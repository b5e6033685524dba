"""Token buckets for submit and vote: in memory for one process, in Redis when shared.

No Flask here: the Socket.IO adapter decides the keys (participant, address)
and turns a refusal into a `rate_limited` ack.

Not the `limits` library (tried in issue 16): it has no token bucket, and its memory
storage sweeps every key on a timer every 10 ms while hits come in, which cost the vote
storm about a twentieth of a core more (docs/benchmarks.md).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    rate: float  # tokens added per second
    burst: int  # bucket size

    def retry_after(self, tokens: float) -> float:
        return max(0.0, (1 - tokens) / self.rate)


# Per participant: a person types; per address: a venue's whole Wi-Fi may share one.
RULES: dict[str, Rule] = {
    "submit:participant": Rule(rate=1 / 10, burst=5),
    "submit:address": Rule(rate=2.0, burst=120),
    "vote:participant": Rule(rate=5.0, burst=30),
    "vote:address": Rule(rate=100.0, burst=1000),
}


class MemoryBuckets:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def take(self, key: str, rule: Rule) -> float:
        """Take one token; return 0 if allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (float(rule.burst), now))
            tokens = min(float(rule.burst), tokens + (now - stamp) * rule.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = rule.retry_after(tokens)
            if len(self._buckets) > self._max_keys:
                self._evict(now)
        return wait

    def _evict(self, now: float) -> None:
        # Buckets idle for a minute are full again: forgetting them changes nothing.
        for key, (_, stamp) in list(self._buckets.items()):
            if now - stamp > 60:
                del self._buckets[key]


# Redis keeps the bucket as {t: tokens, ts: seconds}; its own clock, so processes agree.
_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(tokens)}
"""


class RedisBuckets:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._script = self._redis.register_script(_LUA)
        self._fallback = MemoryBuckets()

    def take(self, key: str, rule: Rule) -> float:
        try:
            allowed, tokens = self._script(keys=[f"qa:rl:{key}"], args=[rule.rate, rule.burst])
        except Exception:
            # Redis down: limit per process rather than refuse everyone or no one.
            log.warning("rate limiter: Redis unreachable, limiting in this process only")
            return self._fallback.take(key, rule)
        return 0.0 if int(allowed) else rule.retry_after(float(tokens))


class RateLimiter:
    def __init__(self, buckets: MemoryBuckets | RedisBuckets | None, rules: dict[str, Rule] = RULES):
        self.buckets = buckets  # None: limits off
        self.rules = rules

    def check(self, action: str, participant: str, address: str | None) -> float:
        """Seconds to wait before `action` is allowed again (0: go ahead, token taken)."""
        if self.buckets is None:
            return 0.0
        wait = self.buckets.take(f"{action}:p:{participant}", self.rules[f"{action}:participant"])
        if wait == 0.0 and address and not is_loopback(address):
            wait = self.buckets.take(f"{action}:a:{address}", self.rules[f"{action}:address"])
        return wait


def is_loopback(address: str) -> bool:
    # Behind a proxy whose X-Forwarded-For is not trusted, every client looks like
    # 127.0.0.1; limiting that "address" would throttle the whole audience at once.
    return address.startswith("127.") or address == "::1"
