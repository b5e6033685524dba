"""Asking and voting, and the lists each role may see."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..constants import PUBLIC_STATUSES, QUESTION_STATUSES
from ..models import BlockedParticipant, Event, Question, QuestionHistory, Vote
from .errors import N_, DomainError
from .events import NAME_LIMIT, TEXT_LIMIT, open_theme_keys, theme_keys
from .labels import labels_of
from .profanity import flag_for
from .translations import detect_language
from .transactions import begin_write, lock_event
from .validation import get_bool, get_int, get_str, require_object

# Under these names for the modules that use them (broadcast, sockets, metrics).
PUBLIC, STATUSES = PUBLIC_STATUSES, QUESTION_STATUSES
CLIENT_ID_LIMIT = 64


def iso(dt) -> str:
    return dt.isoformat(timespec="milliseconds") + "Z"


def question_to_dict(q: Question) -> dict:
    out = {
        "id": q.id,
        "theme": q.theme,
        "text": q.text,
        "name": q.name,
        "status": q.status,
        "votes": q.votes,
        "live": q.live,
        "created_at": iso(q.created_at),
        "language": q.language,
    }
    if q.merged_into is not None:
        out["merged_into"] = q.merged_into
    if q.flag is not None:
        out["flag"] = q.flag
    out["reply"] = reply_to_dict(q) if q.reply_public else None
    return out


def reply_to_dict(q: Question) -> dict | None:
    """A moderator's written answer, public or not: only for the asker and the moderators."""
    if q.reply_text is None:
        return None
    return {"text": q.reply_text, "public": bool(q.reply_public),
            "at": iso(q.replied_at) if q.replied_at is not None else None}


def question_for_asker(q: Question) -> dict:
    """The question as its asker sees it: the reply even when it is not public."""
    out = question_to_dict(q)
    out["reply"] = reply_to_dict(q)
    out["mine"] = True
    return out


def question_for_moderators(q: Question) -> dict:
    """The question with what only moderators see: a private reply, labels and the star."""
    out = question_to_dict(q)
    out["reply"] = reply_to_dict(q)
    out["labels"] = labels_of(q)
    out["starred"] = bool(q.starred)
    return out


def _display_order(stmt):
    # Public questions in queue order; the rest (never approved) after, oldest first.
    return stmt.order_by(Question.position.is_(None), Question.position, Question.id)


def public_questions(session: Session, event_id: int) -> list[Question]:
    stmt = select(Question).where(Question.event_id == event_id, Question.status.in_(PUBLIC))
    return list(session.scalars(_display_order(stmt)))


def all_questions(session: Session, event_id: int) -> list[Question]:
    stmt = select(Question).where(Question.event_id == event_id)
    return list(session.scalars(_display_order(stmt)))


def public_ids(session: Session, event_id: int) -> list[int]:
    stmt = select(Question.id).where(Question.event_id == event_id, Question.status.in_(PUBLIC))
    return list(session.scalars(_display_order(stmt)))


def participant_view(session: Session, event_id: int, participant_id: str) -> list[dict]:
    """The public questions and the participant's own, flagged `mine` and `voted`."""
    stmt = select(Question).where(
        Question.event_id == event_id,
        or_(Question.status.in_(PUBLIC), Question.participant_id == participant_id),
    )
    voted = set(
        session.scalars(
            select(Vote.question_id)
            .join(Question, Question.id == Vote.question_id)
            .where(Question.event_id == event_id, Vote.participant_id == participant_id)
        )
    )
    out = []
    for q in session.scalars(_display_order(stmt)):
        item = question_for_asker(q) if q.participant_id == participant_id else question_to_dict(q)
        if q.id in voted:
            item["voted"] = True
        out.append(item)
    return out


def question_total(session: Session, event_id: int) -> int:
    """How many questions the event has received, whatever their status."""
    return session.scalar(select(func.count(Question.id)).where(Question.event_id == event_id)) or 0


def next_position(session: Session, event_id: int) -> int:
    top = session.scalar(select(func.max(Question.position)).where(Question.event_id == event_id))
    return (top or 0) + 1


def questions_of_author(session: Session, event_id: int, participant_id: str) -> list[int]:
    return list(session.scalars(
        select(Question.id).where(Question.event_id == event_id, Question.participant_id == participant_id)
        .order_by(Question.id)
    ))


def moderator_view(session: Session, event_id: int) -> list[dict]:
    """Every question; pending ones carry `similar`, the closest questions already in the event,
    and those whose author a moderator blocked carry `author_blocked`."""
    from .similarity import similar_to_many

    blocked = set(session.scalars(
        select(BlockedParticipant.participant_id).where(BlockedParticipant.event_id == event_id)
    ))
    every = all_questions(session, event_id)
    similar = similar_to_many(session, event_id, [q for q in every if q.status == "pending"])
    out = []
    for q in every:
        item = question_for_moderators(q)
        if q.participant_id in blocked:
            item["author_blocked"] = True
        if q.id in similar:
            item["similar"] = similar[q.id]
        out.append(item)
    return out


