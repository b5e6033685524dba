"""How far an organiser's change reaches (qa/web/event_changes.py). Its callers' changes reaching the
sockets: tests/test_console.py, test_admin_api.py and test_cli.py."""
from __future__ import annotations

from qa.extensions import socketio


def test_the_socket_manager_is_the_single_process_one_without_a_queue(app):
    """Without QA_MESSAGE_QUEUE, disconnects only reach this process's sockets (see docs/admin.md)."""
    from socketio.pubsub_manager import PubSubManager

    assert not isinstance(socketio.server.manager, PubSubManager)
