"""One pace across processes (qa/web/pacing.py), against a real Redis."""
from __future__ import annotations

import logging
import time
import uuid

import pytest

from qa.web.pacing import ITEMS_PER_CALL, RedisPace

INTERVAL = 0.3


@pytest.fixture
def pace(redis_url):
    p = RedisPace(redis_url, prefix=f"qa:test:{uuid.uuid4().hex[:8]}")
    yield p
    p.close()


def test_one_sender_per_interval_and_what_others_leave_goes_with_the_next(pace):
    first = pace.take("votes", 7, INTERVAL, {1, 2})
    assert first.go and first.items == {1, 2}

    # A second process within the interval: not its turn; its items wait, and it learns when to look again.
    second = pace.take("votes", 7, INTERVAL, {2, 3})
    assert not second.go and second.items == set()
    assert 0 < second.retry_in <= INTERVAL

    time.sleep(second.retry_in + 0.02)
    third = pace.take("votes", 7, INTERVAL, {4})
    assert third.go and third.items == {2, 3, 4}  # the waiting items, once, with its own

    time.sleep(INTERVAL + 0.02)
    assert pace.take("votes", 7, INTERVAL, set()).items == set()  # nothing left behind


def test_nothing_waiting_means_no_need_to_look_again(pace):
    assert pace.take("votes", 1, INTERVAL, {5}).go
    turn = pace.take("votes", 1, INTERVAL, set())
    assert not turn.go and turn.retry_in is None


def test_events_and_names_keep_separate_paces(pace):
    assert pace.take("votes", 1, INTERVAL, {1}).go
    assert pace.take("votes", 2, INTERVAL, {1}).go
    assert pace.take("order", 1, INTERVAL, {1}).go


def test_more_items_than_one_script_call_takes_all_arrive(pace):
    assert pace.take("votes", 3, INTERVAL, {0}).go
    many = set(range(1, ITEMS_PER_CALL * 2 + 5))
    assert not pace.take("votes", 3, INTERVAL, many).go
    time.sleep(INTERVAL + 0.02)
    assert pace.take("votes", 3, INTERVAL, set()).items == many


def test_without_redis_each_process_sends_its_own_and_says_so_once(caplog):
    pace = RedisPace("redis://127.0.0.1:1/0")  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, logger="qa.web.pacing"):
        turns = [pace.take("votes", 1, INTERVAL, {9}) for _ in range(3)]
    pace.close()
    assert all(t.go and t.items == {9} for t in turns)
    assert sum("Redis unreachable" in r.message for r in caplog.records) == 1