def get_question(session: Session, event_id: int, question_id: int) -> Question:
    q = session.get(Question, question_id)
    # Another event's question is reported as unknown: nothing leaks across events.
    if q is None or q.event_id != event_id:
        raise DomainError("not_found", "No question %(id)d in this event.", "id", id=question_id)
    return q


def add_history(session: Session, question: Question, action: str, detail: str = "") -> None:
    session.add(QuestionHistory(question_id=question.id, action=action, detail=detail))


@dataclass
class Submitted:
    question: Question
    created: bool


@dataclass(frozen=True)
class SubmitRequest:
    """A submission whose payload has been read; what it asks of its event is checked when stored."""
    event_id: int
    participant_id: str
    client_id: str
    theme: str = ""
    text: str = ""
    name: str | None = None
    language: str | None = None
    flag: str | None = None
    # A bad field is reported only if client_id is new: resending an acked question returns it.
    error: DomainError | None = None

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.event_id, self.participant_id, self.client_id)


def parse_submission(event_id: int, participant_id: str, payload: Any, *, language: str | None = None,
                     profanity_filter: bool = False) -> SubmitRequest:
    """Read a submission's payload. `language` is the asker's page language, the answer when
    the text's own cannot be told; with `profanity_filter` a question holding a listed word
    is flagged and waits for a moderator, whatever the event's moderation mode."""
    payload = require_object(payload)
    client_id = get_str(payload, "client_id", max_len=CLIENT_ID_LIMIT, label=N_("client id"))
    try:
        theme = get_str(payload, "theme", max_len=40, label=N_("theme"))
        text = get_str(payload, "text", max_len=TEXT_LIMIT, label=N_("question"))
        name = get_str(payload, "name", required=False, max_len=NAME_LIMIT, label=N_("name"))
    except DomainError as exc:
        return SubmitRequest(event_id, participant_id, client_id, error=exc)
    language = detect_language(text, language)
    flag = flag_for(text, language) if profanity_filter else None
    return SubmitRequest(event_id, participant_id, client_id, theme, text, name, language, flag)


def submit(session: Session, event: Event, participant_id: str, payload: Any, *,
           language: str | None = None, profanity_filter: bool = False) -> Submitted:
    """Store a participant's question, once per client_id; commits before returning."""
    request = parse_submission(event.id, participant_id, payload, language=language,
                               profanity_filter=profanity_filter)
    (outcome,) = submit_batch(session, [request])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def submit_batch(session: Session, requests: list[SubmitRequest]) -> list[Submitted | DomainError]:
    """Store submissions in one transaction, each once per client_id: each gets its question
    (created or already there) or its own error, as if stored one by one in order.

    Questions pouring in were one transaction each: a commit, and the event, the asker's
    earlier question and the block list read again per question. If the same client_id
    raced in from another connection meanwhile, the batch is stored again one by one.
    """
    return _together_else_one_by_one(session, requests, _store_submissions, _already_submitted)


def _already_submitted(session: Session, r: SubmitRequest) -> Submitted | None:
    """The same client_id stored by another connection meanwhile: it is the asker's question."""
    existing = _submitted_before(session, [r]).get(r.key)
    session.rollback()
    return Submitted(existing, created=False) if existing is not None else None


def _together_else_one_by_one(session: Session, requests: list, apply: Callable[[Session, list], list],
                              settle: Callable[[Session, Any], Any]) -> list:
    """`apply` the batch in one transaction. If a concurrent writer (another process, PostgreSQL)
    stored the same row meanwhile, a batch is applied again one request at a time, so that only
    that request is affected; a single one is `settle`d from what the other writer stored
    (None: nothing explains the conflict, which is raised)."""
    if not requests:
        return []
    try:
        return apply(session, requests)
    except IntegrityError:
        session.rollback()
        if len(requests) == 1:
            settled = settle(session, requests[0])
            if settled is None:
                raise
            return [settled]
        return [_together_else_one_by_one(session, [r], apply, settle)[0] for r in requests]


