"""GET /metrics (qa/web/metrics.py): Prometheus text that follows what the process does."""
from __future__ import annotations

import time
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import make_env
from live_server import free_port
from qa import create_app
from qa.extensions import db
from qa.web import broadcast, metrics


def parse_metrics(text: str) -> dict[tuple, float]:
    """Parse with prometheus_client's parser: {(name, (label pairs…)): value}.

    That parser is lax, so what Prometheus needs of this exposition is held
    here: every family announced by # HELP and # TYPE, counters named *_total
    and never negative, no sample twice, a final newline.
    """
    assert text.endswith("\n"), "the exposition must end with a newline"
    assert all(line.strip() for line in text.splitlines()), "no blank lines"
    samples: dict[tuple, float] = {}
    families: set[str] = set()
    for family in text_string_to_metric_families(text):
        assert family.name not in families, f"{family.name} announced twice"
        families.add(family.name)
        assert family.documentation.strip(), f"{family.name} has no # HELP"
        assert family.type in ("counter", "gauge"), f"{family.name} has no # TYPE ({family.type})"
        if family.type == "counter":
            # The parser names a counter's samples *_total whatever the text said.
            assert f"# TYPE {family.name}_total counter\n" in text, f"counter {family.name} not named *_total"
        for sample in family.samples:
            if family.type == "counter":
                assert sample.value >= 0, sample
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = sample.value
    return samples


def value(samples: dict[tuple, float], name: str, **labels: str) -> float:
    """One sample's value; 0 for a labelled sample not shown yet (counters start unseen)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client) -> dict[tuple, float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse_metrics(r.get_data(as_text=True))


def wait_until(check, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_metrics_are_prometheus_text(client):
    samples = scrape(client)
    names = {name for name, _ in samples}
    assert {"qa_connected_clients", "qa_database_up", "qa_questions", "qa_socket_acks_total",
            "qa_socket_disconnects_total", "qa_event_loop_lag_seconds"} <= names
    for role in ("participant", "moderator", "screen"):
        assert ("qa_connected_clients", (("role", role),)) in samples
    for status in ("pending", "approved", "rejected", "answered"):
        assert ("qa_questions", (("status", status),)) in samples
    assert value(samples, "qa_database_up") == 1
    # Every ack-bearing event shows up at 0 before it ever happens, both results.
    assert ("qa_socket_acks_total", (("event", "question:submit"), ("result", "error"))) in samples


def test_parser_refuses_broken_text():
    for bad in ("qa_x 1\n",  # no HELP/TYPE
                "# HELP qa_x x\n# TYPE qa_x counter\nqa_x 1\n",  # counter not *_total
                "# HELP qa_x x\n# TYPE qa_x gauge\nqa_x 1\nqa_x 2\n",  # the same sample twice
                "# HELP qa_x_total x\n# TYPE qa_x_total counter\nqa_x_total -1\n",  # a counter going down
                "# HELP qa_x x\n# TYPE qa_x gauge\nqa_x{a=\"1\"} one\n",  # not a number
                "# HELP qa_x x\n# TYPE qa_x gauge\nqa_x 1"):  # no final newline
        with pytest.raises((AssertionError, ValueError)):
            parse_metrics(bad)


def test_metrics_follow_activity(client, connect):
    before = scrape(client)
    p, m, s = connect("participant"), connect("moderator"), connect("screen")
    during = scrape(client)
    for role in ("participant", "moderator", "screen"):
        assert value(during, "qa_connected_clients", role=role) == \
            value(before, "qa_connected_clients", role=role) + 1

    ack = p.emit("question:submit", {"client_id": uuid.uuid4().hex, "theme": "finance",
                                     "text": "Who pays for the payment rails?"}, callback=True)
    assert ack["ok"], ack
    qid = ack["question"]["id"]
    assert m.emit("question:moderate", {"id": qid, "action": "approve"}, callback=True)["ok"]
    refused = p.emit("question:moderate", {"id": qid, "action": "reject"}, callback=True)
    assert refused["ok"] is False
    assert p.emit("question:vote", {"id": qid}, callback=True)["ok"]

    def votes_sent():
        after = scrape(client)
        sent = value(after, "qa_socket_emits_total", event="votes") > value(before, "qa_socket_emits_total", event="votes")
        # The batch is counted as it goes out, before its task gives back its connection.
        return after if sent and value(after, "qa_db_pool_checked_out") == 0 else None

    after = wait_until(votes_sent)  # votes go out in batches, a moment later
    assert after, "the vote broadcast was never counted, or its connection never came back"

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("qa_socket_acks_total", event="question:submit", result="ok") == 1
    assert delta("qa_socket_acks_total", event="question:moderate", result="ok") == 1
    assert delta("qa_socket_acks_total", event="question:moderate", result="error") == 1
    assert delta("qa_socket_acks_total", event="question:vote", result="ok") == 1
    assert delta("qa_socket_emits_total", event="question:new") == 1
    assert delta("qa_socket_emits_total", event="question:update") >= 1
    assert delta("qa_socket_emits_total", event="question:mine") == 1
    assert delta("qa_questions", status="approved") == 1
    assert delta("qa_questions", status="pending") == 0  # submitted, then approved

    for c in (p, m, s):
        c.disconnect()
    gone = scrape(client)
    for role in ("participant", "moderator", "screen"):
        assert value(gone, "qa_connected_clients", role=role) == value(before, "qa_connected_clients", role=role)
    # Each left on its own, which is not a ping timeout (a sign of an overloaded server).
    assert value(gone, "qa_socket_disconnects_total", reason="client disconnect") == \
        value(before, "qa_socket_disconnects_total", reason="client disconnect") + 3
    assert value(gone, "qa_socket_disconnects_total", reason="ping timeout") == \
        value(before, "qa_socket_disconnects_total", reason="ping timeout")


def test_handled_grows_with_every_ack_and_broadcast(connect):
    """What run.py's collect_when_quiet reads to tell a quiet server from a busy one."""
    p = connect("participant")
    before = metrics.handled()
    ack = p.emit("question:submit", {"client_id": uuid.uuid4().hex, "theme": "finance",
                                     "text": "Are cross-border fees coming down?"}, callback=True)
    assert ack["ok"], ack
    assert metrics.handled() > before  # the ack at once; `question:new` to the moderators follows


