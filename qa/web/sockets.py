"""Socket.IO handlers: authenticate, call the domain, broadcast the outcome."""
from __future__ import annotations

import functools
import math
import hmac
from typing import Any, Callable

from flask import current_app, request
from flask_babel import gettext
from flask_socketio import ConnectionRefusedError, SocketIO, join_room
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..batching import GroupCommit
from ..constants import ROLES
from ..domain import events as events_domain
from ..domain import moderation, questions, similarity, validation
from ..domain.errors import N_, DomainError
from ..domain.identity import new_participant, participant_token, verify_participant
from ..domain.snapshot import participant_view
from ..extensions import db, socketio
from ..i18n import SOCKET_LANGUAGE, use_language
from ..models import Event
from ..ratelimit import is_loopback
from . import broadcast, inbound, speedups
from .join_cache import event_cache, public_list
from .presence import Client, presence
from .rooms import everyone, moderators, participant
from . import metrics
from .metrics import counted_acks

# The database refused, failed or (PoolTimeout) had no pooled connection free within 10 s:
# the client gets a retryable `unavailable`, and nothing was changed.
DATABASE_BUSY = (DBAPIError, PoolTimeout)
# Of those, the ones about the database rather than one request: a group write that fails
# so fails for all its requests at once (qa/batching.py writes the others apart).
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
ONLY_ROLE = {
    "participant": N_("Only a participant can send '%(event)s'."),
    "moderator": N_("Only a moderator can send '%(event)s'."),
}


# Messages are gettext msgids, answered in the socket's language (auth `lang`; see qa/i18n.py).
def _refuse(code: str, message: str, **params: Any) -> ConnectionRefusedError:
    return ConnectionRefusedError(gettext(message, **params), {"code": code})


def error_ack(code: str, message: str, **params: Any) -> dict:
    return {"ok": False, "error": {"code": code, "message": gettext(message, **params)}}


def init_app(app) -> None:
    speedups.install_socketio_routes(app, _no_socketio_here)
    app.extensions[SOCKET_LANGUAGE] = _language_of


def _language_of(sid: str) -> str | None:
    """The language a connection chose in its connect auth, for qa/i18n.py's locale selector."""
    client = presence.clients.get(sid)
    return client.lang if client is not None else None


def _no_socketio_here():
    raise DomainError("bad_request", N_("This address is for Socket.IO clients."))


@socketio.on("connect")
def on_connect(auth: Any = None):
    try:
        _join(auth)
    except DATABASE_BUSY as exc:
        # A join storm on PostgreSQL can wait out the pool: refuse with a retryable error
        # (the pages reconnect by themselves) rather than fail with a traceback.
        db.session.rollback()
        current_app.logger.warning("connect refused, database busy: %s", exc.__class__.__name__)
        raise _refuse("unavailable", "The database is busy; please try again.")


def _text(value: Any) -> str | None:
    """A string from `auth` that can be encoded (compared, verified, looked up), else None."""
    return value if isinstance(value, str) and validation.storable(value) else None


# Snapshots sent again at most this many times when changes keep coming while one is read.
SNAPSHOT_RESENDS = 2


