"""Room names: `e:<id>` holds everyone in an event (participants, screens and moderators),
`e:<id>:mod` only its moderators, `p:<pid>` one participant's sockets (several tabs or
devices share an identity)."""
from __future__ import annotations


def everyone(event_id: int) -> str:
    return f"e:{event_id}"


def moderators(event_id: int) -> str:
    return f"e:{event_id}:mod"


def participant(pid: str) -> str:
    return f"p:{pid}"