def test_event_loop_lag_is_measured(client):
    first = scrape(client)  # starts the probe if nothing has yet

    def sampled():
        now = scrape(client)
        return now if value(now, "qa_event_loop_lag_samples_total") >= \
            value(first, "qa_event_loop_lag_samples_total") + 2 else None

    now = wait_until(sampled, timeout=5.0)
    assert now, "the lag probe took no samples in 5 s"
    assert 0 <= value(now, "qa_event_loop_lag_seconds") < 0.5


def test_metrics_without_a_database(tmp_path):
    url = f"postgresql+psycopg://qa@127.0.0.1:{free_port()}/qa"  # nothing listens there
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "QA_ENV": make_env(url)})
    try:
        samples = scrape(app.test_client())
    finally:
        db.engine_of(app).dispose()
    assert value(samples, "qa_database_up") == 0
    assert not any(name == "qa_questions" for name, _ in samples)
    assert value(samples, "qa_db_pool_checked_out") == 0


def test_each_app_counts_apart(client, connect, tmp_path):
    """Each app has its own registry: a second app in the process starts from zero."""
    p = connect("participant")
    ack = p.emit("question:submit", {"client_id": uuid.uuid4().hex, "theme": "finance",
                                     "text": "Who counts the counters?"}, callback=True)
    assert ack["ok"], ack
    first = scrape(client)
    assert value(first, "qa_socket_acks_total", event="question:submit", result="ok") >= 1
    p.disconnect()
    other = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "other"),
                        "QA_ENV": make_env(f"sqlite:///{tmp_path / 'other.sqlite3'}")})
    try:
        fresh = scrape(other.test_client())
    finally:
        db.engine_of(other).dispose()
    assert value(fresh, "qa_socket_acks_total", event="question:submit", result="ok") == 0
    assert ("qa_socket_acks_total", (("event", "question:submit"), ("result", "ok"))) in fresh
    assert value(fresh, "qa_socket_disconnects_total", reason="client disconnect") == 0
    assert value(scrape(client), "qa_socket_acks_total", event="question:submit", result="ok") == \
        value(first, "qa_socket_acks_total", event="question:submit", result="ok")