# Built once: a statement made per batch left ~60 objects per submission in reference cycles
# (SQLAlchemy's bind parameters and labels), and their collection paused the process for
# 100-150 ms in a submission burst (docs/benchmarks.md, fourth pass).
_SUBMITTED_BEFORE = select(Question).where(
    Question.event_id.in_(bindparam("event_ids", expanding=True)),
    Question.participant_id.in_(bindparam("pids", expanding=True)),
    Question.client_id.in_(bindparam("client_ids", expanding=True)),
)
_BLOCKED_AMONG = select(BlockedParticipant.event_id, BlockedParticipant.participant_id).where(
    BlockedParticipant.event_id.in_(bindparam("event_ids", expanding=True)),
    BlockedParticipant.participant_id.in_(bindparam("pids", expanding=True)),
)


def _submitted_before(session: Session, requests: list[SubmitRequest]) -> dict[tuple[int, str, str], Question]:
    found = session.scalars(_SUBMITTED_BEFORE, {
        "event_ids": sorted({r.event_id for r in requests}),
        "pids": sorted({r.participant_id for r in requests}),
        "client_ids": sorted({r.client_id for r in requests}),
    })
    return {(q.event_id, q.participant_id, q.client_id): q for q in found}


def _store_submissions(session: Session, requests: list[SubmitRequest]) -> list[Submitted | DomainError]:
    event_ids = sorted({r.event_id for r in requests})
    begin_write(session)
    for event_id in event_ids:  # PostgreSQL: serialised per event (positions), in id order
        lock_event(session, event_id)
    events = {event_id: session.get(Event, event_id) for event_id in event_ids}
    stored = _submitted_before(session, requests)
    blocked = {tuple(row) for row in session.execute(
        _BLOCKED_AMONG, {"event_ids": event_ids, "pids": sorted({r.participant_id for r in requests})})}
    positions: dict[int, int] = {}
    outcomes: list[Submitted | DomainError] = []
    for r in requests:
        if r.key in stored:
            outcomes.append(Submitted(stored[r.key], created=False))
            continue
        event = events[r.event_id]
        try:
            if r.error is not None:
                raise r.error
            if event is None:
                raise DomainError("not_found", "This event no longer exists.")
            name = _check_submission(event, r, (r.event_id, r.participant_id) in blocked)
        except DomainError as exc:
            outcomes.append(exc)
            continue
        question = Question(event_id=event.id, participant_id=r.participant_id, client_id=r.client_id,
                            theme=r.theme, text=r.text, name=name, status="pending", language=r.language,
                            flag=r.flag)
        if event.moderation == "post" and r.flag is None:
            # Post-moderation: public at once, at the end of the queue; moderators may still reject.
            question.status = "approved"
            if event.id not in positions:
                positions[event.id] = next_position(session, event.id)
            else:
                positions[event.id] += 1
            question.position = positions[event.id]
        session.add(question)
        stored[r.key] = question  # the same client_id again in this batch gets this question
        outcomes.append(Submitted(question, created=True))
    session.commit()
    return outcomes


def _check_submission(event: Event, r: SubmitRequest, blocked: bool) -> str | None:
    """What the event asks of a new question, in the order errors are reported; its name."""
    if r.theme not in theme_keys(event):
        raise DomainError("invalid", "Unknown theme “%(theme)s”.", "theme", theme=r.theme)
    if r.theme not in open_theme_keys(event):
        raise DomainError("invalid", "The theme “%(theme)s” takes no more questions; pick another.", "theme",
                          theme=r.theme)
    if event.names_policy == "asked" and not r.name:
        raise DomainError("invalid", "Please give your name with your question.", "name")
    if not event.submissions_open:
        raise DomainError("closed", "Submissions are closed for this event.")
    if blocked:
        raise DomainError("forbidden", "A moderator has stopped you from asking more questions in this event.")
    return None if event.names_policy == "hidden" else r.name  # hidden: every question is anonymous


@dataclass
class Voted:
    question_id: int
    votes: int
    changed: bool


@dataclass(frozen=True)
class VoteRequest:
    event_id: int
    participant_id: str
    question_id: int
    up: bool


def parse_vote(event_id: int, participant_id: str, payload: Any) -> VoteRequest:
    """Check a vote's payload; what it votes on is checked when it is written."""
    payload = require_object(payload)
    return VoteRequest(event_id, participant_id, get_int(payload, "id"), get_bool(payload, "up", default=True))


# A vote storm is a thousand votes a second: votes that arrive together are written in one
# transaction with plain Core statements, built once (docs/benchmarks.md, "What changed").
# One commit per vote was a fifth of the storm's CPU and capped it near 400 votes a second.
_Q, _V = Question.__table__, Vote.__table__
_VOTE_TARGETS = select(_Q.c.id, _Q.c.event_id, _Q.c.status, _Q.c.votes).where(
    _Q.c.id.in_(bindparam("qids", expanding=True)))
_VOTES_CAST = select(_V.c.question_id, _V.c.participant_id).where(
    _V.c.question_id.in_(bindparam("qids", expanding=True)),
    _V.c.participant_id.in_(bindparam("pids", expanding=True)))
