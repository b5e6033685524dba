"""The organiser's rules (qa/domain/organiser.py): create, edit, open and close, copy, archive, delete."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from qa.domain import events, moderation, organiser, questions
from qa.domain.errors import DomainError
from qa.models import BlockedParticipant, Event, Question, QuestionHistory, Theme, Vote


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def ask(session, event: Event, text: str, theme: str = "finance", pid: str = "p1") -> Question:
    payload = {"client_id": text[:60], "theme": theme, "text": text, "name": "Ana"}
    return questions.submit(session, event, pid, payload).question


def opened(session, payload: dict) -> Event:
    return organiser.create_event(session, {"submissions_open": True, **payload})


def test_create_is_a_draft_with_the_default_themes_and_their_colours(session):
    ev = organiser.create_event(session, {"title": "  Session 1  ", "description": " About trade. "})
    assert ev.title == "Session 1" and ev.description == "About trade."
    assert ev.submissions_open is False and ev.opened_at is None and ev.archived_at is None
    assert [t.key for t in ev.themes] == [t["key"] for t in events.DEFAULT_THEMES]
    assert [t.colour for t in ev.themes] == list(events.THEME_COLOURS[:4])
    assert not any(t.hidden for t in ev.themes)
    assert ev.moderation == "pre" and ev.names_policy == "optional" and ev.starts_at is None
    assert organiser.describe(session, ev)["status"] == "draft"


def test_default_themes_sent_as_the_console_sends_them_keep_their_french_and_spanish(session):
    """The console always sends the theme list; unchanged defaults keep their translations."""
    themes = [{k: v for k, v in t.items() if k != "translations"} for t in organiser.default_themes()]
    themes[1] = {**themes[1], "label": "Money matters"}  # renamed: its translations no longer fit
    ev = organiser.create_event(session, {"title": "Session 2", "themes": themes})
    copy = organiser.duplicate_event(session, ev.id)
    for event in (ev, copy):
        described = events.event_to_dict(event)["translations"]
        assert described["es"]["themes"]["trade-facilitation"]["label"] == "Facilitación del comercio"
        assert "trade-facilitation" in described["fr"]["themes"]
        assert "finance" not in described["fr"]["themes"] and "finance" not in described["es"]["themes"]


def test_create_with_everything(session):
    ev = organiser.create_event(session, {
        "title": "Session 2",
        "starts_at": "2026-12-01T14:30:00+01:00",
        "themes": [{"label": "Access to finance", "prompt": "What next?", "colour": "#AABBCC"},
                   {"key": "other", "label": "Other"}],
        "moderation": "post",
        "names": "hidden",
        "submissions_open": True,
    })
    assert ev.starts_at == datetime(2026, 12, 1, 13, 30)  # stored in UTC
    assert [(t.key, t.label, t.prompt, t.colour) for t in ev.themes] == [
        ("access-to-finance", "Access to finance", "What next?", "#aabbcc"),
        ("other", "Other", "", events.THEME_COLOURS[1]),
    ]
    summary = organiser.describe(session, ev)
    assert summary["status"] == "open" and summary["moderation"] == "post" and summary["names"] == "hidden"
    assert summary["starts_at"] == "2026-12-01T13:30:00.000Z"
    assert ev.opened_at is not None


@pytest.mark.parametrize("label, key", [
    ("Access to finance & cross-border payments", "access-to-finance-cross-border-payments"),
    ("Numérisation", "numerisation"),
    ("  ¿?  ", "theme"),
    ("x" * 60, "x" * 40),
])
def test_key_from_label(label, key):
    assert organiser.key_from_label(label) == key


@pytest.mark.parametrize("payload, code, field", [
    ({"title": "   "}, "invalid", "title"),
    ({}, "bad_request", "title"),
    ({"title": "x" * 201}, "invalid", "title"),
    ({"title": "T", "themes": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]}, "invalid", "themes"),
    ({"title": "T", "themes": [{"label": "Same"}, {"label": "Same"}]}, "invalid", "themes"),
    ({"title": "T", "themes": [{"key": "Bad Key", "label": "A"}]}, "invalid", "themes"),
    ({"title": "T", "themes": []}, "invalid", "themes"),
    ({"title": "T", "themes": [{"key": "a", "label": "A", "colour": "red"}]}, "invalid", "themes"),
    ({"title": "T", "themes": [{"key": "a", "label": "A", "hidden": "yes"}]}, "bad_request", "themes"),
    ({"title": "T", "themes": [{"key": "a", "label": "A", "hidden": True}]}, "invalid", "themes"),
    ({"title": "T", "moderation": "later"}, "invalid", "moderation"),
    ({"title": "T", "names": "required"}, "invalid", "names"),
    ({"title": "T", "starts_at": "tomorrow"}, "invalid", "starts_at"),
    ({"title": "T", "starts_at": "2026-12-01T14:00"}, "invalid", "starts_at"),
    ({"title": "T", "starts_at": 1764600000}, "bad_request", "starts_at"),
    ({"title": "T", "description": "d" * 2001}, "invalid", "description"),
    ({"title": "T", "submissions_open": "yes"}, "bad_request", "submissions_open"),
])
def test_create_refuses_bad_input_and_stores_nothing(session, payload, code, field):
    with pytest.raises(DomainError) as err:
        organiser.create_event(session, payload)
    assert err.value.code == code and err.value.message
    assert err.value.field == field or (field == "themes" and err.value.field in ("key", "label"))
    assert count(session, Event) == 0 and count(session, Theme) == 0


def test_duplicate_key_message_names_the_key(session):
    with pytest.raises(DomainError) as err:
        organiser.create_event(session, {"title": "T", "themes": [{"label": "Finance"}, {"label": "finance"}]})
    assert err.value.message == "Theme key “finance” is used twice."


def test_edit_fields(session):
    ev = organiser.create_event(session, {"title": "Old"})
    ev = organiser.edit_event(session, ev.id, {
        "title": "New", "description": "Now with a description", "starts_at": "2026-05-04T09:00Z",
        "moderation": "post", "names": "asked",
    })
    assert (ev.title, ev.description, ev.starts_at, ev.moderation, ev.names_policy) == (
        "New", "Now with a description", datetime(2026, 5, 4, 9, 0), "post", "asked")
    ev = organiser.edit_event(session, ev.id, {"starts_at": "", "description": ""})
    assert ev.starts_at is None and ev.description == "" and ev.title == "New"


@pytest.mark.parametrize("payload, code", [
    ({}, "bad_request"),
    ([], "bad_request"),
    ({"title": ""}, "invalid"),
    ({"themes": None}, "invalid"),
    ({"themes": [{"key": "a", "label": "A"}, {"key": "a", "label": "A"}]}, "invalid"),
    ({"moderation": "sometimes"}, "invalid"),
])
def test_edit_refuses_bad_input_and_changes_nothing(session, payload, code):
    ev = organiser.create_event(session, {"title": "Kept"})
    with pytest.raises(DomainError) as err:
        organiser.edit_event(session, ev.id, payload)
    assert err.value.code == code
    session.expire_all()
    ev = session.get(Event, ev.id)
    assert ev.title == "Kept" and len(ev.themes) == 4


def test_edit_themes_reorders_renames_adds_and_removes_keeping_rows(session):
    ev = opened(session, {"title": "T"})
    finance_id = next(t.id for t in ev.themes if t.key == "finance")
    ev = organiser.edit_event(session, ev.id, {"themes": [
        {"key": "finance", "label": "Money", "prompt": "How?", "colour": "#000000"},
        {"key": "trade-facilitation", "label": "Trade facilitation"},
        {"label": "Logistics"},
    ]})
    # "finance" had no questions: renamed to "Money", its key follows the new label.
    assert [(t.key, t.position) for t in ev.themes] == [
        ("money", 0), ("trade-facilitation", 1), ("logistics", 2)]
    assert ev.themes[0].id == finance_id and ev.themes[0].label == "Money" and ev.themes[0].colour == "#000000"
    assert count(session, Theme, Theme.event_id == ev.id) == 3


def test_a_renamed_theme_keeps_its_key_while_questions_use_it(session):
    ev = opened(session, {"title": "T"})
    ask(session, ev, "About money?", theme="finance")
    events.update_event(session, ev.id, {"active_theme": "digitalization"})
    themes = [{"key": t.key, "label": t.label} for t in ev.themes]
    themes[1]["label"] = "Money"            # has a question: keeps "finance"
    themes[2]["label"] = "Digital trade"    # none: becomes "digital-trade", and stays the active theme
    themes[3]["label"] = "Trade facilitation"  # the same label as another: a free key
    ev = organiser.edit_event(session, ev.id, {"themes": themes})
    assert [t.key for t in ev.themes] == ["trade-facilitation", "finance", "digital-trade", "trade-facilitation-2"]
    assert ev.active_theme == "digital-trade"
    # A new label that makes the same key changes nothing.
    themes = [{"key": t.key, "label": t.label} for t in ev.themes]
    themes[2]["label"] = "Digital Trade!"
    ev = organiser.edit_event(session, ev.id, {"themes": themes})
    assert ev.themes[2].key == "digital-trade"


def _texts(ev: Event) -> dict:
    return events.event_to_dict(ev)["translations"]


def test_translations_entered_per_theme_and_for_the_title(session):
    ev = organiser.create_event(session, {
        "title": "Trade talk",
        "translations": {"fr": {"title": "Débat commercial"}, "es": {"title": "Debate comercial"}},
        "themes": [
            {"label": "Ports", "prompt": "Which ports?",
             "translations": {"fr": {"label": "Ports", "prompt": "Quels ports ?"}, "es": {"label": "Puertos"}}},
            {"label": "Other"},
        ],
    })
    assert _texts(ev) == {
        "fr": {"title": "Débat commercial", "themes": {"ports": {"label": "Ports", "prompt": "Quels ports ?"}}},
        "es": {"title": "Debate comercial", "themes": {"ports": {"label": "Puertos"}}},
    }
    fr = events.event_to_dict(ev, "fr")
    assert fr["title"] == "Débat commercial" and [t["label"] for t in fr["themes"]] == ["Ports", "Other"]
    assert events.event_to_dict(ev, "es")["themes"][0]["prompt"] == "Which ports?"  # falls back

    # Edited: the theme is renamed (its translations go with it), French title cleared, Spanish kept.
    ev = organiser.edit_event(session, ev.id, {
        "translations": {"fr": {"title": ""}},
        "themes": [{"key": "ports", "label": "Harbours",
                    "translations": {"fr": {"label": "Havres"}, "es": {"label": "Puertos", "prompt": "¿Cuáles?"}}},
                   {"key": "other", "label": "Other"}],
    })
    assert [t.key for t in ev.themes] == ["harbours", "other"]
    assert _texts(ev) == {
        "fr": {"themes": {"harbours": {"label": "Havres"}}},
        "es": {"title": "Debate comercial", "themes": {"harbours": {"label": "Puertos", "prompt": "¿Cuáles?"}}},
    }
    # The API's top-level object reaches a theme by its key, leaving the other language alone.
    ev = organiser.edit_event(session, ev.id, {"translations": {"fr": {"themes": {"other": {"label": "Autre"}}}}})
    assert _texts(ev)["fr"]["themes"]["other"] == {"label": "Autre"}
    assert _texts(ev)["es"]["title"] == "Debate comercial"


@pytest.mark.parametrize("payload", [
    {"translations": {"de": {"title": "Handel"}}},
    {"translations": {"fr": {"title": 3}}},
    {"translations": {"fr": {"themes": {"nope": {"label": "X"}}}}},
    {"themes": [{"key": "a", "label": "A", "translations": {"fr": {"label": "x" * 121}}}]},
    {"themes": [{"key": "a", "label": "A", "translations": {"it": {"label": "A"}}}]},
    {"themes": [{"key": "a", "label": "A", "translations": "A"}]},
])
def test_bad_translations_are_refused_and_change_nothing(session, payload):
    ev = organiser.create_event(session, {"title": "Kept", "translations": {"fr": {"title": "Gardé"}}})
    with pytest.raises(DomainError) as err:
        organiser.edit_event(session, ev.id, payload)
    assert err.value.message
    with pytest.raises(DomainError):
        organiser.create_event(session, {"title": "New", **payload})
    session.expire_all()
    ev = session.get(Event, ev.id)
    assert _texts(ev)["fr"]["title"] == "Gardé" and len(ev.themes) == 4
    assert count(session, Event) == 1


def test_a_theme_with_questions_can_be_hidden_not_deleted(session):
    ev = opened(session, {"title": "T"})
    ask(session, ev, "About money?", theme="finance")
    keep = [{"key": t.key, "label": t.label} for t in ev.themes if t.key != "finance"]
    with pytest.raises(DomainError) as err:
        organiser.edit_event(session, ev.id, {"themes": keep})
    assert err.value.code == "conflict" and err.value.field == "themes"
    assert "cannot be deleted; hide it instead" in err.value.message
    assert "Access to finance & cross-border payments" in err.value.message
    session.expire_all()
    assert [t.key for t in session.get(Event, ev.id).themes] == [t["key"] for t in events.DEFAULT_THEMES]

    # Hiding works, and a hidden active theme stops being active.
    events.update_event(session, ev.id, {"active_theme": "finance"})
    themes = [{"key": t.key, "label": t.label, "hidden": t.key == "finance"} for t in ev.themes]
    ev = organiser.edit_event(session, ev.id, {"themes": themes})
    assert [t.key for t in ev.themes if t.hidden] == ["finance"]
    assert ev.active_theme is None
    summary = organiser.describe(session, ev)
    assert [(t["key"], t["questions"]) for t in summary["themes"] if t["questions"]] == [("finance", 1)]
    # A theme without questions can go.
    ev = organiser.edit_event(session, ev.id, {"themes": themes[:2]})
    assert [t.key for t in ev.themes] == ["trade-facilitation", "finance"]


def test_status_follows_the_life_cycle(session):
    ev = organiser.create_event(session, {"title": "T"})
    status = lambda: organiser.describe(session, session.get(Event, ev.id))["status"]  # noqa: E731
    assert status() == "draft"
    organiser.set_submissions(session, ev.id, True)
    assert status() == "open"
    organiser.set_submissions(session, ev.id, False)
    assert status() == "closed"
    organiser.archive_event(session, ev.id)
    assert status() == "archived"
    with pytest.raises(DomainError) as err:
        organiser.set_submissions(session, ev.id, True)
    assert err.value.code == "conflict" and "restore" in err.value.message
    organiser.archive_event(session, ev.id)  # archiving twice changes nothing
    organiser.restore_event(session, ev.id)
    assert status() == "closed" and session.get(Event, ev.id).submissions_open is False


def test_an_event_made_by_the_api_with_questions_is_closed_not_draft(session):
    ev = events.create_event(session, {"title": "API"})
    ask(session, ev, "A question?")
    events.update_event(session, ev.id, {"submissions_open": False})
    assert organiser.describe(session, ev)["status"] == "closed"


def test_list_counts_by_status_and_hides_archived(session):
    a = opened(session, {"title": "A", "starts_at": "2026-12-02T10:00Z"})
    b = opened(session, {"title": "B", "starts_at": "2026-12-01T10:00Z"})
    c = organiser.create_event(session, {"title": "C"})
    q1 = ask(session, a, "One?")
    ask(session, a, "Two?")
    q3 = ask(session, a, "Three?")
    moderation.moderate(session, a.id, {"id": q1.id, "action": "approve"})
    moderation.moderate(session, a.id, {"id": q3.id, "action": "reject"})
    organiser.archive_event(session, b.id)

    listed = organiser.list_events(session)
    assert [e["code"] for e in listed] == [a.code, c.code]  # dated first, archived left out
    assert listed[0]["counts"] == {"pending": 1, "approved": 1, "answered": 0, "rejected": 1, "total": 3}
    assert listed[1]["counts"]["total"] == 0
    assert [e["code"] for e in organiser.list_events(session, include_archived=True)] == [b.code, a.code, c.code]
    assert [e["code"] for e in organiser.list_events(session, status="archived")] == [b.code]
    assert [e["code"] for e in organiser.list_events(session, status="draft")] == [c.code]
    with pytest.raises(DomainError):
        organiser.list_events(session, status="gone")


def test_duplicate_is_a_draft_copy_without_questions(session):
    ev = opened(session, {"title": "Session 1", "description": "D", "starts_at": "2026-12-01T10:00Z",
                          "moderation": "post", "names": "asked",
                          "themes": [{"key": "a", "label": "A", "colour": "#123456"}, {"key": "b", "label": "B"}]})
    ask(session, ev, "Q?", theme="b")
    organiser.edit_event(session, ev.id, {"themes": [{"key": "a", "label": "A", "colour": "#123456"},
                                                     {"key": "b", "label": "B", "hidden": True}]})
    copy = organiser.duplicate_event(session, ev.id)
    assert copy.id != ev.id and copy.code != ev.code and copy.moderator_token != ev.moderator_token
    assert copy.title == "Session 1 (copy)" and copy.description == "D" and copy.starts_at is None
    assert (copy.moderation, copy.names_policy, copy.submissions_open) == ("post", "asked", False)
    assert [(t.key, t.colour, t.hidden) for t in copy.themes] == [("a", "#123456", False)]
    assert count(session, Question, Question.event_id == copy.id) == 0
    long = organiser.create_event(session, {"title": "x" * 200})
    assert len(organiser.duplicate_event(session, long.id).title) == 200


def test_rotate_token_changes_it(session):
    ev = organiser.create_event(session, {"title": "T"})
    old = ev.moderator_token
    assert organiser.rotate_moderator_token(session, ev.id).moderator_token != old


def test_delete_removes_every_row_and_nothing_else(session):
    ev = opened(session, {"title": "Doomed"})
    other = opened(session, {"title": "Kept"})
    q1 = ask(session, ev, "First?")
    q2 = ask(session, ev, "Second, the same as the first?")
    ask(session, other, "Elsewhere?")
    moderation.moderate(session, ev.id, {"id": q1.id, "action": "approve"})
    questions.vote(session, ev.id, "p2", {"id": q1.id})
    moderation.merge(session, ev.id, {"id": q2.id, "into": q1.id})
    moderation.block(session, ev.id, {"id": q2.id})
    assert organiser.rows_of(session, ev.id)["blocked"] == 1
    assert organiser.rows_of(session, ev.id)["votes"] >= 1
    assert organiser.rows_of(session, ev.id)["history"] >= 1

    with pytest.raises(DomainError) as err:
        organiser.delete_event(session, ev.id, "WRONG")
    assert err.value.code == "invalid" and ev.code in err.value.message
    assert count(session, Event, Event.id == ev.id) == 1

    ids = [q1.id, q2.id]
    before = organiser.rows_of(session, ev.id)
    deleted = organiser.delete_event(session, ev.id, ev.code.lower())
    assert deleted == before
    assert count(session, Event, Event.id == ev.id) == 0
    assert count(session, Theme, Theme.event_id == ev.id) == 0
    assert count(session, Question, Question.event_id == ev.id) == 0
    assert count(session, Vote, Vote.question_id.in_(ids)) == 0
    assert count(session, QuestionHistory, QuestionHistory.question_id.in_(ids)) == 0
    assert count(session, BlockedParticipant, BlockedParticipant.event_id == ev.id) == 0
    assert count(session, Question) == 1 and count(session, Theme, Theme.event_id == other.id) == 4


def test_a_copy_keeps_the_organisers_translations(session):
    ev = organiser.create_event(session, {
        "title": "Talk", "translations": {"es": {"title": "Charla"}},
        "themes": [{"label": "Ports", "translations": {"fr": {"label": "Havres"}}}],
    })
    copy = organiser.duplicate_event(session, ev.id)
    assert _texts(copy) == {"es": {"title": "Charla"}, "fr": {"themes": {"ports": {"label": "Havres"}}}}
