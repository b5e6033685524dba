"""Participant identities cannot be forged."""
import pytest

from qa.domain.identity import new_participant, verify_participant


def test_round_trip():
    pid, token = new_participant("s")
    assert verify_participant("s", token) == pid
    assert new_participant("s")[0] != pid


@pytest.mark.parametrize("mangle", [
    lambda t: t.split(".")[0],
    lambda t: "someone." + t.split(".")[1],
    lambda t: t + "x",
    lambda t: None,
    lambda t: 12,
    lambda t: "a.b.c",
    lambda t: "." + t.split(".")[1],
])
def test_forgeries_are_refused(mangle):
    _, token = new_participant("s")
    assert verify_participant("s", mangle(token)) is None


def test_other_secret_is_refused():
    _, token = new_participant("s")
    assert verify_participant("other", token) is None
