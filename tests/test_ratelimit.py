"""Token buckets: in memory and in Redis, per participant and per address."""
import time

import pytest

from qa.ratelimit import MemoryBuckets, RateLimiter, RedisBuckets, Rule, is_loopback

RULES = {
    "submit:participant": Rule(rate=1.0, burst=3),
    "submit:address": Rule(rate=1.0, burst=5),
    "vote:participant": Rule(rate=1.0, burst=2),
    "vote:address": Rule(rate=1.0, burst=100),
}


@pytest.fixture(params=["memory", "redis"])
def buckets(request):
    if request.param == "memory":
        return MemoryBuckets()
    url = request.getfixturevalue("redis_url")
    import redis

    redis.Redis.from_url(url).flushdb()
    return RedisBuckets(url)


def test_burst_then_refill(buckets):
    rule = Rule(rate=20.0, burst=3)
    assert [buckets.take("k", rule) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("k", rule)
    assert 0 < wait <= 1 / 20 + 0.01
    time.sleep(0.12)  # two tokens' worth at 20/s
    assert buckets.take("k", rule) == 0.0


def test_participant_and_address_limits(buckets):
    limiter = RateLimiter(buckets, RULES)
    assert all(limiter.check("submit", "alice", "10.0.0.1") == 0 for _ in range(3))
    assert limiter.check("submit", "alice", "10.0.0.1") > 0  # alice's own bucket is empty
    assert limiter.check("submit", "bob", "10.0.0.2") == 0  # bob is not slowed by alice
    assert limiter.check("submit", "carol", "10.0.0.1") == 0
    assert limiter.check("submit", "dave", "10.0.0.1") == 0
    assert limiter.check("submit", "erin", "10.0.0.1") > 0  # the address's bucket of 5 is spent
    # Loopback is never limited as an address (an untrusted proxy makes everyone 127.0.0.1).
    assert all(limiter.check("submit", f"p{i}", "127.0.0.1") == 0 for i in range(10))


def test_limits_off():
    limiter = RateLimiter(None, RULES)
    assert all(limiter.check("vote", "a", "10.0.0.1") == 0 for _ in range(100))


def test_redis_down_falls_back_to_process_limits():
    buckets = RedisBuckets("redis://127.0.0.1:1/0")
    rule = Rule(rate=0.001, burst=1)
    assert buckets.take("k", rule) == 0.0
    assert buckets.take("k", rule) > 0


@pytest.mark.parametrize("address, expected", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("10.0.0.1", False), ("2001:db8::1", False),
])
def test_is_loopback(address, expected):
    assert is_loopback(address) is expected


# --- through Socket.IO -------------------------------------------------------

from conftest import received  # noqa: E402
from qa.extensions import socketio  # noqa: E402


@pytest.fixture(autouse=True)
def limits_on(request):
    """The suite runs with limits off; here they are on, in this process's memory."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        app.extensions["qa_ratelimit"] = RateLimiter(MemoryBuckets())


def submit(c, i):
    return c.emit("question:submit", {"client_id": f"c{i}", "theme": "other", "text": f"Q{i}"}, callback=True)


def test_flooding_participant_is_slowed_and_others_are_not(connect):
    flooder, other = connect("participant"), connect("participant")
    acks = [submit(flooder, i) for i in range(7)]
    assert [a["ok"] for a in acks] == [True] * 5 + [False] * 2
    assert acks[-1]["error"]["code"] == "rate_limited" and "wait" in acks[-1]["error"]["message"]
    assert submit(other, 0)["ok"]
    # A refused question was not stored: the moderator sees exactly the accepted ones.
    mod = connect("moderator")
    snap = received(mod, "snapshot")[0]
    assert len(snap["questions"]) == 6


def test_votes_are_limited_per_participant(app, connect, event):
    mod, voter = connect("moderator"), connect("participant")
    author = connect("participant")
    ids = [submit(author, i)["question"]["id"] for i in range(1)]
    mod.emit("question:moderate", {"id": ids[0], "action": "approve"}, callback=True)
    acks = [voter.emit("question:vote", {"id": ids[0], "up": i % 2 == 0}, callback=True) for i in range(40)]
    refused = [a for a in acks if not a["ok"]]
    assert refused and all(a["error"]["code"] == "rate_limited" for a in refused)
    assert len(acks) - len(refused) >= 30


def test_sockets_per_address_are_capped(app, client, event):
    app.config["MAX_SOCKETS_PER_ADDRESS"] = 2
    client.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    auth = {"event": event["code"], "role": "screen"}
    made = [socketio.test_client(app, auth=auth, flask_test_client=client) for _ in range(3)]
    try:
        assert [c.is_connected() for c in made] == [True, True, False]
        made[0].disconnect()
        again = socketio.test_client(app, auth=auth, flask_test_client=client)
        assert again.is_connected()
        again.disconnect()
        # Loopback is not capped: behind an untrusted proxy everyone is 127.0.0.1.
        client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
        local = [socketio.test_client(app, auth=auth, flask_test_client=client) for _ in range(4)]
        assert all(c.is_connected() for c in local)
        for c in local:
            c.disconnect()
    finally:
        for c in made:
            if c.is_connected():
                c.disconnect()
