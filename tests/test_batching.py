"""Group commit: concurrent requests share writes, each gets its own result or the batch's error."""
import threading
import time

import pytest

from qa.batching import GroupCommit


def run_concurrently(n, fn):
    results, errors = [None] * n, [None] * n
    start = threading.Barrier(n)

    def work(i):
        start.wait(timeout=10)
        try:
            results[i] = fn(i)
        except BaseException as exc:  # noqa: B036  (a green thread's kill is a BaseException)
            errors[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads)
    return results, errors


def test_requests_that_wait_are_written_together_and_each_gets_its_own_result():
    writes = []

    def write(batch):
        writes.append(list(batch))
        time.sleep(0.05)  # a commit: what arrives meanwhile queues up
        return [x * 10 for x in batch]

    gc = GroupCommit(write)
    results, errors = run_concurrently(40, gc.submit)
    assert errors == [None] * 40
    assert results == [i * 10 for i in range(40)]
    assert sorted(x for batch in writes for x in batch) == list(range(40))  # each written exactly once
    assert len(writes) < 40 and gc.batches == len(writes) and gc.requests == 40


def test_batches_are_capped():
    sizes = []

    def write(batch):
        sizes.append(len(batch))
        time.sleep(0.02)
        return batch

    gc = GroupCommit(write, max_batch=5)
    results, errors = run_concurrently(30, gc.submit)
    assert results == list(range(30)) and max(sizes) <= 5


def test_a_failed_write_fails_every_request_in_it_and_the_next_one_is_fresh():
    calls = []

    def write(batch):
        calls.append(batch)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return batch

    gc = GroupCommit(write)
    with pytest.raises(RuntimeError, match="locked"):
        gc.submit(1)
    assert gc.submit(2) == 2


def _slow_write_refusing(bad, error=ValueError, writes=None):
    def write(batch):
        if writes is not None:
            writes.append(list(batch))
        time.sleep(0.02)  # a commit: the others queue up meanwhile
        if any(x in bad for x in batch):
            raise error(f"cannot store {sorted(set(batch) & bad)}")
        return [x * 10 for x in batch]
    return write


def test_a_bad_request_fails_alone_and_everyone_written_with_it_is_stored():
    """One malformed request among honest ones: it gets its error, each of the others its
    own result, and every honest request is written exactly once."""
    writes = []
    gc = GroupCommit(_slow_write_refusing({3, 17}, writes=writes))
    results, errors = run_concurrently(24, gc.submit)
    assert [i for i, e in enumerate(errors) if e is not None] == [3, 17]
    assert all(isinstance(errors[i], ValueError) and str(i) in str(errors[i]) for i in (3, 17))
    assert [r for i, r in enumerate(results) if i not in (3, 17)] == [i * 10 for i in range(24) if i not in (3, 17)]
    stored = [x for batch in writes if not {3, 17} & set(batch) for x in batch]
    assert sorted(stored) == [i for i in range(24) if i not in (3, 17)]


def test_a_shared_failure_fails_the_whole_batch_at_once():
    """A database that is down fails every request of the batch, without writing them apart."""
    class Down(Exception):
        pass

    writes = []
    gc = GroupCommit(_slow_write_refusing(set(range(100)), Down, writes), shared_failures=(Down,))
    results, errors = run_concurrently(12, gc.submit)
    assert all(isinstance(e, Down) for e in errors)
    assert len(writes) == gc.batches  # one write per batch, none apart


def test_a_write_that_loses_results_is_an_error_not_a_hang():
    gc = GroupCommit(lambda batch: [])
    with pytest.raises(RuntimeError, match="0 results for 1"):
        gc.submit("vote")


class Interrupted(BaseException):
    """Like gevent's GreenletExit: not an Exception."""


def test_a_leader_interrupted_before_writing_hands_over_and_nobody_waits_for_ever():
    gc = GroupCommit(lambda batch: batch)
    real, failed = gc._gather, []

    def gather_once_failing():
        if not failed:
            failed.append(1)
            time.sleep(0.05)  # others queue behind the leader meanwhile
            raise Interrupted
        real()

    gc._gather = gather_once_failing
    results, errors = run_concurrently(10, gc.submit)
    assert sum(isinstance(e, Interrupted) for e in errors) == 1
    assert sorted(r for r, e in zip(results, errors) if e is None) == sorted(
        i for i, e in enumerate(errors) if e is None)


@pytest.mark.parametrize("round_seconds, rounds", [(0.001, 4), (0.003, 2), (0.010, 1)])
def test_gathering_under_a_steady_stream_is_bounded_in_rounds_and_in_time(round_seconds, rounds):
    # Each trip round the scheduler brings one more request: the queue never stops growing, so
    # only the caps end the gathering (a busy server's trip round is what a waiting vote pays).
    clock, trips = [0.0], []

    def pause(_seconds):
        trips.append(clock[0])
        gc._queue.append(object())
        clock[0] += round_seconds

    gc = GroupCommit(lambda batch: batch, clock=lambda: clock[0], pause=pause)
    gc._gather()
    assert len(trips) == rounds