def _join(auth: Any) -> None:
    if not isinstance(auth, dict):
        raise _refuse("bad_request", "Connect with auth {event, role}.")
    lang = use_language(auth.get("lang"))
    role = auth.get("role")
    if role not in ROLES:
        raise _refuse("bad_request", "Role must be participant, moderator or screen.")
    session = db.session
    try:
        if role == "moderator":
            event = events_domain.find_event(session, auth.get("event"))
            event_id = event.id
        else:
            event_id, _ = event_cache.get(session, auth.get("event"))
    except DomainError as exc:
        raise _refuse(exc.code, exc.template, **exc.params)

    sid = request.sid
    extra: dict[str, Any] = {}
    known = None
    if role == "moderator":
        token = _text(auth.get("token"))
        if token is None or not hmac.compare_digest(
            token.encode(), event.moderator_token.encode()
        ):
            raise _refuse("unauthorized", "The moderator token is missing or wrong for this event.")
        client = Client(event_id, role, token=token)
        join_room(moderators(event_id))
    elif role == "participant":
        secret = current_app.config["SECRET_KEY"]
        token = _text(auth.get("participant"))
        pid = known = verify_participant(secret, token)
        if pid is None:
            # Unknown or forged identity: start a fresh one rather than refuse.
            pid, token = new_participant(secret)
        else:
            token = participant_token(secret, pid)  # one of the format before issue 16 comes back new
        client = Client(event_id, role, pid)
        join_room(participant(pid))
        extra["participant"] = token
    else:
        client = Client(event_id, role)
    # In every room before the snapshot is read: a change committed after the read is sent to
    # this socket (a screen that joined as a question went live kept the one before). The read
    # starts a transaction of its own: SQLite's would otherwise show the database as it was at
    # the lookup above, before the rooms were joined.
    session.close()
    join_room(everyone(event_id))

    def read() -> dict[str, Any]:
        if role == "moderator":
            return {"event": events_domain.event_to_dict(events_domain.find_event(session, auth.get("event"))),
                    "questions": questions.moderator_view(session, event_id), **extra}
        _, event_dict = event_cache.get(session, auth.get("event"))
        # The public list is shared by every join (a join storm rebuilt it per socket), and so
        # is its JSON; only a known identity's own questions and votes are read.
        entries = public_list.get(session, event_id)
        own_view = participant_view(session, event_id, known, entries) if role == "participant" else None
        return {"event": event_dict,
                "questions": public_list.encoded(event_id, entries) if own_view is None else own_view, **extra}

    audiences = broadcast.AUDIENCES[role]
    seen = broadcast.sent.of(event_id, audiences)
    try:
        snapshot = read()
    except DomainError as exc:  # deleted since it was found
        raise _refuse(exc.code, exc.template, **exc.params)
    client.address = request.remote_addr
    client.lang = lang
    cap = 0 if is_loopback(client.address or "") else current_app.config["MAX_SOCKETS_PER_ADDRESS"]
    if not presence.join(sid, client, cap):
        raise _refuse("too_many_connections",
                      "Too many connections from your network address; close some tabs and retry.")
    _send_snapshot(sid, role, event_id, snapshot)
    # A change sent to the rooms between the read and the snapshot reached this socket first and
    # the older snapshot undid it: read and send again. (Changes sent by another process through
    # the message queue are not counted here; the join's rooms still receive them.)
    for _ in range(SNAPSHOT_RESENDS):
        if broadcast.sent.of(event_id, audiences) == seen:
            break
        seen = broadcast.sent.of(event_id, audiences)
        try:
            snapshot = read()
        except (*DATABASE_BUSY, DomainError) as exc:  # counted, with a snapshot: keep it as it is
            db.session.rollback()
            current_app.logger.warning("snapshot not sent again: %s", exc.__class__.__name__)
            break
        _send_snapshot(sid, role, event_id, snapshot)
    presence.announcer.add(current_app._get_current_object(), event_id)


def _send_snapshot(sid: str, role: str, event_id: int, snapshot: dict[str, Any]) -> None:
    if role == "moderator":
        snapshot["presence"] = presence.counts(event_id)  # once this socket is counted
    db.session.close()  # back to the pool before the snapshot is sent, not after
    # Straight to the socket, which is in this process: through a message queue every other
    # process would receive each join's snapshot to ignore it, and the queue carries JSON,
    # which the shared, pre-encoded question list (qa/web/speedups.py) is not.
    socketio.emit("snapshot", snapshot, to=sid, ignore_queue=True)


# python-engineio's own reasons: a label of /metrics is never a string a client chose.
DISCONNECT_REASONS = frozenset(v for k, v in vars(SocketIO.reason).items() if k.isupper())


