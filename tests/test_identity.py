"""Signed identities (qa/domain/identity.py): participant tokens cannot be forged, those issued
before itsdangerous still work, and the console's admin mark follows the admin token."""
import base64
import hashlib
import hmac

import pytest
from itsdangerous import Signer

from qa.domain.identity import admin_mark, new_participant, participant_token, verify_participant


def test_round_trip():
    pid, token = new_participant("s")
    assert verify_participant("s", token) == pid
    assert new_participant("s")[0] != pid
    assert participant_token("s", pid) == token  # the same id always signs the same


def test_token_is_itsdangerous_signed():
    pid, token = new_participant("s")
    signer = Signer("s", salt="qa.participant", key_derivation="hmac", digest_method=hashlib.sha256)
    assert signer.unsign(token).decode() == pid


@pytest.mark.parametrize("mangle", [
    lambda t: t.split(".")[0],
    lambda t: "someone." + t.split(".")[1],
    lambda t: t + "x",
    lambda t: None,
    lambda t: 12,
    lambda t: "a.b.c",
    lambda t: "." + t.split(".")[1],
    lambda t: t.split(".")[0] + "." + "A" * 100,
])
def test_forgeries_are_refused(mangle):
    _, token = new_participant("s")
    assert verify_participant("s", mangle(token)) is None


def test_other_secret_is_refused():
    _, token = new_participant("s")
    assert verify_participant("other", token) is None


def old_token(secret: str, pid: str) -> str:
    """A token as issued before issue 16 (the format browsers may still hold)."""
    mac = hmac.new(secret.encode(), b"participant:" + pid.encode(), hashlib.sha256).digest()
    return f"{pid}.{base64.urlsafe_b64encode(mac[:16]).decode().rstrip('=')}"


def test_tokens_of_the_old_format_still_work():
    token = old_token("s", "abcDEF123_-x")
    assert verify_participant("s", token) == "abcDEF123_-x"
    assert verify_participant("other", token) is None
    assert verify_participant("s", "someone." + token.split(".")[1]) is None
    # The new token of the same participant is another string, for the same id.
    assert participant_token("s", "abcDEF123_-x") != token
    assert verify_participant("s", participant_token("s", "abcDEF123_-x")) == "abcDEF123_-x"


def test_a_signature_of_another_purpose_is_no_participant_token():
    """The admin mark is signed with the same secret, but under another salt."""
    mark = admin_mark("s", "pid")
    assert verify_participant("s", f"pid.{mark}") is None


def test_admin_mark_follows_the_admin_token_and_hides_it():
    mark = admin_mark("s", "the-admin-token")
    assert mark == admin_mark("s", "the-admin-token")
    assert mark != admin_mark("s", "a-new-admin-token")
    assert mark != admin_mark("other", "the-admin-token")
    assert "the-admin-token" not in mark
    assert admin_mark(b"s", "the-admin-token") == mark  # Flask may hold SECRET_KEY as bytes


def test_a_browser_holding_an_old_token_keeps_its_questions_and_gets_a_new_token(app, connect):
    from conftest import received

    secret = app.config["SECRET_KEY"]
    first = connect("participant", participant=old_token(secret, "kept-since-before"))
    token = received(first, "snapshot")[0]["participant"]
    assert token == participant_token(secret, "kept-since-before")
    ack = first.emit("question:submit", {"client_id": "c1", "theme": "other", "text": "Still me?"}, callback=True)
    assert ack["ok"], ack
    first.disconnect()
    for sent in (old_token(secret, "kept-since-before"), token):
        again = connect("participant", participant=sent)
        snap = received(again, "snapshot")[0]
        assert snap["participant"] == token
        assert [q["id"] for q in snap["questions"] if q.get("mine")] == [ack["question"]["id"]]
        again.disconnect()
