"""Property-based tests: any payload gets an ack, and the stored state always stays valid.

The state machine drives submit, moderate, reorder, vote and merge at random
against a simple model; its invariant is that the public list is exactly the
approved and answered questions in moderator order, with exact vote counts.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from qa.domain import events, moderation, questions
from qa.domain.errors import DomainError
from qa.extensions import db
from qa.models import Question, Vote

EVENT_NAMES = ["question:submit", "question:vote", "question:moderate", "question:edit", "question:merge",
               "question:similar", "queue:reorder", "event:update", "participant:block", "no:such-event"]
KEYS = ["client_id", "theme", "text", "name", "id", "up", "action", "into", "ids", "blocked",
        "submissions_open", "active_theme", "moderation"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=30), st.text(min_size=480, max_size=620),
    st.sampled_from(["finance", "other", "approve", "live", "reject", "post", "pre", "restore", "1", ""]),
    st.integers(min_value=0, max_value=6),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
payloads = st.one_of(values, st.dictionaries(st.sampled_from(KEYS), values, max_size=6))


def check_state(session, event_id: int) -> None:
    """What must hold of the stored questions whatever happened."""
    qs = session.scalars(select(Question).where(Question.event_id == event_id)).all()
    assert all(q.status in questions.STATUSES for q in qs)
    live = [q for q in qs if q.live]
    assert len(live) <= 1 and all(q.status in questions.PUBLIC for q in live)
    public_positions = [q.position for q in qs if q.status in questions.PUBLIC]
    assert None not in public_positions and len(set(public_positions)) == len(public_positions)
    for q in qs:
        stored = session.scalar(select(func.count()).select_from(Vote).where(Vote.question_id == q.id))
        assert q.votes == stored, (q.id, q.votes, stored)
        assert 1 <= len(q.text) <= 500
        if q.merged_into is not None:
            assert q.status == "rejected"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(EVENT_NAMES), payload=payloads, role=st.sampled_from(["participant", "moderator", "screen"]))
def test_every_event_acks_every_payload(app, connect, event, name, payload, role):
    c = connect(role)
    ack = c.emit(name, payload, callback=True)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        assert isinstance(ack["error"]["code"], str) and isinstance(ack["error"]["message"], str)
        assert ack["error"]["code"] != "internal", ack
    with app.app_context():
        check_state(db.session, event["id"])
    c.disconnect()


class QueueModel(RuleBasedStateMachine):
    """The contract's rules written the simplest way, checked against the real ones."""

    def __init__(self, app):
        super().__init__()
        self.app = app
        self.ctx = app.app_context()
        self.ctx.push()
        self.session = db.session
        self.event = events.create_event(self.session, {"title": "Model"})
        self.status: dict[int, str] = {}
        self.live: int | None = None
        self.voters: dict[int, set[str]] = {}
        self.order: list[int] = []  # public ids in display order
        self.merged: dict[int, int] = {}
        self.n = 0

    def teardown(self):
        self.session.close()
        self.ctx.pop()

    @initialize()
    def seed(self):
        for _ in range(3):
            self.submit()

    def _ids(self):
        return sorted(self.status)

    @rule()
    def submit(self):
        self.n += 1
        q = questions.submit(self.session, self.event, f"author{self.n % 3}",
                             {"client_id": str(self.n), "theme": "other", "text": f"Question {self.n}"}).question
        self.status[q.id] = "pending"
        self.voters[q.id] = set()

    @rule(pick=st.integers(0, 50),
          action=st.sampled_from(["approve", "reject", "answer", "live", "unlive", "restore"]))
    def moderate(self, pick, action):
        qid = self._ids()[pick % len(self.status)]
        s, is_live = self.status[qid], self.live == qid
        new = None
        if action == "approve" and s == "pending":
            new = "approved"
            self.order.append(qid)
        elif action == "reject" and s != "rejected":
            new = "rejected"
            if qid in self.order:
                self.order.remove(qid)
        elif action == "answer" and s == "approved":
            new = "answered"
        elif action == "live" and s in questions.PUBLIC and not is_live:
            new = s
            self.live = qid
        elif action == "unlive" and is_live:
            new = s
            self.live = None
        elif action == "restore" and s in ("rejected", "answered") and qid not in self.merged:
            new = "pending" if s == "rejected" else "approved"
        try:
            moderation.moderate(self.session, self.event.id, {"id": qid, "action": action})
            assert new is not None, f"{action} on {s} should have been refused"
        except DomainError as exc:
            assert new is None and exc.code == "conflict", (action, s, exc.message)
            return
        self.status[qid] = new
        if action in ("reject", "answer") and self.live == qid:
            self.live = None

    @rule(data=st.data())
    def reorder(self, data):
        if not self.order:
            return
        subset = data.draw(st.lists(st.sampled_from(self.order), min_size=1, unique=True))
        shuffled = data.draw(st.permutations(subset))
        moderation.reorder(self.session, self.event.id, {"ids": list(shuffled)})
        slots = sorted(self.order.index(i) for i in subset)
        for slot, qid in zip(slots, shuffled):
            self.order[slot] = qid

    @rule(pick=st.integers(0, 50), voter=st.integers(0, 4), up=st.booleans())
    def vote(self, pick, voter, up):
        qid = self._ids()[pick % len(self.status)]
        try:
            result = questions.vote(self.session, self.event.id, f"v{voter}", {"id": qid, "up": up})
        except DomainError as exc:
            assert self.status[qid] not in questions.PUBLIC and exc.code == "conflict"
            return
        assert self.status[qid] in questions.PUBLIC
        (self.voters[qid].add if up else self.voters[qid].discard)(f"v{voter}")
        assert result.votes == len(self.voters[qid])

    @rule(a=st.integers(0, 50), b=st.integers(0, 50))
    def merge(self, a, b):
        ids = self._ids()
        dup, target = ids[a % len(ids)], ids[b % len(ids)]
        allowed = dup != target and dup not in self.merged and target not in self.merged
        try:
            moderation.merge(self.session, self.event.id, {"id": dup, "into": target})
        except DomainError:
            assert not allowed
            return
        assert allowed
        self.merged[dup] = target
        self.voters[target] |= self.voters[dup]
        self.voters[dup] = set()
        self.status[dup] = "rejected"
        if dup in self.order:
            self.order.remove(dup)
        if self.live == dup:
            self.live = None

    @invariant()
    def public_list_matches(self):
        public = questions.public_questions(self.session, self.event.id)
        assert [q.id for q in public] == self.order
        assert all(self.status[q.id] in questions.PUBLIC for q in public)
        assert {q.id for q in public} == {i for i, s in self.status.items() if s in questions.PUBLIC}
        for q in questions.all_questions(self.session, self.event.id):
            assert q.status == self.status[q.id]
            assert q.votes == len(self.voters[q.id])
            assert q.live == (self.live == q.id)
        check_state(self.session, self.event.id)


def test_queue_state_machine(app):
    run_state_machine_as_test(
        lambda: QueueModel(app),
        settings=settings(max_examples=25, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture]),
    )
