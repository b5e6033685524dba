"""When a paced broadcast may go out (qa/web/pacing.py): the same turns from the pace of one
process (on a test's clock) and from the one shared through a real Redis."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Callable, Iterator

import pytest

from qa.web.pacing import ITEMS_PER_CALL, LocalPace, Pace, RedisPace

INTERVAL = 0.3


class Clock:
    """A test's clock: time passes only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=["local", "redis"])
def paced(request) -> Iterator[tuple[Pace, Callable[[float], None]]]:
    """A pace, and how to let time pass for it: the local one's clock moves on, Redis's takes real time."""
    if request.param == "local":
        clock = Clock()
        yield LocalPace(clock), clock.advance
    else:
        p = RedisPace(request.getfixturevalue("redis_url"), prefix=f"qa:test:{uuid.uuid4().hex[:8]}")
        yield p, time.sleep
        p.close()


def test_one_sender_per_interval_and_what_others_leave_goes_with_the_next(paced):
    pace, advance = paced
    first = pace.take("votes", 7, INTERVAL, {1, 2})
    assert first.go and first.items == {1, 2}

    # A second sender within the interval: not its turn; its items wait, and it learns when to look again.
    second = pace.take("votes", 7, INTERVAL, {2, 3})
    assert not second.go and second.items == set()
    assert 0 < second.retry_in <= INTERVAL

    advance(second.retry_in + 0.02)
    third = pace.take("votes", 7, INTERVAL, {4})
    assert third.go and third.items == {2, 3, 4}  # the waiting items, once, with its own

    advance(INTERVAL + 0.02)
    assert pace.take("votes", 7, INTERVAL, set()).items == set()  # nothing left behind


def test_a_turn_given_says_when_it_ends_and_the_next_is_given_then(paced):
    """What the Coalescer waits for after a turn, so that it never asks in vain."""
    pace, advance = paced
    first = pace.take("votes", 2, INTERVAL, {1})
    assert first.go and INTERVAL <= first.retry_in <= INTERVAL + 0.002
    assert not pace.take("votes", 2, INTERVAL, set()).go
    advance(first.retry_in)
    assert pace.take("votes", 2, INTERVAL, {2}).go


def test_nothing_waiting_means_no_need_to_look_again(paced):
    pace, _advance = paced
    assert pace.take("votes", 1, INTERVAL, {5}).go
    turn = pace.take("votes", 1, INTERVAL, set())
    assert not turn.go and turn.retry_in is None


def test_events_and_names_keep_separate_paces(paced):
    pace, _advance = paced
    assert pace.take("votes", 1, INTERVAL, {1}).go
    assert pace.take("votes", 2, INTERVAL, {1}).go
    assert pace.take("order", 1, INTERVAL, {1}).go


def test_more_items_than_one_script_call_takes_all_arrive(paced):
    pace, advance = paced
    assert pace.take("votes", 3, INTERVAL, {0}).go
    many = set(range(1, ITEMS_PER_CALL * 2 + 5))
    assert not pace.take("votes", 3, INTERVAL, set(many)).go
    advance(INTERVAL + 0.02)
    assert pace.take("votes", 3, INTERVAL, set()).items == many


def test_without_redis_each_process_sends_its_own_and_says_so_once(caplog):
    pace = RedisPace("redis://127.0.0.1:1/0")  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, logger="qa.web.pacing"):
        turns = [pace.take("votes", 1, INTERVAL, {9}) for _ in range(3)]
    pace.close()
    assert all(t.go and t.items == {9} for t in turns)
    assert sum("Redis unreachable" in r.message for r in caplog.records) == 1


# --- the pace of one process, on a test's clock ------------------------------------------------


def test_local_turn_comes_when_the_interval_is_up_and_not_before():
    clock = Clock()
    pace = LocalPace(clock)
    assert pace.take("votes", 1, INTERVAL, {1}).go
    clock.advance(INTERVAL - 0.1)
    early = pace.take("votes", 1, INTERVAL, {2})
    assert not early.go and early.retry_in == pytest.approx(0.1)
    clock.advance(0.1)
    on_time = pace.take("votes", 1, INTERVAL, {3})
    assert on_time.go and on_time.items == {2, 3}
    # The interval counts from that turn, not from the one before.
    clock.advance(INTERVAL - 0.01)
    assert not pace.take("votes", 1, INTERVAL, {4}).go


def test_local_first_turn_of_a_key_goes_at_once_whatever_the_clock_reads():
    clock = Clock()
    clock.now = 0.0  # a clock that starts at zero: no key has had a turn at 0
    assert LocalPace(clock).take("votes", 1, INTERVAL, {1}).go


def test_local_pace_forgets_turns_and_waiting_items():
    """An earlier app's turns and items, keyed by event id, are none of the next one's."""
    clock = Clock()
    pace = LocalPace(clock)
    assert pace.take("votes", 1, INTERVAL, {1}).go
    assert not pace.take("votes", 1, INTERVAL, {2}).go
    pace.forget()
    turn = pace.take("votes", 1, INTERVAL, {3})
    assert turn.go and turn.items == {3}
