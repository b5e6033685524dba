"""Rate limits (the `limits` library's sliding-window counters): in memory and in Redis,
per participant and per address."""
import time

import pytest
from limits import parse
from limits.storage import MemoryStorage, RedisStorage

from qa.ratelimit import RateLimiter, is_loopback, storage_for

RULES = {
    "submit:participant": parse("3 per 3 seconds"),
    "submit:address": parse("5 per 5 seconds"),
    "vote:participant": parse("2 per 2 seconds"),
    "vote:address": parse("100 per 100 seconds"),
}


@pytest.fixture(params=["memory", "redis"])
def storage(request):
    if request.param == "memory":
        return MemoryStorage()
    url = request.getfixturevalue("redis_url")
    import redis

    redis.Redis.from_url(url).flushdb()
    return storage_for(url)


def test_burst_then_the_wait_told_is_enough(storage):
    limiter = RateLimiter(storage, RULES)
    rule = parse("3 per 1 second")
    assert [limiter.take("k", rule) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("k", rule)
    assert 0 < wait <= 1
    assert limiter.take("k", rule) > 0  # still refused, and a refusal takes nothing
    time.sleep(wait + 0.05)
    assert limiter.take("k", rule) == 0.0


def test_after_the_window_one_more_at_the_rate(storage):
    """After a burst and its window, the burst's weight wanes: one hit each amount/per, not a
    whole new burst at once (which a moving window would allow)."""
    limiter = RateLimiter(storage, RULES)
    rule = parse("4 per 2 seconds")  # one every 0.5 s once the burst's window has passed
    # Memory windows are aligned to the clock, Redis's start at the first hit: start both
    # just after a boundary, so that the burst fills one window from its start.
    time.sleep(2 - time.time() % 2 + 0.01)
    start = time.monotonic()
    assert all(limiter.take("k", rule) == 0.0 for _ in range(4))
    assert limiter.take("k", rule) > 0
    time.sleep(max(0.0, start + 2.15 - time.monotonic()))
    assert limiter.take("k", rule) == 0.0  # the burst now weighs 4 × 0.93: room for one
    assert limiter.take("k", rule) > 0  # and only one
    time.sleep(max(0.0, start + 2.75 - time.monotonic()))
    assert limiter.take("k", rule) == 0.0  # 4 × 0.63 + 1: room for one more


def test_participant_and_address_limits(storage):
    limiter = RateLimiter(storage, RULES)
    assert all(limiter.check("submit", "alice", "10.0.0.1") == 0 for _ in range(3))
    assert limiter.check("submit", "alice", "10.0.0.1") > 0  # alice's own limit is spent
    assert limiter.check("submit", "bob", "10.0.0.2") == 0  # bob is not slowed by alice
    assert limiter.check("submit", "carol", "10.0.0.1") == 0
    assert limiter.check("submit", "dave", "10.0.0.1") == 0
    assert limiter.check("submit", "erin", "10.0.0.1") > 0  # the address's 5 are spent
    # Loopback is never limited as an address (an untrusted proxy makes everyone 127.0.0.1).
    assert all(limiter.check("submit", f"p{i}", "127.0.0.1") == 0 for i in range(10))


def test_limits_off():
    limiter = RateLimiter(None, RULES)
    assert all(limiter.check("vote", "a", "10.0.0.1") == 0 for _ in range(100))


def test_redis_down_falls_back_to_process_limits():
    limiter = RateLimiter(storage_for("redis://127.0.0.1:1/0"), RULES)
    rule = parse("1 per hour")
    assert limiter.take("k", rule) == 0.0
    assert limiter.take("k", rule) > 0


def test_storage_follows_the_message_queue():
    assert isinstance(storage_for(None), MemoryStorage)
    assert isinstance(storage_for("redis://127.0.0.1:6379/0"), RedisStorage)


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
        app.extensions["qa_ratelimit"] = RateLimiter(MemoryStorage())


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
