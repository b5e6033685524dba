"""Who is connected to this process: each socket's event, role and language, and the counts
the moderators see (announced at most every PRESENCE_INTERVAL)."""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass

from flask import Flask

from ..extensions import socketio
from .metrics import counting_emits
from .rooms import moderators
from .throttle import Coalescer

socketio = counting_emits(socketio)  # the announcements are counted for /metrics too
PRESENCE_INTERVAL = 1.0


@dataclass
class Client:
    event_id: int
    role: str
    participant_id: str | None = None
    address: str | None = None
    lang: str | None = None  # "en", "fr" or "es": acks are answered in it (qa/i18n.py)
    token: str | None = None  # a moderator's token, checked again before each action (rotation)


class Presence:
    """Connected sockets of this process, by sid, and counts by event and role."""

    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self._lock = threading.Lock()
        self._counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._by_address: dict[str, int] = defaultdict(int)
        self.announcer = Coalescer(PRESENCE_INTERVAL, self._announce)

    def join(self, sid: str, client: Client, max_per_address: int = 0) -> bool:
        """Count a new socket; False (and not counted) if its address already has too many.
        A socket is counted once, however often this is called for it."""
        with self._lock:
            if sid in self.clients:
                return True
            if client.address and max_per_address and self._by_address[client.address] >= max_per_address:
                return False
            self.clients[sid] = client
            self._counts[client.event_id][client.role] += 1
            if client.address:
                self._by_address[client.address] += 1
            return True

    def clear(self) -> None:
        with self._lock:
            self.clients.clear()
            self._counts.clear()
            self._by_address.clear()

    def leave(self, sid: str) -> Client | None:
        with self._lock:
            client = self.clients.pop(sid, None)
            if client is not None:
                self._counts[client.event_id][client.role] -= 1
                if client.address:
                    self._by_address[client.address] -= 1
                    if not self._by_address[client.address]:
                        del self._by_address[client.address]
        return client

    def counts(self, event_id: int) -> dict[str, int]:
        with self._lock:
            c = self._counts.get(event_id, {})
            return {
                "participants": c.get("participant", 0),
                "moderators": c.get("moderator", 0),
                "screens": c.get("screen", 0),
            }

    def by_role(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        with self._lock:
            for client in self.clients.values():
                totals[client.role] += 1
        return dict(totals)

    def _announce(self, app: Flask, event_id: int, _items: set) -> None:
        socketio.emit("presence", self.counts(event_id), to=moderators(event_id))


presence = Presence()
