"""Socket.IO handlers (qa/web/sockets.py), driven through Flask-SocketIO's test client.

Each test pays for a fresh database on every engine, so tables of bad inputs
are grouped by the error they must produce: one test per error code, every
payload of the group checked in it (the assertion names the payload at fault).
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any, Callable

import pytest
from socketio import packet
from sqlalchemy.exc import TimeoutError as PoolTimeout

from conftest import received
from qa.domain import events as events_domain
from qa.extensions import db, socketio
from qa.models import Event, Question
from qa.domain import questions as questions_domain
from qa.web import broadcast, join_cache
from qa.web.presence import presence

QUESTION_KEYS = {"id", "theme", "text", "name", "status", "votes", "live", "created_at"}
# Documented additions: participant flags, a merged duplicate's target, a moderator's hints.
ADDITIONS = {"mine", "voted", "merged_into", "similar", "language", "flag", "author_blocked",
             "reply", "labels", "starred"}
EVENT_KEYS = {"code", "title", "themes", "submissions_open", "active_theme"}
WAIT = 2.0  # seconds; the longest any test waits for a background broadcast


# --- helpers -----------------------------------------------------------------


def assert_question(q: dict, **expected: Any) -> None:
    """A question has the contract's fields (plus documented additions only) with their types."""
    assert QUESTION_KEYS <= set(q), q
    assert set(q) - QUESTION_KEYS <= ADDITIONS, q
    assert isinstance(q["id"], int) and not isinstance(q["id"], bool)
    assert isinstance(q["theme"], str)
    assert isinstance(q["text"], str)
    assert q["name"] is None or isinstance(q["name"], str)
    assert q["status"] in ("pending", "approved", "rejected", "answered")
    assert isinstance(q["votes"], int) and not isinstance(q["votes"], bool)
    assert isinstance(q["live"], bool)
    assert datetime.fromisoformat(q["created_at"])  # ISO-8601
    for key, value in expected.items():
        assert q[key] == value, (key, q)


def assert_error(ack: Any, code: str, case: Any = None) -> dict:
    """An ack is {ok: false, error: {code, message, field?}} with the given code."""
    assert isinstance(ack, dict), (case, ack)
    assert ack.get("ok") is False, (case, ack)
    assert set(ack) == {"ok", "error"}, (case, ack)
    error = ack["error"]
    assert error["code"] == code, (case, ack)
    assert set(error) <= {"code", "message", "field"}, (case, ack)
    assert isinstance(error["message"], str) and error["message"].strip(), (case, ack)
    return error


def ask(p, text: str = "How do we pay across borders?", theme: str = "finance", **extra: Any) -> dict:
    """Submit a question as participant `p`; return the acked question."""
    payload = {"client_id": uuid.uuid4().hex, "theme": theme, "text": text, **extra}
    ack = p.emit("question:submit", payload, callback=True)
    assert ack["ok"] is True, ack
    return ack["question"]


def act(m, qid: int, action: str) -> dict:
    return m.emit("question:moderate", {"id": qid, "action": action}, callback=True)


def apply(m, qid: int, *actions: str) -> dict | None:
    """Apply moderator actions that must succeed; return the last ack's question."""
    q = None
    for action in actions:
        ack = act(m, qid, action)
        assert ack["ok"] is True, (action, ack)
        q = ack["question"]
    return q


STATE_PATHS = {
    "pending": (),
    "approved": ("approve",),
    "answered": ("approve", "answer"),
    "rejected": ("reject",),
    "live": ("approve", "live"),
}


def make(p, m, state: str, **kw: Any) -> int:
    """A question of participant `p` brought to `state` by moderator `m`; its id."""
    q = ask(p, **kw)
    apply(m, q["id"], *STATE_PATHS[state])
    return q["id"]


def drain(*clients) -> None:
    """Forget what the clients received so far, the broadcasts still owed included."""
    assert broadcast.settle()
    for c in clients:
        c.get_received()


def names(c) -> list[str]:
    """What `c` received since last asked, but `presence`, which is announced on its own clock."""
    return [m["name"] for m in c.get_received() if m["name"] != "presence"]