@socketio.on("disconnect")
def on_disconnect(reason: Any = None, *_args):
    metrics.disconnects.inc(reason if reason in DISCONNECT_REASONS else "unknown")
    client = presence.leave(request.sid)
    if client is not None:
        presence.announcer.add(current_app._get_current_object(), client.event_id)


def handler(name: str, role: str | None = None) -> Callable:
    """Register a Socket.IO event whose return value is its ack, never an exception."""

    def wrap(fn: Callable[[Client, Any], dict]) -> Callable:
        @functools.wraps(fn)
        def run(payload: Any = None, *_extra: Any) -> dict:
            client = presence.clients.get(request.sid)
            if client is None:
                return error_ack("unauthorized", "Not connected to an event.")
            if role is not None and client.role != role:
                return error_ack("forbidden", ONLY_ROLE[role], event=name)
            try:
                if client.role == "moderator" and not _token_still_valid(client):
                    # Rotated from another process, whose disconnect could not reach this socket.
                    socketio.start_background_task(_drop_after_ack, request.sid)
                    return error_ack("unauthorized", "The moderator token has changed; open the new moderator link.")
                return fn(client, payload)
            except DomainError as exc:
                return {"ok": False, "error": exc.to_dict(gettext)}
            except DATABASE_BUSY:
                db.session.rollback()
                current_app.logger.exception("database error in %s", name)
                return error_ack("unavailable", "The database is busy; please try again.")
            except Exception:
                db.session.rollback()
                current_app.logger.exception("unexpected error in %s", name)
                return error_ack("internal", "Something went wrong on the server; nothing was changed.")

        socketio.on_event(name, counted_acks(name, run))
        return run

    return wrap


ACK_GRACE = 0.2  # seconds: long enough for the refusal's ack to leave before the socket closes


def _drop_after_ack(sid: str) -> None:
    socketio.sleep(ACK_GRACE)
    socketio.server.disconnect(sid)


def _token_still_valid(client: Client) -> bool:
    event = db.session.get(Event, client.event_id)
    return (event is not None and client.token is not None
            and hmac.compare_digest(client.token.encode(), event.moderator_token.encode()))


def _limit(action: str, client: Client) -> None:
    wait = current_app.extensions["qa_ratelimit"].check(action, client.participant_id, client.address)
    if wait:
        message = (N_("You are sending questions too fast; please wait %(seconds)d s and try again.")
                   if action == "submit" else
                   N_("You are sending votes too fast; please wait %(seconds)d s and try again."))
        raise DomainError("rate_limited", message, seconds=math.ceil(wait))


def _writer(name: str, write: Callable[[list], list]) -> GroupCommit:
    """The app's group-commit writer `name`: one per app, since a batch is written on one
    app's database. (Two handlers racing here may make two writers; each batch is still
    one transaction.)"""
    writer = current_app.extensions.get(name)
    if writer is None:
        def write_here(requests: list) -> list:
            # Runs in whichever handler's context took the writer's turn, on its session.
            try:
                return write(db.session, requests)
            except Exception:
                db.session.rollback()
                raise

        writer = current_app.extensions[name] = GroupCommit(write_here, shared_failures=DATABASE_DOWN)
    return writer


@handler("question:submit", role="participant")
def submit(client: Client, payload: Any) -> dict:
    _limit("submit", client)
    request = questions.parse_submission(client.event_id, client.participant_id, payload, language=client.lang,
                                         profanity_filter=current_app.config["PROFANITY_FILTER"])
    result = _writer("qa_submissions", questions.submit_batch).submit(request)
    if isinstance(result, DomainError):
        raise result
    if result.created:  # moderators hear of it (with similar questions) just after the ack
        broadcast.submissions.add(current_app._get_current_object(), client.event_id, result.question.id)
    item = questions.question_to_dict(result.question)
    item["mine"] = True
    return {"ok": True, "question": item}


