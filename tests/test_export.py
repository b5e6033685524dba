"""Exports: every question with its history, and the per-theme summary."""
from qa.domain import events, moderation, questions
from qa.domain.export import export_rows, theme_summary


def test_rows_and_summary(session):
    ev = events.create_event(session, {"title": "T"})

    def ask(cid, theme):
        return questions.submit(session, ev, "p", {"client_id": cid, "theme": theme, "text": f"Q {cid}"}).question

    a, b, c, d = ask("a", "finance"), ask("b", "finance"), ask("c", "digitalization"), ask("d", "finance")
    for q, actions in [(a, ["approve", "answer"]), (b, ["approve"]), (c, ["reject"])]:
        for action in actions:
            moderation.moderate(session, ev.id, {"id": q.id, "action": action})
    moderation.edit(session, ev.id, ev, {"id": d.id, "text": "Edited"})

    rows = {r["id"]: r for r in export_rows(session, ev.id)}
    assert [rows[q.id]["status"] for q in (a, b, c, d)] == ["answered", "approved", "rejected", "pending"]
    assert rows[a.id]["theme_label"] == "Access to finance & cross-border payments"
    assert [h["action"] for h in rows[a.id]["history"]] == ["approve", "answer"]
    assert rows[d.id]["history"][0]["detail"]["from"]["text"] == "Q d"

    summary = {s["theme"]: s for s in theme_summary(session, ev.id)}
    assert list(summary) == ["trade-facilitation", "finance", "digitalization", "other"]
    assert summary["finance"] == {"theme": "finance", "label": "Access to finance & cross-border payments",
                                  "received": 3, "pending": 1, "published": 2, "answered": 1,
                                  "not_published": 0}
    assert summary["digitalization"]["not_published"] == 1
    assert summary["other"]["received"] == 0


def test_rows_carry_reply_labels_and_star_and_their_csv_cells(session):
    from qa.domain.export import REPLY_LABEL_COLUMNS, reply_label_cells
    ev = events.create_event(session, {"title": "T"})
    a = questions.submit(session, ev, "p", {"client_id": "a", "theme": "finance", "text": "Q a"}).question
    b = questions.submit(session, ev, "p", {"client_id": "b", "theme": "finance", "text": "Q b"}).question
    moderation.moderate(session, ev.id, {"id": a.id, "action": "approve"})
    moderation.reply(session, ev.id, {"id": a.id, "text": "In June.", "public": True, "answer": True})
    moderation.set_labels(session, ev.id, {"id": a.id, "labels": ["for the Group", "follow-up"]})
    moderation.set_star(session, ev.id, {"id": a.id, "starred": True})

    rows = {r["id"]: r for r in export_rows(session, ev.id)}
    assert rows[a.id]["reply"]["text"] == "In June." and rows[a.id]["reply"]["public"] is True
    assert rows[a.id]["labels"] == ["for the Group", "follow-up"] and rows[a.id]["starred"] is True
    assert [h["action"] for h in rows[a.id]["history"]] == ["approve", "reply", "answer", "labels", "star"]
    cells = reply_label_cells(rows[a.id])
    assert list(cells) == REPLY_LABEL_COLUMNS
    assert cells["reply"] == "In June." and cells["reply_public"] is True and cells["replied_at"].endswith("Z")
    assert cells["labels"] == "for the Group; follow-up" and cells["starred"] is True
    assert reply_label_cells(rows[b.id]) == {"reply": "", "reply_public": "", "replied_at": "", "labels": "",
                                             "starred": False}


def test_csv_cells_in_the_viewers_words_and_zone(session):
    """One field a column, no JSON: the status in words, local times with the zone beside them."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from qa.domain.export import CSV_COLUMNS, csv_row
    from qa.models import Question

    ev = events.create_event(session, {"title": "T"})
    a = questions.submit(session, ev, "p", {"client_id": "a", "theme": "finance", "text": "Q a"}).question
    b = questions.submit(session, ev, "p", {"client_id": "b", "theme": "finance", "text": "Q b"}).question
    session.get(Question, a.id).created_at = datetime(2026, 7, 1, 12, 30, 5)  # summer time in Paris
    session.commit()
    moderation.moderate(session, ev.id, {"id": a.id, "action": "approve"})
    moderation.merge(session, ev.id, {"id": b.id, "into": a.id})
    words = {"pending": "En attente de modération", "approved": "Publiée", "answered": "Répondue",
             "rejected": "Non publiée"}
    rows = {r["id"]: csv_row(r, words, ZoneInfo("Europe/Paris")) for r in export_rows(session, ev.id)}
    row = rows[a.id]
    assert row["status"] == "Publiée"
    assert row["created_at"] == "2026-07-01 14:30:05" and row["time_zone"] == "Europe/Paris"
    entries = row["history"].split("; ")
    assert [e.rsplit(" ", 1)[1] for e in entries] == ["approve", "merge"] and "{" not in row["history"]
    assert all(datetime.strptime(e.rsplit(" ", 1)[0], "%Y-%m-%d %H:%M:%S") for e in entries)
    assert set(CSV_COLUMNS) <= set(row)
    assert rows[b.id]["merged_into"] == a.id and row["merged_into"] == ""
    for column in CSV_COLUMNS:
        assert not isinstance(row[column], (dict, list)), (column, row)


def test_the_csv_download_speaks_the_viewers_language_and_zone(client, event):
    import csv
    import io

    with client.application.app_context():
        from qa.extensions import db

        ev = events.find_event(db.session, event["code"])
        q = questions.submit(db.session, ev, "p", {"client_id": "a", "theme": "finance", "text": "Q"}).question
        moderation.moderate(db.session, ev.id, {"id": q.id, "action": "approve"})
    auth = {"Authorization": f"Bearer {event['token']}"}
    for query, status, zone in (("?lang=fr&tz=America/Bogota", "Publiée", "America/Bogota"),
                                ("?lang=es", "Publicada", "UTC"), ("?tz=Nowhere/Else", "Published", "UTC")):
        text = client.get(f"/api/events/{event['code']}/export.csv{query}", headers=auth).get_data(as_text=True)
        (row,) = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        assert (row["status"], row["time_zone"]) == (status, zone), query
        assert row["merged_into"] == "" and row["history"].endswith(" approve")