def wait_until(cond: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def wait_for(c, name: str, pred: Callable[[dict], bool] = lambda _m: True,
             timeout: float = WAIT) -> dict:
    """Poll `c` until a `name` message matching `pred` arrives; return it."""
    seen: list[dict] = []
    found: list[dict] = []

    def check() -> bool:
        for msg in received(c, name):
            seen.append(msg)
            if pred(msg):
                found.append(msg)
        return bool(found)

    assert wait_until(check, timeout), f"no matching {name!r} within {timeout}s; saw {seen}"
    return found[0]


def listed(client, event: dict, moderator: bool = True) -> list[dict]:
    """Questions over HTTP: every question with the moderator token, else the public ones."""
    headers = {"Authorization": f"Bearer {event['token']}"} if moderator else {}
    r = client.get(f"/api/events/{event['code']}/questions", headers=headers)
    assert r.status_code == 200
    return r.get_json()["questions"]


def by_id(client, event: dict) -> dict[int, dict]:
    return {q["id"]: q for q in listed(client, event)}


def public_order(client, event: dict) -> list[int]:
    return [q["id"] for q in listed(client, event, moderator=False)]


def event_state(client, event: dict) -> dict:
    r = client.get(f"/api/events/{event['code']}")
    assert r.status_code == 200
    return r.get_json()


def snapshot(c) -> dict:
    """The snapshot `c` ended its join with: a join sends a fresh one when a change crossed its read."""
    snaps = received(c, "snapshot")
    assert snaps, "no snapshot"
    return snaps[-1]


def with_qid(payload: Any, qid: int) -> Any:
    """Put a real question id where a case says "{qid}"."""
    if isinstance(payload, dict) and payload.get("id") == "{qid}":
        return {**payload, "id": qid}
    return payload


@pytest.fixture
def other_event(app) -> dict:
    """A second event in the same database."""
    with app.app_context():
        ev = events_domain.create_event(db.session, {"title": "Other webinar"})
        return {"id": ev.id, "code": ev.code, "token": ev.moderator_token}


@pytest.fixture
def room(connect) -> dict:
    """A participant, a second participant, a screen and a moderator, their snapshots read."""
    clients = {"p": connect("participant"), "p2": connect("participant"),
               "s": connect("screen"), "m": connect("moderator")}
    drain(*clients.values())
    return clients


def refusal(app, client, monkeypatch, auth: Any) -> dict:
    """Try to connect with `auth`; assert it is refused and return the refusal's data."""
    c = socketio.test_client(app, auth=auth, flask_test_client=client)
    assert not c.is_connected(), auth
    # The test client drops CONNECT_ERROR's payload: listen in on a second try.
    errors = []
    sink = socketio.server._send_packet

    def spy(eio_sid, pkt):
        if pkt.packet_type == packet.CONNECT_ERROR:
            errors.append(pkt.data)
        return sink(eio_sid, pkt)

    with monkeypatch.context() as mp:
        mp.setattr(socketio.server, "_send_packet", spy)
        c.connect(auth=auth)
    assert not c.is_connected(), auth
    assert len(errors) == 1, (auth, errors)
    return errors[0]


# --- connecting ----------------------------------------------------------------


@pytest.mark.parametrize("code, cases", [
    ("bad_request", [None, "MSME", ["participant"], 5, {"event": "{code}"},
                     {"event": "{code}", "role": "admin"}, {"event": "{code}", "role": ["moderator"]}]),
    ("not_found", [{"role": "participant"}, {"event": "ZZZZZZ", "role": "participant"},
                   {"event": 12345, "role": "participant"}, {"event": "", "role": "screen"},
                   {"event": None, "role": "moderator", "token": "x"}]),
    ("unauthorized", [{"event": "{code}", "role": "moderator"},
                      {"event": "{code}", "role": "moderator", "token": "nope"},
                      {"event": "{code}", "role": "moderator", "token": 42},
                      {"event": "{code}", "role": "moderator", "token": ""},
                      {"event": "{code}", "role": "moderator", "token": "{other}"}]),
])
def test_connect_refused(app, client, event, other_event, monkeypatch, code, cases):
    """A wrong code, role or token refuses the connection with a message and a code, without raising."""
    before = presence.counts(event["id"])
    for auth in cases:
        if isinstance(auth, dict):
            auth = {k: {"{code}": event["code"], "{other}": other_event["token"]}.get(v, v)
                    if isinstance(v, str) else v for k, v in auth.items()}
        data = refusal(app, client, monkeypatch, auth)
        assert isinstance(data["message"], str) and data["message"].strip(), auth
        assert data["data"] == {"code": code}, auth
    assert presence.counts(event["id"]) == before


def test_connect_when_the_database_has_no_connection_free_is_refused_as_retryable(
        app, client, event, monkeypatch, caplog):
    """A join storm can wait out PostgreSQL's pool: a retryable refusal, no traceback, nothing counted."""
    before = presence.counts(event["id"])

    def exhausted(*_args):
        raise PoolTimeout("QueuePool limit of size 10 overflow 20 reached")

    for role, target in (("participant", "qa.web.join_cache.event_cache.get"),
                         ("moderator", "qa.domain.events.find_event")):
        with monkeypatch.context() as mp:
            mp.setattr(target, exhausted)
            data = refusal(app, client, monkeypatch, {"event": event["code"], "role": role, "token": event["token"]})
        assert data["data"] == {"code": "unavailable"} and "try again" in data["message"], role
    assert presence.counts(event["id"]) == before
    assert "Traceback" not in caplog.text and "database busy" in caplog.text


def test_connect_code_is_forgiving(connect, event):
    """The event code is case-insensitive and ignores spaces and hyphens, for every role."""
    code = event["code"]
    for role in ("participant", "moderator", "screen"):
        for spelling in (code.lower(), f" {code[:3]}-{code[3:].lower()} "):
            c = connect(role, event=spelling)
            assert c.is_connected(), (role, spelling)
            assert snapshot(c)["event"]["code"] == code


# --- snapshot ------------------------------------------------------------------


@pytest.fixture
def mixed(connect):
    """Questions of two participants in every status; ids by label, and A's identity."""
    a, b, m = connect("participant"), connect("participant"), connect("moderator")
    token_a = snapshot(a)["participant"]
    ids = {
        "a_pending": make(a, m, "pending"),
        "a_approved": make(a, m, "approved"),
        "a_rejected": make(a, m, "rejected"),
        "a_answered": make(a, m, "answered"),
        "b_pending": make(b, m, "pending"),
        "b_approved": make(b, m, "approved"),
        "b_rejected": make(b, m, "rejected"),
        "b_live": make(b, m, "live"),
    }
    a.disconnect()
    return ids, token_a


def test_snapshot_per_role(connect, event, mixed):
    """Participant: public and all its own (flagged mine); screen: public only; moderator: everything."""
    ids, token = mixed

    snap = snapshot(connect("participant", participant=token))
    assert EVENT_KEYS <= set(snap["event"]) and snap["event"]["code"] == event["code"]
    assert snap["participant"] == token
    got = {q["id"]: q for q in snap["questions"]}
    own = {ids[k] for k in ("a_pending", "a_approved", "a_rejected", "a_answered")}
    assert set(got) == own | {ids["b_approved"], ids["b_live"]}
    for q in got.values():
        assert_question(q)
        assert q.get("mine", False) is (q["id"] in own), q
    assert got[ids["a_pending"]]["status"] == "pending"
    assert got[ids["a_rejected"]]["status"] == "rejected"
    assert got[ids["b_live"]]["live"] is True

    snap = snapshot(connect("screen"))
    assert "participant" not in snap
    assert [q["id"] for q in snap["questions"]] == [
        ids["a_approved"], ids["a_answered"], ids["b_approved"], ids["b_live"]]
    for q in snap["questions"]:
        assert_question(q)
        assert "mine" not in q

    snap = snapshot(connect("moderator"))
    got = {q["id"]: q for q in snap["questions"]}
    assert set(got) == set(ids.values())
    status = {"pending": "pending", "approved": "approved", "live": "approved",
              "rejected": "rejected", "answered": "answered"}
    for label, qid in ids.items():
        assert_question(got[qid], status=status[label[2:]])
    assert set(snap["presence"]) == {"participants", "moderators", "screens"}


@pytest.mark.parametrize("role", ["screen", "participant", "moderator"])
def test_a_change_made_while_a_join_reads_its_snapshot_is_not_undone(app, connect, monkeypatch, role):
    """A screen joined as the moderator put the next question on air, and kept the one before
    (the snapshot was read before the change and sent after it). The join is in the event's rooms
    before it reads, and reads and sends again when a change went out meanwhile: whatever the
    socket receives last says which question is on air now."""
    p, m = connect("participant"), connect("moderator")
    before, after = make(p, m, "live"), make(p, m, "approved")
    drain(p, m)
    reads = []
    where, name = (questions_domain, "moderator_view") if role == "moderator" else (join_cache.public_list, "get")
    read = getattr(where, name)

    def read_then_change(session, event_id, *rest):
        got = read(session, event_id, *rest)
        if not reads:  # the first read only: the change lands between it and the snapshot
            assert act(m, after, "live")["ok"]
        reads.append(got)
        return got

    monkeypatch.setattr(where, name, read_then_change)
    joined = connect(role)
    assert len(reads) == 2  # read again: the change went out between the first read and the snapshot
    live = {}
    for msg in joined.get_received():  # in the order the socket got them
        if msg["name"] == "snapshot":
            live = {q["id"]: q["live"] for q in msg["args"][0]["questions"]}
        elif msg["name"] == "question:update":
            q = msg["args"][0]["question"]
            live[q["id"]] = q["live"]
    assert live[after] is True and live[before] is False, live


def test_snapshot_event_state(connect, event):
    """The snapshot's event carries code, title, themes and the moderator-set state."""
    m = connect("moderator")
    assert m.emit("event:update", {"submissions_open": False, "active_theme": "finance"},
                  callback=True)["ok"]
    ev = snapshot(connect("screen"))["event"]
    assert ev["code"] == event["code"]
    assert ev["title"] == "Test webinar"
    assert [t["key"] for t in ev["themes"]] == ["trade-facilitation", "finance", "digitalization", "other"]
    assert (ev["submissions_open"], ev["active_theme"]) == (False, "finance")


# --- participant identity ------------------------------------------------------


def test_identity_restores_my_questions(connect):
    """The participant token sent back in auth restores the same identity and its questions."""
    p = connect("participant")
    token = snapshot(p)["participant"]
    assert isinstance(token, str) and token
    q = ask(p)
    p.disconnect()
    snap = snapshot(connect("participant", participant=token))
    assert snap["participant"] == token
    assert [(x["id"], x["status"], x.get("mine")) for x in snap["questions"]] == [(q["id"], "pending", True)]


def _tamper(token: str) -> str:
    pid, mac = token.split(".")
    return f"{pid}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"


def test_forged_identity_gets_a_fresh_one(connect):
    """A forged participant token connects as someone new who cannot see the other's questions."""
    victim = connect("participant")
    token = snapshot(victim)["participant"]
    ask(victim)
    pid = token.split(".")[0]
    for forged in (_tamper(token), pid, pid + ".", "not-a-token", 12345, ["x"], token + "x" * 200):
        intruder = connect("participant", participant=forged)
        assert intruder.is_connected(), forged
        snap = snapshot(intruder)
        assert isinstance(snap["participant"], str) and snap["participant"] != token, forged
        assert snap["questions"] == [], forged


def test_client_id_is_per_identity(connect, client, event):
    """Two tabs of one identity share client_ids; two participants do not."""
    tab1 = connect("participant")
    tab2 = connect("participant", participant=snapshot(tab1)["participant"])
    stranger = connect("participant")
    payload = {"client_id": "shared", "theme": "finance", "text": "Once only"}
    first = tab1.emit("question:submit", payload, callback=True)["question"]
    assert tab2.emit("question:submit", payload, callback=True)["question"]["id"] == first["id"]
    assert stranger.emit("question:submit", payload, callback=True)["question"]["id"] != first["id"]
    assert len(listed(client, event)) == 2


# --- question:submit -------------------------------------------------------------


def test_submit_acks_the_question(room, client, event):
    """A submission is acked with the stored question and reaches moderators only, as question:new."""
    text = "  Qu'en est-il des paiements transfrontaliers ? 🌍  "
    ack = room["p"].emit("question:submit", {"client_id": "c-1", "theme": "finance", "text": text,
                                             "name": "  Ana  "}, callback=True)
    assert ack["ok"] is True and set(ack) == {"ok", "question"}
    q = ack["question"]
    assert_question(q, theme="finance", text=text.strip(), name="Ana", status="pending",
                    votes=0, live=False)
    assert [x["id"] for x in listed(client, event)] == [q["id"]]
    assert broadcast.settle()  # question:new goes out just after the ack
    new = received(room["m"], "question:new")
    assert len(new) == 1
    assert_question(new[0]["question"], id=q["id"], text=text.strip(), status="pending")
    for role in ("p", "p2", "s"):
        assert names(room[role]) == [], role


def test_submit_limits_and_optional_name(connect):
    """Text up to 500 characters after trimming; the name is optional and blank means anonymous."""
    p = connect("participant")
    assert ask(p, text="  " + "x" * 500 + "\n")["text"] == "x" * 500
    for extra, name in (({}, None), ({"name": None}, None), ({"name": "   "}, None),
                        ({"name": "n" * 60}, "n" * 60)):
        assert ask(p, **extra)["name"] == name, extra


def test_submit_is_idempotent(connect, client, event):
    """The same client_id again returns the same question and creates nothing."""
    p, m = connect("participant"), connect("moderator")
    drain(m)
    payload = {"client_id": "retry-1", "theme": "finance", "text": "First wording"}
    first = p.emit("question:submit", payload, callback=True)
    again = p.emit("question:submit", payload, callback=True)
    reworded = p.emit("question:submit", {**payload, "text": "Second wording"}, callback=True)
    assert first["ok"] and again["ok"] and reworded["ok"]
    assert first["question"]["id"] == again["question"]["id"] == reworded["question"]["id"]
    assert reworded["question"]["text"] == "First wording"
    assert len(listed(client, event)) == 1
    assert broadcast.settle()
    assert len(received(m, "question:new")) == 1


def _submit(**fields: Any) -> dict:
    base = {"client_id": "c-bad", "theme": "finance", "text": "A fine question"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.mark.parametrize("code, payloads", [
    ("bad_request", [
        None, [], ["client_id", "c"], "What about finance?", 7,
        _submit(text=...), _submit(text=42), _submit(text=["a"]),
        _submit(theme=...), _submit(theme=["finance"]),
        _submit(client_id=...), _submit(client_id=17), _submit(client_id={"a": 1}),
        _submit(name=5),
        # What no database here stores: a lone surrogate (a JSON escape), NUL (PostgreSQL).
        _submit(text="Why \ud800?"), _submit(text="Why\x00?"), _submit(name="\udfff"),
        _submit(client_id="c\ud83d"), _submit(theme="fin\x00ance"),
    ]),
    ("invalid", [
        _submit(text=""), _submit(text="   \n\t  "), _submit(text="x" * 501),
        _submit(theme="weather"), _submit(theme="Finance"),
        _submit(client_id="   "), _submit(client_id="c" * 65), _submit(name="n" * 61),
    ]),
])
def test_submit_refuses_bad_input(connect, client, event, code, payloads):
    """Each bad submission gets an error ack and stores nothing."""
    p, m = connect("participant"), connect("moderator")
    drain(m)
    for payload in payloads:
        assert_error(p.emit("question:submit", payload, callback=True), code, payload)
    if code == "bad_request":
        assert_error(p.emit("question:submit", callback=True), code, "no argument")
    assert listed(client, event) == []
    assert broadcast.settle()
    assert received(m, "question:new") == []


def test_submit_when_closed(connect, client, event):
    """Closed submissions refuse new questions but return already stored ones; reopening accepts again."""
    p, m = connect("participant"), connect("moderator")
    stored = {"client_id": "before-close", "theme": "other", "text": "Sent in time"}
    first = p.emit("question:submit", stored, callback=True)["question"]
    assert m.emit("event:update", {"submissions_open": False}, callback=True)["ok"]
    assert_error(p.emit("question:submit", _submit(), callback=True), "closed")
    again = p.emit("question:submit", stored, callback=True)
    assert again["ok"] is True and again["question"]["id"] == first["id"]
    assert [q["id"] for q in listed(client, event)] == [first["id"]]
    assert m.emit("event:update", {"submissions_open": True}, callback=True)["ok"]
    assert ask(p)["status"] == "pending"
    assert len(listed(client, event)) == 2


def test_submit_post_moderation_is_public_at_once(room, client, event):
    """With post-moderation a new question is published at once, to everyone, at the end of the queue."""
    old = make(room["p"], room["m"], "approved")
    assert room["m"].emit("event:update", {"moderation": "post"}, callback=True)["ok"]
    drain(*room.values())
    q = ask(room["p"])
    assert q["status"] == "approved"
    assert broadcast.settle()  # sent just after the ack
    for role in ("p2", "s", "m"):
        updates = [u["question"]["id"] for u in received(room[role], "question:update")]
        assert updates == [q["id"]], role
    assert public_order(client, event) == [old, q["id"]]


# --- question:vote ----------------------------------------------------------------


def test_vote_counts_one_per_participant(connect, client, event):
    """Votes count once per participant; a repeat does not double; up:false takes it back."""
    a, b, m = connect("participant"), connect("participant"), connect("moderator")
    qid = make(a, m, "approved")
    assert a.emit("question:vote", {"id": qid}, callback=True) == {"ok": True, "id": qid, "votes": 1}
    assert a.emit("question:vote", {"id": qid, "up": True}, callback=True)["votes"] == 1
    assert b.emit("question:vote", {"id": qid}, callback=True)["votes"] == 2
    assert by_id(client, event)[qid]["votes"] == 2
    assert a.emit("question:vote", {"id": qid, "up": False}, callback=True)["votes"] == 1
    assert a.emit("question:vote", {"id": qid, "up": False}, callback=True)["votes"] == 1
    assert by_id(client, event)[qid]["votes"] == 1


def test_vote_survives_reconnect(connect):
    """The same identity on a new socket cannot vote twice and sees its vote flagged."""
    p, m = connect("participant"), connect("moderator")
    token = snapshot(p)["participant"]
    qid = make(p, m, "approved")
    assert p.emit("question:vote", {"id": qid}, callback=True)["votes"] == 1
    p.disconnect()
    again = connect("participant", participant=token)
    assert {q["id"]: q for q in snapshot(again)["questions"]}[qid]["voted"] is True
    assert again.emit("question:vote", {"id": qid}, callback=True)["votes"] == 1


def test_vote_only_on_public_questions(connect, client, event, other_event):
    """Answered questions take votes; pending and rejected conflict; unknown and foreign ids are not found."""
    p, m = connect("participant"), connect("moderator")
    answered = make(p, m, "answered")
    assert p.emit("question:vote", {"id": answered}, callback=True)["votes"] == 1
    hidden = [make(p, m, "pending"), make(p, m, "rejected")]
    for qid in hidden:
        assert_error(p.emit("question:vote", {"id": qid}, callback=True), "conflict", qid)
    assert_error(p.emit("question:vote", {"id": 999999}, callback=True), "not_found")
    outsider = connect("participant", event=other_event["code"])
    assert_error(outsider.emit("question:vote", {"id": answered}, callback=True), "not_found")
    assert {q["id"]: q["votes"] for q in listed(client, event)} == {answered: 1, hidden[0]: 0, hidden[1]: 0}


def test_vote_refuses_bad_input(connect, client, event):
    """Malformed votes get a bad_request ack and change no count."""
    p, m = connect("participant"), connect("moderator")
    qid = make(p, m, "approved")
    for payload in (None, [1], 1, {}, {"id": "1"}, {"id": True}, {"id": 1.5},
                    {"id": qid, "up": "yes"}, {"id": qid, "up": 0},
                    {"id": 2**31}, {"id": 2**70}, {"id": -(2**63)}):
        assert_error(p.emit("question:vote", payload, callback=True), "bad_request", payload)
    assert by_id(client, event)[qid]["votes"] == 0


def test_vote_up_null_does_not_take_back(connect, client, event):
    """'up': null is not false: it never takes a vote back."""
    p, m = connect("participant"), connect("moderator")
    qid = make(p, m, "approved")
    assert p.emit("question:vote", {"id": qid}, callback=True)["votes"] == 1
    p.emit("question:vote", {"id": qid, "up": None}, callback=True)
    assert by_id(client, event)[qid]["votes"] == 1


def test_votes_broadcast_reaches_everyone(room):
    """A vote is broadcast as votes {counts: {"<id>": n}} to participants, screens and moderators."""
    qid = make(room["p"], room["m"], "approved")
    drain(*room.values())
    assert room["p2"].emit("question:vote", {"id": qid}, callback=True)["votes"] == 1
    for role in ("p", "p2", "s", "m"):
        msg = wait_for(room[role], "votes", lambda v: v["counts"].get(str(qid)) == 1)
        assert all(isinstance(k, str) and isinstance(n, int) for k, n in msg["counts"].items())


def test_votes_are_coalesced(connect):
    """A burst of votes yields at most one votes message per VOTE_INTERVAL (0.3 s), ending on the true counts."""
    m, author = connect("moderator"), connect("participant")
    q1, q2 = make(author, m, "approved"), make(author, m, "approved")
    voters = [connect("participant") for _ in range(6)]
    screen = connect("screen")
    drain(screen)
    start = time.monotonic()
    for v in voters:
        assert v.emit("question:vote", {"id": q1}, callback=True)["ok"]
        assert v.emit("question:vote", {"id": q2}, callback=True)["ok"]
    burst = time.monotonic() - start
    final = {str(q1): 6, str(q2): 6}
    messages, merged = [], {}

    def caught_up() -> bool:
        for msg in received(screen, "votes"):
            messages.append(msg)
            merged.update({k: n for k, n in msg["counts"].items() if k in final})
        return merged == final

    assert wait_until(caught_up), (merged, messages)
    assert broadcast.settle()  # every flush owed has gone out
    caught_up()
    assert merged == final
    # 12 votes: one message at once, then at most one per interval the burst lasted, and a last one.
    assert 1 <= len(messages) <= 2 + int(burst / broadcast.VOTE_INTERVAL), (burst, messages)


# --- question:moderate -------------------------------------------------------------


# From each state, what each action leads to: (status, live), or a conflict.
TRANSITIONS = {
    "pending": {"approve": ("approved", False), "reject": ("rejected", False), "answer": "conflict",
                "live": "conflict", "unlive": "conflict", "restore": "conflict"},
    "approved": {"approve": "conflict", "reject": ("rejected", False), "answer": ("answered", False),
                 "live": ("approved", True), "unlive": "conflict", "restore": "conflict"},
    "answered": {"approve": "conflict", "reject": ("rejected", False), "answer": "conflict",
                 "live": ("answered", True), "unlive": "conflict", "restore": ("approved", False)},
    "rejected": {"approve": "conflict", "reject": "conflict", "answer": "conflict",
                 "live": "conflict", "unlive": "conflict", "restore": ("pending", False)},
    "live": {"approve": "conflict", "reject": ("rejected", False), "answer": ("answered", False),
             "live": "conflict", "unlive": ("approved", False), "restore": "conflict"},
}


@pytest.mark.parametrize("state", list(TRANSITIONS))
def test_moderate_transitions(connect, client, event, state):
    """Every action from this state: the documented outcome, or a conflict that changes nothing."""
    p, m = connect("participant"), connect("moderator")
    for action, expected in TRANSITIONS[state].items():
        qid = make(p, m, state)
        before = by_id(client, event)[qid]
        ack = act(m, qid, action)
        if expected == "conflict":
            assert_error(ack, "conflict", action)
            assert by_id(client, event)[qid] == before, action
            continue
        status, live = expected
        assert ack["ok"] is True and set(ack) == {"ok", "question"}, (action, ack)
        assert_question(ack["question"], id=qid, status=status, live=live)
        stored = by_id(client, event)[qid]
        assert (stored["status"], stored["live"]) == (status, live), action
        if live:
            apply(m, qid, "unlive")  # leave nothing on air for the next action


def test_conflicts_say_why(connect):
    """A refused action explains itself: approving twice says "already approved"."""
    p, m = connect("participant"), connect("moderator")
    approved, rejected = make(p, m, "approved"), make(p, m, "rejected")
    assert "already approved" in assert_error(act(m, approved, "approve"), "conflict")["message"]
    assert "restore" in assert_error(act(m, rejected, "approve"), "conflict")["message"]


@pytest.mark.parametrize("code, payloads", [
    ("bad_request", [None, ["approve"], "approve", {"action": "approve"}, {"id": "{qid}"},
                     {"id": "{qid}", "action": "delete"}, {"id": "{qid}", "action": "APPROVE"},
                     {"id": "{qid}", "action": ["approve"]}, {"id": True, "action": "approve"},
                     {"id": "1", "action": "approve"}]),
    ("not_found", [{"id": 999999, "action": "approve"}, {"id": "{foreign}", "action": "approve"}]),
])
def test_moderate_refuses_bad_input(connect, client, event, other_event, code, payloads):
    """Malformed or foreign moderation messages get an error ack and change nothing."""
    p, m = connect("participant"), connect("moderator")
    qid = make(p, m, "pending")
    other = connect("moderator", event=other_event["code"], token=other_event["token"])
    foreign = make(connect("participant", event=other_event["code"]), other, "pending")
    for payload in payloads:
        payload = with_qid(payload, qid)
        if isinstance(payload, dict) and payload.get("id") == "{foreign}":
            payload = {**payload, "id": foreign}
        assert_error(m.emit("question:moderate", payload, callback=True), code, payload)
    assert_error(act(other, qid, "approve"), "not_found")
    assert by_id(client, event)[qid]["status"] == "pending"
    assert by_id(client, other_event)[foreign]["status"] == "pending"


def test_approve_broadcasts(room):
    """Approve: question:update and queue:order to everyone, question:mine to the author only."""
    qid = ask(room["p"])["id"]
    drain(*room.values())
    apply(room["m"], qid, "approve")
    assert broadcast.settle()  # queue:order follows from a coalescer
    for role in ("p", "p2", "s", "m"):
        msgs = room[role].get_received()
        updates = [x["args"][0] for x in msgs if x["name"] == "question:update"]
        assert len(updates) == 1, (role, msgs)
        assert_question(updates[0]["question"], id=qid, status="approved")
        assert [x["args"][0] for x in msgs if x["name"] == "queue:order"] == [{"ids": [qid]}], role
        mine = [x["args"][0]["question"]["status"] for x in msgs if x["name"] == "question:mine"]
        assert mine == (["approved"] if role == "p" else []), role


def test_reject_public_question_broadcasts(room):
    """Rejecting a public question removes it for participants and screens, updates moderators."""
    qid = make(room["p"], room["m"], "approved")
    keep = make(room["p2"], room["m"], "approved")
    drain(*room.values())
    apply(room["m"], qid, "reject")
    assert broadcast.settle()  # queue:order follows from a coalescer
    for role in ("p", "p2", "s"):
        msgs = room[role].get_received()
        assert [x["args"][0] for x in msgs if x["name"] == "question:remove"] == [{"id": qid}], role
        assert [x for x in msgs if x["name"] == "question:update"] == [], role
        assert [x["args"][0] for x in msgs if x["name"] == "queue:order"] == [{"ids": [keep]}], role
    mod = room["m"].get_received()
    updates = [x["args"][0]["question"] for x in mod if x["name"] == "question:update"]
    assert [(q["id"], q["status"]) for q in updates] == [(qid, "rejected")]
    assert [x["args"][0] for x in mod if x["name"] == "queue:order"] == [{"ids": [keep]}]


def test_reject_pending_question_is_silent_for_the_public(room):
    """Rejecting a pending question tells moderators and the author, nobody else."""
    qid = ask(room["p"])["id"]
    drain(*room.values())
    apply(room["m"], qid, "reject")
    assert names(room["p2"]) == []
    assert names(room["s"]) == []
    assert [x["question"]["status"] for x in received(room["p"], "question:mine")] == ["rejected"]
    assert [x["question"]["status"] for x in received(room["m"], "question:update")] == ["rejected"]


def test_question_mine_follows_status_changes(connect):
    """The author, on every socket of its identity, gets question:mine for each status change."""
    tab1 = connect("participant")
    tab2 = connect("participant", participant=snapshot(tab1)["participant"])
    stranger, m = connect("participant"), connect("moderator")
    for path, statuses in [
        (("approve",), ["approved"]),
        (("reject", "restore"), ["rejected", "pending"]),
        (("approve", "answer", "restore"), ["approved", "answered", "approved"]),
        (("approve", "live", "unlive"), ["approved"]),
    ]:
        qid = ask(tab1)["id"]
        drain(tab1, tab2, stranger)
        apply(m, qid, *path)
        for tab in (tab1, tab2):
            mine = [x["question"] for x in received(tab, "question:mine")]
            assert [x["status"] for x in mine] == statuses, path
            assert {x["id"] for x in mine} == {qid}, path
        assert received(stranger, "question:mine") == [], path


def test_live_moves_on_air(room, client, event):
    """Putting a question live takes the previous one off; at most one is live."""
    first = make(room["p"], room["m"], "live")
    second = make(room["p"], room["m"], "approved")
    drain(*room.values())
    assert apply(room["m"], second, "live")["live"] is True
    for role in ("p2", "s", "m"):
        updates = [x["question"] for x in received(room[role], "question:update")]
        assert {(u["id"], u["live"]) for u in updates} == {(first, False), (second, True)}, role
    assert [q["id"] for q in listed(client, event) if q["live"]] == [second]
    q = apply(room["m"], second, "answer")
    assert (q["status"], q["live"]) == ("answered", False)
    assert [q["id"] for q in listed(client, event) if q["live"]] == []


def test_queue_place_is_kept(room, connect, client, event):
    """Going live or answered keeps a question's place; a rejected one approved again goes last."""
    ids = [make(room["p"], room["m"], "approved") for _ in range(4)]
    apply(room["m"], ids[2], "live")
    apply(room["m"], ids[1], "answer")
    assert public_order(client, event) == ids
    assert [q["id"] for q in snapshot(connect("screen"))["questions"]] == ids
    apply(room["m"], ids[0], "reject", "restore", "approve")
    assert public_order(client, event) == ids[1:] + ids[:1]


def test_two_moderators_approve_the_same_question(connect, client, event):
    """The second approval conflicts; both moderators see the one update."""
    p, m1, m2 = connect("participant"), connect("moderator"), connect("moderator")
    qid = ask(p)["id"]
    drain(m1, m2)
    assert act(m1, qid, "approve")["ok"] is True
    assert "already approved" in assert_error(act(m2, qid, "approve"), "conflict")["message"]
    for m in (m1, m2):
        updates = received(m, "question:update")
        assert [(u["question"]["id"], u["question"]["status"]) for u in updates] == [(qid, "approved")]
    assert by_id(client, event)[qid]["status"] == "approved"


def test_merge_folds_a_duplicate(room, client, event):
    """question:merge hides the duplicate and moves its votes to the target, for everyone to see."""
    target = make(room["p"], room["m"], "approved", text="Trade finance for small exporters?")
    dup = make(room["p2"], room["m"], "approved", text="Trade finance for small exporters please")
    assert room["p"].emit("question:vote", {"id": dup}, callback=True)["ok"]
    drain(*room.values())
    ack = room["m"].emit("question:merge", {"id": dup, "into": target}, callback=True)
    assert ack["ok"] is True
    assert_question(ack["question"], id=dup, status="rejected", merged_into=target)
    assert_question(ack["into"], id=target, votes=1)
    assert broadcast.settle()  # queue:order follows from a coalescer
    for role in ("p", "p2", "s"):
        msgs = room[role].get_received()
        assert [x["args"][0] for x in msgs if x["name"] == "question:remove"] == [{"id": dup}], role
        assert [x["args"][0] for x in msgs if x["name"] == "queue:order"] == [{"ids": [target]}], role
    assert public_order(client, event) == [target]
    assert_error(act(room["m"], dup, "restore"), "conflict")
    assert_error(room["m"].emit("question:merge", {"id": target, "into": target}, callback=True), "invalid")


# --- question:edit -----------------------------------------------------------------


def test_edit_text_and_theme(room, client, event):
    """An edit changes text and/or theme; moderators always hear of it, the public only if published."""
    for state in ("pending", "approved"):
        qid = make(room["p"], room["m"], state, text="Original", theme="finance")
        drain(*room.values())
        ack = room["m"].emit("question:edit", {"id": qid, "text": "  Clearer wording  ",
                                               "theme": "digitalization"}, callback=True)
        assert ack["ok"] is True, state
        assert_question(ack["question"], id=qid, text="Clearer wording", theme="digitalization", status=state)
        stored = by_id(client, event)[qid]
        assert (stored["text"], stored["theme"]) == ("Clearer wording", "digitalization")
        assert [u["question"]["text"] for u in received(room["m"], "question:update")] == ["Clearer wording"]
        public = ["Clearer wording"] if state == "approved" else []
        for role in ("p2", "s"):
            assert [u["question"]["text"] for u in received(room[role], "question:update")] == public, role
    qid = make(room["p"], room["m"], "pending", text="Before", theme="finance")
    q = room["m"].emit("question:edit", {"id": qid, "theme": "other"}, callback=True)["question"]
    assert (q["text"], q["theme"]) == ("Before", "other")
    q = room["m"].emit("question:edit", {"id": qid, "text": "After"}, callback=True)["question"]
    assert (q["text"], q["theme"]) == ("After", "other")


@pytest.mark.parametrize("code, payloads", [
    ("bad_request", [None, ["text"], {"text": "x"}, {"id": "{qid}"}, {"id": "{qid}", "text": 5},
                     {"id": "{qid}", "theme": ["finance"]}]),
    ("invalid", [{"id": "{qid}", "text": ""}, {"id": "{qid}", "text": "   "}, {"id": "{qid}", "text": None},
                 {"id": "{qid}", "text": "x" * 501}, {"id": "{qid}", "theme": "weather"},
                 {"id": "{qid}", "theme": None}, {"id": "{qid}", "text": "Fine", "theme": "weather"}]),
    ("not_found", [{"id": 999999, "text": "x"}, {"id": "{foreign}", "text": "Hijack"}]),
])
def test_edit_refuses_bad_input(connect, client, event, other_event, code, payloads):
    """Invalid edits get an error ack and leave the question as it was."""
    p, m = connect("participant"), connect("moderator")
    qid = make(p, m, "pending", text="Before", theme="finance")
    other = connect("moderator", event=other_event["code"], token=other_event["token"])
    for payload in payloads:
        payload = with_qid(payload, qid)
        if isinstance(payload, dict) and payload.get("id") == "{foreign}":
            # Our question, edited by another event's moderator.
            assert_error(other.emit("question:edit", {**payload, "id": qid}, callback=True), code, payload)
            continue
        assert_error(m.emit("question:edit", payload, callback=True), code, payload)
    stored = by_id(client, event)[qid]
    assert (stored["text"], stored["theme"]) == ("Before", "finance")


# --- queue:reorder -------------------------------------------------------------------


@pytest.fixture
def queue(room):
    """Four approved questions in queue order, and the room."""
    return [make(room["p"], room["m"], "approved") for _ in range(4)], room


def test_reorder_full_list(queue, connect, client, event):
    """A full list sets the display order; queue:order goes to everyone; new approvals go last."""
    ids, room = queue
    drain(*room.values())
    new = list(reversed(ids))
    assert room["m"].emit("queue:reorder", {"ids": new}, callback=True) == {"ok": True, "ids": new}
    assert public_order(client, event) == new
    for role in ("p", "p2", "s", "m"):
        assert received(room[role], "queue:order") == [{"ids": new}], role
    assert [q["id"] for q in snapshot(connect("screen"))["questions"]] == new
    last = make(room["p"], room["m"], "approved")
    assert public_order(client, event) == new + [last]


def test_reorder_partial_list(queue, client, event):
    """A partial list moves only those questions, among the places they held; answered ones count."""
    (a, b, c, d), room = queue
    assert room["m"].emit("queue:reorder", {"ids": [d, a]}, callback=True) == {"ok": True, "ids": [d, b, c, a]}
    assert public_order(client, event) == [d, b, c, a]
    apply(room["m"], c, "answer")
    assert room["m"].emit("queue:reorder", {"ids": [c, b]}, callback=True)["ids"] == [d, c, b, a]
    assert public_order(client, event) == [d, c, b, a]


@pytest.mark.parametrize("code, cases", [
    ("bad_request", [lambda ids, x: None, lambda ids, x: ids, lambda ids, x: {},
                     lambda ids, x: {"ids": []}, lambda ids, x: {"ids": str(ids[0])},
                     lambda ids, x: {"ids": [str(i) for i in ids]}, lambda ids, x: {"ids": [True, False]},
                     lambda ids, x: {"ids": [ids[0], None]}, lambda ids, x: {"ids": [float(ids[0])]}]),
    ("invalid", [lambda ids, x: {"ids": [ids[1], ids[0], ids[1]]}]),
    ("conflict", [lambda ids, x: {"ids": [ids[1], x["pending"]]},
                  lambda ids, x: {"ids": [ids[1], x["rejected"]]}]),
    ("not_found", [lambda ids, x: {"ids": [ids[1], 999999]}, lambda ids, x: {"ids": [ids[1], x["foreign"]]}]),
])
def test_reorder_refuses_bad_input(queue, connect, client, event, other_event, code, cases):
    """Bad reorders get an error ack, leave the order alone and broadcast nothing."""
    ids, room = queue
    foreign_m = connect("moderator", event=other_event["code"], token=other_event["token"])
    extra = {"pending": make(room["p"], room["m"], "pending"),
             "rejected": make(room["p"], room["m"], "rejected"),
             "foreign": make(connect("participant", event=other_event["code"]), foreign_m, "approved")}
    drain(*room.values())
    for case in cases:
        payload = case(ids, extra)
        assert_error(room["m"].emit("queue:reorder", payload, callback=True), code, payload)
    assert public_order(client, event) == ids
    assert received(room["s"], "queue:order") == []


# --- event:update --------------------------------------------------------------------


def test_event_update(room, client, event):
    """event:update changes the event and broadcasts it to everyone; active_theme null clears it."""
    for payload, expected in [
        ({"submissions_open": False}, (False, None)),
        ({"active_theme": "digitalization"}, (False, "digitalization")),
        ({"submissions_open": True, "active_theme": "other"}, (True, "other")),
        ({"active_theme": None}, (True, None)),
    ]:
        ack = room["m"].emit("event:update", payload, callback=True)
        assert ack["ok"] is True, payload
        assert (ack["event"]["submissions_open"], ack["event"]["active_theme"]) == expected, payload
        for role in ("p", "p2", "s", "m"):
            msgs = received(room[role], "event:update")
            assert len(msgs) == 1, (role, payload)
            assert EVENT_KEYS <= set(msgs[0]["event"])
            assert (msgs[0]["event"]["submissions_open"], msgs[0]["event"]["active_theme"]) == expected
        got = event_state(client, event)
        assert (got["submissions_open"], got["active_theme"]) == expected, payload


@pytest.mark.parametrize("code, payloads", [
    ("bad_request", [None, [True], "close", {}, {"title": "New"}, {"submissions_open": "no"},
                     {"submissions_open": 0}, {"submissions_open": None}]),
    ("invalid", [{"active_theme": "weather"}, {"active_theme": ["finance"]}, {"active_theme": 3},
                 {"active_theme": ""}, {"submissions_open": False, "active_theme": "weather"},
                 {"moderation": "none"}]),
])
def test_event_update_refuses_bad_input(room, client, event, code, payloads):
    """Bad event:update messages get an error ack, change nothing and broadcast nothing."""
    assert room["m"].emit("event:update", {"active_theme": "finance"}, callback=True)["ok"]
    before = event_state(client, event)
    drain(*room.values())
    for payload in payloads:
        assert_error(room["m"].emit("event:update", payload, callback=True), code, payload)
    assert event_state(client, event) == before
    assert (before["submissions_open"], before["active_theme"]) == (True, "finance")
    assert received(room["s"], "event:update") == []


# --- roles and unknown events ----------------------------------------------------------


MODERATOR_ATTEMPTS = [
    ("question:moderate", lambda ids: {"id": ids[0], "action": "reject"}),
    ("question:edit", lambda ids: {"id": ids[0], "text": "Hijacked"}),
    ("question:merge", lambda ids: {"id": ids[1], "into": ids[0]}),
    ("question:similar", lambda ids: {"id": ids[0]}),
    ("queue:reorder", lambda ids: {"ids": list(reversed(ids))}),
    ("event:update", lambda ids: {"submissions_open": False, "active_theme": "other"}),
]


@pytest.mark.parametrize("role", ["participant", "screen"])
def test_moderator_events_forbidden_to_others(connect, client, event, role):
    """Participants and screens calling a moderator event get forbidden and change nothing."""
    p, m = connect("participant"), connect("moderator")
    ids = [make(p, m, "approved"), make(p, m, "approved")]
    caller = connect(role)
    before_q, before_ev = listed(client, event), event_state(client, event)
    drain(m, p)
    for name, make_payload in MODERATOR_ATTEMPTS:
        assert_error(caller.emit(name, make_payload(ids), callback=True), "forbidden", name)
    assert listed(client, event) == before_q
    assert event_state(client, event) == before_ev
    assert names(m) == [] and names(p) == []


@pytest.mark.parametrize("role", ["moderator", "screen"])
def test_participant_events_forbidden_to_others(connect, client, event, role):
    """Only participants submit and vote."""
    p, m = connect("participant"), connect("moderator")
    qid = make(p, m, "approved")
    caller = connect(role)
    assert_error(caller.emit("question:vote", {"id": qid}, callback=True), "forbidden")
    assert_error(caller.emit("question:submit", _submit(), callback=True), "forbidden")
    assert {q["id"]: q["votes"] for q in listed(client, event)} == {qid: 0}


def test_unknown_event_name(connect):
    """An unknown event name gets a bad_request ack naming it, whatever the role."""
    for role in ("participant", "moderator", "screen"):
        c = connect(role)
        for name in ("question:delete", "admin", "snapshot", "QUESTION:SUBMIT"):
            error = assert_error(c.emit(name, {"id": 1}, callback=True), "bad_request", (role, name))
            assert name in error["message"]


@pytest.mark.parametrize("field, value, joins", [
    ("event", "\ud800", False), ("event", "MSME\x00", False), ("role", "\udfff", False),
    ("token", "\ud800", False), ("participant", "\ud800", True), ("participant", "x.y\x00", True),
    ("lang", "\ud800", True),
])
def test_connect_with_text_that_cannot_be_encoded(app, client, event, field, value, joins):
    """Auth values no encoder takes (a lone surrogate, NUL) are refused with a message, or, for
    an identity or a language, ignored: never an exception inside the connect handler."""
    auth = {"event": event["code"], "role": "moderator" if field == "token" else "participant", field: value}
    c = socketio.test_client(app, auth=auth, flask_test_client=client)
    try:
        assert c.is_connected() is joins
        if joins:
            snap = received(c, "snapshot")[0]
            assert snap["participant"] != value  # a fresh, signed identity
    finally:
        if c.is_connected():
            c.disconnect()


def _metrics(client) -> str:
    return client.get("/metrics").get_data(as_text=True)


def test_client_cannot_run_the_servers_lifecycle_handlers(app, client, connect, event):
    """Events a client names `connect`, `disconnect` or `*` are refused, and change nothing:
    not the head count the desk sees, not the per-address count, not /metrics' labels."""
    p = connect("participant")
    other = connect("participant")
    before = presence.counts(event["id"])
    assert before["participants"] == 2
    auth = {"event": event["code"], "role": "participant"}
    for i in range(50):
        # Flask-SocketIO reads a connect's auth as its second argument: both shapes.
        for args in ((auth,), ({}, auth)):
            error = assert_error(p.emit("connect", *args, callback=True), "bad_request")
            assert "connect" in error["message"]
        assert_error(p.emit("disconnect", f"hostile reason {i}", callback=True), "bad_request")
        assert_error(p.emit("*", other.eio_sid, {"id": 1}, callback=True), "bad_request")
    assert presence.counts(event["id"]) == before
    assert p.is_connected() and other.is_connected()
    # The same socket still works, and its real departure is counted once, with a real reason.
    assert ask(p)["status"] == "pending"
    p.disconnect()
    assert presence.counts(event["id"])["participants"] == 1
    text = _metrics(client)
    assert "hostile reason" not in text
    reasons = {line.split('reason="')[1].split('"')[0] for line in text.splitlines()
               if line.startswith("qa_socket_disconnects_total{")}
    assert reasons <= {"client disconnect", "server disconnect", "ping timeout", "transport close",
                       "transport error", "unknown"}


@pytest.mark.parametrize("name", [123, None, {"a": 1}, ["x"], 1.5, True])
def test_event_names_that_are_not_strings_are_refused(connect, event, name):
    """A packet whose event name is not a string gets a clear error ack, and no traceback."""
    p = connect("participant")
    error = assert_error(p.emit(name, {"id": 1}, callback=True), "bad_request", name)
    assert "name" in error["message"]
    assert presence.counts(event["id"])["participants"] == 1


# --- isolation between events ----------------------------------------------------------


def test_nothing_leaks_to_another_event(connect, other_event):
    """Activity in one event sends nothing to another event's participants, screens or moderators."""
    outsiders = [connect("participant", event=other_event["code"]),
                 connect("screen", event=other_event["code"]),
                 connect("moderator", event=other_event["code"], token=other_event["token"])]
    p, voter, m = connect("participant"), connect("participant"), connect("moderator")
    drain(*outsiders)
    q1, q2 = make(p, m, "approved"), make(p, m, "live")
    make(p, m, "rejected")
    assert voter.emit("question:vote", {"id": q1}, callback=True)["ok"]
    assert m.emit("question:edit", {"id": q2, "text": "Edited"}, callback=True)["ok"]
    assert m.emit("queue:reorder", {"ids": [q2, q1]}, callback=True)["ok"]
    assert m.emit("event:update", {"submissions_open": False}, callback=True)["ok"]
    apply(m, q1, "reject")
    wait_for(p, "votes", lambda v: v["counts"].get(str(q1)) == 1)
    for c in outsiders:
        got = [x["name"] for x in c.get_received() if x["name"] != "presence"]
        assert got == [], got
    for role, auth in (("participant", {}), ("screen", {}), ("moderator", {"token": other_event["token"]})):
        snap = snapshot(connect(role, event=other_event["code"], **auth))
        assert snap["questions"] == [], role
        assert snap["event"]["submissions_open"] is True, role


# ---- Blocking an author, a rotated token seen from another process ---------------------------


def test_block_author_refuses_their_next_question_and_tells_every_desk(connect, event):
    p, other, m, m2 = connect("participant"), connect("participant"), connect("moderator"), connect("moderator")
    first = ask(p)
    drain(m, m2)
    ack = m.emit("participant:block", {"id": first["id"]}, callback=True)
    assert ack == {"ok": True, "id": first["id"], "blocked": True}
    assert wait_for(m2, "participant:blocked") == {"ids": [first["id"]], "blocked": True}
    refused = p.emit("question:submit", {"client_id": "next", "theme": "finance", "text": "Again?"}, callback=True)
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
    assert refused["error"]["message"]
    ask(other)  # only that participant is stopped
    assert m.emit("participant:block", {"id": first["id"], "blocked": False}, callback=True)["blocked"] is False
    ask(p)


@pytest.mark.parametrize("payload", [None, [], {"id": "1"}, {"id": 10**9}, {"id": 1, "blocked": None}])
def test_block_refuses_bad_payloads(connect, payload):
    m = connect("moderator")
    ack = m.emit("participant:block", payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] in ("bad_request", "not_found")


def test_only_a_moderator_can_block(connect):
    p = connect("participant")
    q = ask(p)
    ack = p.emit("participant:block", {"id": q["id"]}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"


def test_token_rotated_elsewhere_refuses_and_drops_the_old_moderator(app, connect, event):
    """Another process rotated the token: this process's old moderator socket is refused at
    its next action and disconnected, without any message from that process."""
    p, m = connect("participant"), connect("moderator")
    q = ask(p)
    with app.app_context():
        db.session.get(Event, event["id"]).moderator_token = "rotated-elsewhere"
        db.session.commit()
    ack = act(m, q["id"], "approve")
    assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
    assert wait_until(lambda: not m.is_connected())
    assert by_id_status(app, q["id"]) == "pending"


def by_id_status(app, qid: int) -> str:
    with app.app_context():
        return db.session.get(Question, qid).status