_VOTE_ADD = _V.insert()  # created_at: the column's default
_VOTE_TAKE_BACK = _V.delete().where(
    (_V.c.question_id == bindparam("qid")) & (_V.c.participant_id == bindparam("pid")))
_VOTE_COUNT = (  # updated_at: the column's onupdate, which public_version (snapshot.py) relies on
    _Q.update().where(_Q.c.id == bindparam("qid")).values(votes=_Q.c.votes + bindparam("delta"))
    .returning(_Q.c.votes)
)


def vote_batch(session: Session, requests: list[VoteRequest]) -> list[Voted | DomainError]:
    """Apply votes in order, in one transaction: each gets its outcome or its own error.

    Exact and idempotent per (participant, question), as if applied one by one; the
    count each outcome carries is the question's count when the batch commits. If a
    concurrent writer (another process, PostgreSQL) inserted the same vote, the batch
    is applied again one vote at a time so that only that vote is affected.
    """
    return _together_else_one_by_one(session, requests, _apply_votes, _already_voted)


def _already_voted(session: Session, r: VoteRequest) -> Voted | DomainError:
    """The concurrent identical vote won: it is counted, nothing changed here."""
    row = session.execute(_VOTE_TARGETS, {"qids": [r.question_id]}).first()
    session.rollback()
    if row is None:  # deleted meanwhile, with its event
        return DomainError("not_found", "No question %(id)d in this event.", "id", id=r.question_id)
    return Voted(r.question_id, row.votes, False)


def _apply_votes(session: Session, requests: list[VoteRequest]) -> list[Voted | DomainError]:
    begin_write(session)
    conn = session.connection()
    qids = sorted({r.question_id for r in requests})
    targets = {row.id: row for row in conn.execute(_VOTE_TARGETS, {"qids": qids})}
    cast = {tuple(row) for row in conn.execute(
        _VOTES_CAST, {"qids": qids, "pids": sorted({r.participant_id for r in requests})})}
    before = set(cast)
    delta: dict[int, int] = {}
    outcomes: list[tuple[VoteRequest, bool] | DomainError] = []
    for r in requests:
        row = targets.get(r.question_id)
        # Another event's question is reported as unknown: nothing leaks across events.
        if row is None or row.event_id != r.event_id:
            outcomes.append(DomainError("not_found", "No question %(id)d in this event.", "id", id=r.question_id))
            continue
        if row.status not in PUBLIC:
            outcomes.append(DomainError("conflict", "Only published questions can be voted on.", "id"))
            continue
        key = (r.question_id, r.participant_id)
        if r.up == (key in cast):  # already counted, or nothing to take back
            outcomes.append((r, False))
            continue
        (cast.add if r.up else cast.discard)(key)
        delta[r.question_id] = delta.get(r.question_id, 0) + (1 if r.up else -1)
        outcomes.append((r, True))
    # Only the net change is written: a vote cast and taken back in one batch writes no row.
    if before - cast:
        conn.execute(_VOTE_TAKE_BACK, [{"qid": q, "pid": p} for q, p in sorted(before - cast)])
    if cast - before:
        conn.execute(_VOTE_ADD, [{"question_id": q, "participant_id": p} for q, p in sorted(cast - before)])
    counts = {qid: row.votes for qid, row in targets.items()}
    for qid in sorted(delta):  # one UPDATE per question, in id order (no deadlock between writers)
        if delta[qid]:
            counts[qid] = conn.execute(_VOTE_COUNT, {"qid": qid, "delta": delta[qid]}).scalar_one()
    session.commit()
    return [o if isinstance(o, DomainError) else Voted(o[0].question_id, counts[o[0].question_id], o[1])
            for o in outcomes]


def vote(session: Session, event_id: int, participant_id: str, payload: Any) -> Voted:
    """Add (or with up=false take back) one participant's vote; exact and idempotent."""
    (outcome,) = vote_batch(session, [parse_vote(event_id, participant_id, payload)])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


_COUNTS = select(Question.id, Question.votes).where(Question.id.in_(bindparam("ids", expanding=True)))
_BY_IDS = select(Question).where(Question.id.in_(bindparam("ids", expanding=True))).order_by(Question.id)


def vote_counts(session: Session, question_ids: list[int]) -> dict[str, int]:
    if not question_ids:
        return {}
    rows = session.execute(_COUNTS, {"ids": list(question_ids)})
    return {str(qid): votes for qid, votes in rows}


def questions_by_id(session: Session, question_ids) -> list[Question]:
    """These questions, in id order (a burst of new ones, for the moderators)."""
    return list(session.scalars(_BY_IDS, {"ids": sorted(question_ids)}))
