"""Events: codes, themes, the demo event, open/close and the active theme."""
import time

import pytest
from sqlalchemy import func, select

from qa.domain import events
from qa.domain.errors import DomainError
from qa.models import Event


@pytest.mark.parametrize("raw, expected", [
    ("msme", "MSME"), (" ab-c 12 ", "ABC12"), ("AbC\t12", "ABC12"), (None, ""), (42, ""),
])
def test_normalize_code(raw, expected):
    assert events.normalize_code(raw) == expected


def test_create_event_defaults(session):
    ev = events.create_event(session, {"title": "  Webinar  "})
    assert ev.title == "Webinar"
    assert len(ev.code) == events.CODE_LENGTH and set(ev.code) <= set(events.CODE_ALPHABET)
    assert [t.key for t in ev.themes] == ["trade-facilitation", "finance", "digitalization", "other"]
    assert ev.themes[1].label == "Access to finance & cross-border payments"
    assert all(t.prompt for t in ev.themes)
    assert len(ev.moderator_token) >= 24


def test_codes_are_unique_and_found_forgivingly(session):
    a = events.create_event(session, {"title": "A"})
    b = events.create_event(session, {"title": "B"})
    assert a.code != b.code
    spaced = " " + a.code[:3].lower() + "-" + a.code[3:] + " "
    assert events.find_event(session, spaced).id == a.id


def test_custom_themes_keep_order(session):
    ev = events.create_event(session, {"title": "T", "themes": [
        {"key": "b", "label": "Bee"}, {"key": "a", "label": "Ay", "prompt": "Why?"}]})
    assert [(t.key, t.label, t.prompt) for t in ev.themes] == [("b", "Bee", ""), ("a", "Ay", "Why?")]


@pytest.mark.parametrize("payload, code", [
    ([], "bad_request"),
    ({}, "bad_request"),
    ({"title": "   "}, "invalid"),
    ({"title": 5}, "bad_request"),
    ({"title": "x" * 201}, "invalid"),
    ({"title": "T", "themes": []}, "invalid"),
    ({"title": "T", "themes": "finance"}, "invalid"),
    ({"title": "T", "themes": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]}, "invalid"),
    ({"title": "T", "themes": [{"key": "Bad Key", "label": "A"}]}, "invalid"),
    ({"title": "T", "themes": [{"key": "a"}]}, "bad_request"),
    ({"title": "T", "themes": ["a"]}, "bad_request"),
])
def test_create_event_refuses_bad_input(session, payload, code):
    with pytest.raises(DomainError) as err:
        events.create_event(session, payload)
    assert err.value.code == code and err.value.message
    assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_unknown_code(session):
    with pytest.raises(DomainError) as err:
        events.find_event(session, "NOPE42")
    assert err.value.code == "not_found" and "NOPE42" in err.value.message


def test_demo_event_only_on_empty_database(session):
    demo = events.ensure_demo_event(session)
    assert demo.code == events.DEMO_CODE and "MSME" in demo.title
    assert events.ensure_demo_event(session) is None


def test_update_event(session):
    ev = events.create_event(session, {"title": "T"})
    events.update_event(session, ev.id, {"submissions_open": False, "active_theme": "finance"})
    d = events.event_to_dict(events.find_event(session, ev.code))
    assert d["submissions_open"] is False and d["active_theme"] == "finance"
    events.update_event(session, ev.id, {"active_theme": None})
    assert events.find_event(session, ev.code).active_theme is None


@pytest.mark.parametrize("payload, code", [
    ("x", "bad_request"), ({}, "bad_request"), ({"submissions_open": "no"}, "bad_request"),
    ({"active_theme": "nope"}, "invalid"), ({"active_theme": 3}, "invalid"),
])
def test_update_event_refuses(session, payload, code):
    ev = events.create_event(session, {"title": "T"})
    with pytest.raises(DomainError) as err:
        events.update_event(session, ev.id, payload)
    assert err.value.code == code
    session.expire_all()
    fresh = events.find_event(session, ev.code)
    assert fresh.submissions_open is True and fresh.active_theme is None


def test_a_theme_may_carry_its_own_translations(session):
    ev = events.create_event(session, {"title": "T", "themes": [
        {"key": "ports", "label": "Ports", "translations": {"es": {"label": "Puertos"}}}]})
    assert events.event_to_dict(ev, "es")["themes"][0]["label"] == "Puertos"
    with pytest.raises(DomainError):
        events.create_event(session, {"title": "T", "themes": [
            {"key": "ports", "label": "Ports", "translations": {"de": {"label": "Häfen"}}}]})


def test_an_event_created_while_another_is_written_waits_its_turn(app, monkeypatch):
    """Two organisers create events at once: the second waits for the first's write instead of
    failing ("database is locked", a 503 from POST /api/events) because it read first."""
    import threading

    from qa.extensions import db

    read_code = events._new_code
    reading = threading.Event()

    def slow_code(session):
        code = read_code(session)
        reading.set()  # the first creation has read: the second one writes now
        time.sleep(0.3)
        return code

    made, failed = [], []

    def create(title: str, patched: bool) -> None:
        with app.app_context():
            try:
                if patched:
                    made.append(events.create_event(db.session, {"title": title}).code)
                else:
                    assert reading.wait(5)
                    made.append(events.create_event(db.session, {"title": title}, code="SECOND").code)
            except Exception as exc:  # what the API would answer 503 for
                failed.append(repr(exc))
            finally:
                db.session.close()

    monkeypatch.setattr(events, "_new_code", slow_code)
    threads = [threading.Thread(target=create, args=("First", True)),
               threading.Thread(target=create, args=("Second", False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert failed == [] and len(made) == 2, (made, failed)
