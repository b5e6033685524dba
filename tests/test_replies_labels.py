"""Written replies, labels and the star over Socket.IO and HTTP: who gets which fields.

A private reply reaches the moderators and the asker only; a public one everyone; labels and
the star only ever reach moderators (never a participant, a screen or the public HTTP list).
"""
from __future__ import annotations

import time

import pytest

from conftest import received


def drain(*clients) -> None:
    for c in clients:
        c.get_received()


def wait_for(c, name: str, timeout: float = 2.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    got: list[dict] = []
    while time.monotonic() < deadline:
        got += received(c, name)
        if got:
            return got
        time.sleep(0.02)
    return got


@pytest.fixture
def room(connect):
    """An asker with one approved question, another participant, a screen and a moderator."""
    p, p2, s, m = connect("participant"), connect("participant"), connect("screen"), connect("moderator")
    token = received(p, "snapshot")[0]["participant"]
    ack = p.emit("question:submit", {"client_id": "c1", "theme": "finance", "text": "Will the Group hear us?"},
                 callback=True)
    qid = ack["question"]["id"]
    assert m.emit("question:moderate", {"id": qid, "action": "approve"}, callback=True)["ok"]
    time.sleep(0.1)  # the submission's broadcast to moderators goes out just after the ack
    drain(p, p2, s, m)
    return {"p": p, "p2": p2, "s": s, "m": m, "id": qid, "token": token}


def test_private_reply_reaches_the_asker_and_moderators_only(room, connect):
    p, p2, s, m, qid = room["p"], room["p2"], room["s"], room["m"], room["id"]
    ack = m.emit("question:reply", {"id": qid, "text": "Yes, on 12 March.", "public": False}, callback=True)
    assert ack["ok"] is True
    assert ack["question"]["reply"]["text"] == "Yes, on 12 March." and ack["question"]["reply"]["public"] is False
    assert ack["question"]["labels"] == [] and ack["question"]["starred"] is False

    mine = received(p, "question:mine")
    assert [q["question"]["reply"]["text"] for q in mine] == ["Yes, on 12 March."]
    for c in (p2, s):
        updates = received(c, "question:update")
        assert updates and all(u["question"]["reply"] is None for u in updates)
        assert not any("labels" in u["question"] for u in updates)
    mod_updates = [u["question"] for u in received(m, "question:update")]
    assert mod_updates[-1]["reply"]["text"] == "Yes, on 12 March."

    # The asker, coming back, still sees it; another participant and a screen do not.
    again = connect("participant", participant=room["token"])
    own = {q["id"]: q for q in received(again, "snapshot")[0]["questions"]}
    assert own[qid]["reply"]["text"] == "Yes, on 12 March." and own[qid]["mine"] is True
    for c in (connect("participant"), connect("screen")):
        q = {q["id"]: q for q in received(c, "snapshot")[0]["questions"]}[qid]
        assert q["reply"] is None and "labels" not in q and "starred" not in q


def test_public_reply_and_answered_in_one_step(room, client, event):
    p, p2, s, m, qid = room["p"], room["p2"], room["s"], room["m"], room["id"]
    ack = m.emit("question:reply", {"id": qid, "text": "Done.", "public": True, "answer": True}, callback=True)
    assert ack["ok"] and ack["question"]["status"] == "answered"
    for c in (p2, s):
        last = received(c, "question:update")[-1]["question"]
        assert last["status"] == "answered" and last["reply"]["text"] == "Done." and last["reply"]["public"]
    mine = received(p, "question:mine")
    assert len(mine) == 1 and mine[0]["question"]["status"] == "answered"  # one message, not two
    body = client.get(f"/api/events/{event['code']}/questions").get_json()
    assert body["questions"][0]["reply"]["text"] == "Done."


def test_reply_refusals(room, connect):
    m, p, qid = room["m"], room["p"], room["id"]
    ack = p.emit("question:reply", {"id": qid, "text": "me"}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    ack = m.emit("question:reply", {"id": qid, "text": ""}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid" and ack["error"]["message"]
    pending = p.emit("question:submit", {"client_id": "c2", "theme": "finance", "text": "Another one?"},
                     callback=True)["question"]["id"]
    ack = m.emit("question:reply", {"id": pending, "text": "x", "answer": True}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "conflict"
    fr = connect("moderator", lang="fr")
    ack = fr.emit("question:reply", {"id": qid}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request"


def test_labels_and_star_reach_moderators_only(room, client, event):
    p, p2, s, m, qid = room["p"], room["p2"], room["s"], room["m"], room["id"]
    ack = m.emit("question:label", {"id": qid, "labels": ["for the Group", "follow-up"]}, callback=True)
    assert ack["ok"] and ack["question"]["labels"] == ["for the Group", "follow-up"]
    ack = m.emit("question:star", {"id": qid, "starred": True}, callback=True)
    assert ack["ok"] and ack["question"]["starred"] is True
    updates = [u["question"] for u in received(m, "question:update")]
    assert updates[-1]["labels"] == ["for the Group", "follow-up"] and updates[-1]["starred"] is True
    for c in (p, p2, s):
        for msg in c.get_received():
            assert "labels" not in str(msg) and "starred" not in str(msg), msg

    public = client.get(f"/api/events/{event['code']}/questions").get_json()["questions"]
    assert "labels" not in public[0] and "starred" not in public[0]
    mod = client.get(f"/api/events/{event['code']}/questions",
                     headers={"Authorization": f"Bearer {event['token']}"}).get_json()["questions"]
    assert mod[0]["labels"] == ["for the Group", "follow-up"] and mod[0]["starred"] is True

    for payload in ({"id": qid, "labels": "x"}, {"id": qid, "labels": ["a;b"]}, {"id": qid, "starred": 1}):
        name = "question:star" if "starred" in payload else "question:label"
        ack = m.emit(name, payload, callback=True)
        assert ack["ok"] is False and ack["error"]["message"], payload
    ack = p.emit("question:label", {"id": qid, "labels": ["mine"]}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"


def test_exports_carry_reply_labels_and_star(room, client, event):
    m, qid = room["m"], room["id"]
    m.emit("question:reply", {"id": qid, "text": "=Yes; soon", "public": True}, callback=True)
    m.emit("question:label", {"id": qid, "labels": ["for the Group", "follow-up"]}, callback=True)
    m.emit("question:star", {"id": qid, "starred": True}, callback=True)
    auth = {"Authorization": f"Bearer {event['token']}"}
    rows = client.get(f"/api/events/{event['code']}/export.json", headers=auth).get_json()["questions"]
    assert rows[0]["reply"]["text"] == "=Yes; soon" and rows[0]["reply"]["public"] is True
    assert rows[0]["labels"] == ["for the Group", "follow-up"] and rows[0]["starred"] is True

    import csv
    import io
    text = client.get(f"/api/events/{event['code']}/export.csv", headers=auth).get_data(as_text=True)
    row = next(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    # One field a column; a reply starting with "=" is not a formula.
    assert row["reply"] == "'=Yes; soon" and row["reply_public"] == "True"
    assert row["labels"] == "for the Group; follow-up" and row["starred"] == "True"
    assert row["replied_at"].endswith("Z")