@handler("question:vote", role="participant")
def vote(client: Client, payload: Any) -> dict:
    _limit("vote", client)
    request = questions.parse_vote(client.event_id, client.participant_id, payload)
    result = _writer("qa_votes", questions.vote_batch).submit(request)
    if isinstance(result, DomainError):
        raise result
    if result.changed:
        broadcast.votes.add(current_app._get_current_object(), client.event_id, result.question_id)
    return {"ok": True, "id": result.question_id, "votes": result.votes}


def question_action(name: str, apply: Callable[[Any, int, Any], Any], tell: Callable[[int, Any], None],
                    view: Callable[[Any], dict]) -> None:
    """A moderator's action on one question: the domain rule `apply`, then who hears of it (`tell`,
    in qa/web/broadcast.py), then the ack with the question as `view` shows it."""

    def act(client: Client, payload: Any) -> dict:
        result = apply(db.session, client.event_id, payload)
        tell(client.event_id, result)
        return {"ok": True, "question": view(result.question if isinstance(result, moderation.Change) else result)}

    act.__name__ = act.__qualname__ = name.replace(":", "_")
    handler(name, role="moderator")(act)


question_action("question:moderate", moderation.moderate, broadcast.moderation_applied, questions.question_to_dict)
question_action("question:reply", moderation.reply, broadcast.reply_given, questions.question_for_moderators)
question_action("question:label", moderation.set_labels, broadcast.private_changed, questions.question_for_moderators)
question_action("question:star", moderation.set_star, broadcast.private_changed, questions.question_for_moderators)


@handler("question:merge", role="moderator")
def merge(client: Client, payload: Any) -> dict:
    change, target = moderation.merge(db.session, client.event_id, payload)
    broadcast.moderation_applied(client.event_id, change)
    broadcast.question_changed(client.event_id, target, was_public=target.status in questions.PUBLIC,
                               status_changed=False)
    return {"ok": True, "question": questions.question_to_dict(change.question),
            "into": questions.question_to_dict(target)}


@handler("question:similar", role="moderator")
def similar(client: Client, payload: Any) -> dict:
    session = db.session
    qid = validation.get_int(validation.require_object(payload), "id")
    q = questions.get_question(session, client.event_id, qid)
    return {"ok": True, "id": qid, "similar": similarity.similar_to(session, client.event_id, q)}


@handler("participant:block", role="moderator")
def block(client: Client, payload: Any) -> dict:
    question, blocked = moderation.block(db.session, client.event_id, payload)
    broadcast.author_blocked(client.event_id, question, blocked)
    return {"ok": True, "id": question.id, "blocked": blocked}


@handler("question:edit", role="moderator")
def edit(client: Client, payload: Any) -> dict:
    session = db.session
    event = session.get(Event, client.event_id)
    q = moderation.edit(session, client.event_id, event, payload)
    broadcast.question_changed(client.event_id, q, was_public=q.status in questions.PUBLIC, status_changed=False)
    return {"ok": True, "question": questions.question_to_dict(q)}


@handler("queue:reorder", role="moderator")
def reorder(client: Client, payload: Any) -> dict:
    ids = moderation.reorder(db.session, client.event_id, payload)
    broadcast.queue_order(client.event_id, ids)
    return {"ok": True, "ids": ids}


@handler("event:update", role="moderator")
def update_event(client: Client, payload: Any) -> dict:
    event = events_domain.update_event(db.session, client.event_id, payload)
    broadcast.event_updated(event)
    return {"ok": True, "event": events_domain.event_to_dict(event)}


@socketio.on("*")
def unknown_event(name: str, *_args: Any) -> dict:
    return error_ack("bad_request", "Unknown event '%(name)s'.", name=str(name)[:60])


@socketio.on(inbound.REFUSED)
def refused_event(name: Any = "", *_args: Any) -> dict:
    # qa/web/inbound.py renames a client's event named like the server's own (or not named
    # by a string) to this, so that nothing else runs and the client still gets its ack.
    if not name:
        return error_ack("bad_request", "An event's name must be a string.")
    return error_ack("bad_request", "A client cannot send an event named '%(name)s'.", name=str(name)[:60])
