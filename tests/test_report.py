"""The outcome report (qa/domain/report.py, /e/<code>/report in qa/web/pages.py, templates/report.html):
counts per theme, top questions with their answers, languages, questions over time, and the
printable page in English, French and Spanish, rendered to PDF by Chromium and looked at."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import CHROMIUM, need_browser

from qa.domain import moderation, organiser, questions, report
from qa.models import Question

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 12, 1, 13, 2)  # UTC


def ask(session, ev, cid: str, theme: str, text: str, minutes: int, pid: str = "p", lang: str | None = None):
    q = questions.submit(session, ev, pid, {"client_id": cid, "theme": theme, "text": text}).question
    q = session.get(Question, q.id)
    q.created_at = T0.replace(minute=T0.minute + minutes) if minutes < 58 else T0.replace(hour=14, minute=minutes - 58)
    if lang is not None:
        q.language = lang
    session.commit()
    return q


def act(session, ev, q, *actions):
    for action in actions:
        moderation.moderate(session, ev.id, {"id": q.id, "action": action})


@pytest.fixture
def filled(session):
    """An event in three languages with questions in every state, over an hour."""
    ev = organiser.create_event(session, {
        "title": "Trade talk", "translations": {"fr": {"title": "Débat commercial"}},
        "themes": [{"label": "Ports", "prompt": "Which ports first?",
                    "translations": {"fr": {"label": "Havres", "prompt": "Quels ports d’abord ?"}}},
                   {"label": "Finance", "prompt": "How to pay?"},
                   {"label": "Unused", "hidden": True}],
        "submissions_open": True,
    })
    a = ask(session, ev, "a", "ports", "Which single window goes first?", 0, lang="en")
    b = ask(session, ev, "b", "ports", "Quel guichet unique d’abord ?", 5, lang="fr")
    c = ask(session, ev, "c", "ports", "¿Qué puerto primero?", 31, lang="es")
    d = ask(session, ev, "d", "finance", "Cheaper cross-border payments?", 12, lang="en")
    e = ask(session, ev, "e", "finance", "Spam spam spam spam", 40)
    act(session, ev, a, "approve", "answer")
    act(session, ev, b, "approve")
    act(session, ev, d, "approve")
    act(session, ev, e, "reject")
    for q, n in ((a, 3), (b, 7), (d, 2)):
        session.get(Question, q.id).votes = n
    session.commit()
    return ev


def test_per_theme_counts_top_questions_and_languages(session, filled):
    data = report.build(session, filled.id)
    assert [t["key"] for t in data["themes"]] == ["ports", "finance"]  # the hidden, empty theme is left out
    ports, finance = data["themes"]
    assert (ports["received"], ports["published"], ports["answered"], ports["not_published"], ports["pending"]) == (
        3, 2, 1, 0, 1)
    assert (finance["received"], finance["published"], finance["not_published"]) == (2, 1, 1)
    assert ports["prompt"] == "Which ports first?"
    assert [q["votes"] for q in ports["top"]] == [7, 3]  # most votes first; pending and rejected left out
    assert ports["languages"] == [("en", 1), ("es", 1), ("fr", 1)]
    assert data["languages"] == [("en", 2), ("es", 1), ("fr", 1), (None, 1)]
    assert data["totals"] == {"received": 5, "pending": 1, "published": 3, "answered": 1, "not_published": 1}
    fr = report.build(session, filled.id, "fr")
    assert fr["event"]["title"] == "Débat commercial" and fr["themes"][0]["label"] == "Havres"
    assert fr["themes"][0]["prompt"] == "Quels ports d’abord ?" and fr["themes"][1]["label"] == "Finance"


def test_questions_over_time_in_the_viewers_zone(session, filled):
    data = report.build(session, filled.id, tz=ZoneInfo("Europe/Paris"))
    series = data["series"]
    # 13:02 to 13:42 UTC: 40 minutes, in 5-minute buckets from 14:00 Paris time.
    assert series["minutes"] == 5 and len(series["starts"]) == 9
    assert series["starts"][0] == datetime(2026, 12, 1, 14, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert series["counts"]["ports"] == [1, 1, 0, 0, 0, 0, 1, 0, 0]  # 14:02, 14:07, 14:33
    assert series["cumulative"]["finance"] == [0, 0, 0, 1, 1, 1, 1, 1, 1, 2]  # at the 10 edges, from 0
    assert series["edges"][-1] == datetime(2026, 12, 1, 14, 45, tzinfo=ZoneInfo("Europe/Paris"))
    assert data["first"].hour == 14 and data["time_zone"] == "Europe/Paris"
    chart = data["chart"]
    assert [line["key"] for line in chart["lines"]] == ["ports", "finance"]
    assert chart["lines"][0]["colour"] == filled.themes[0].colour
    assert [t["value"] for t in chart["ticks_y"]] == [0, 2, 5]
    # Lines start at the bottom left and end at the right, at their totals (3 of a ceiling of 5).
    ends = {line["key"]: line["end"] for line in chart["lines"]}
    assert chart["lines"][0]["points"].startswith(f"{chart['left']}.0,{chart['bottom']}.0 ")
    assert ends["ports"]["value"] == 3 and ends["ports"]["x"] == chart["right"]
    assert ends["ports"]["y"] == round(chart["top"] + (chart["bottom"] - chart["top"]) * 2 / 5, 1)


def test_questions_within_one_minute_still_draw_a_line(session):
    ev = organiser.create_event(session, {"title": "Quick", "submissions_open": True})
    ask(session, ev, "a", "finance", "One question about money", 0)
    data = report.build(session, ev.id)
    assert data["series"]["cumulative"]["finance"] == [0, 1]
    assert len(data["chart"]["lines"][0]["points"].split()) == 2


@pytest.mark.parametrize("value, expected", [(1, 1), (2, 2), (3, 5), (6, 10), (11, 20), (21, 50), (99, 100)])
def test_nice_ceiling(value, expected):
    assert report.nice_ceiling(value) == expected


@pytest.mark.parametrize("name", [None, "", "Mars/Olympus", "../../etc/passwd", 3, "x" * 100])
def test_an_unknown_time_zone_is_utc(name):
    assert report.time_zone(name) is timezone.utc


def test_no_questions_no_chart(session):
    ev = organiser.create_event(session, {"title": "Empty"})
    data = report.build(session, ev.id)
    assert data["chart"] is None and data["series"]["starts"] == [] and data["totals"]["received"] == 0


def test_a_written_answer_shows_with_its_question(session, filled):
    q = session.get(Question, next(t["top"][0]["id"] for t in report.build(session, filled.id)["themes"]))
    q.reply_text, q.reply_public = "The single window pilots in March.", True
    session.commit()
    top = report.build(session, filled.id)["themes"][0]["top"][0]
    assert top["reply"]["text"] == "The single window pilots in March." and top["reply"]["public"] is True


# ---- The page -------------------------------------------------------------------------


def test_the_page_asks_for_the_moderator_token(app, client, session, filled):
    code, token = filled.code, filled.moderator_token
    html = client.get(f"/e/{code}/report").get_data(as_text=True)
    assert 'name="token"' in html and "Which single window" not in html
    r = client.post(f"/e/{code}/report", data={"token": "wrong"})
    assert r.status_code == 403 and "The moderator token is wrong for this event." in r.get_data(as_text=True)
    assert "Which single window" not in r.get_data(as_text=True)
    # The token as a header, posted by the form, or the whole moderator link pasted.
    for r in (client.get(f"/e/{code}/report", headers={"Authorization": f"Bearer {token}"}),
              client.post(f"/e/{code}/report", data={"token": token}),
              client.post(f"/e/{code}/report", data={"token": f"http://x/e/{code}/moderate#token={token}"})):
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and "Which single window goes first?" in html
    assert "<svg" in html and "<polyline" in html and "Spam spam" not in html


@pytest.mark.parametrize("lang, words", [
    ("en", ["Outcome report", "Trade talk", "Guiding question", "Top questions by votes", "Languages asked in:",
            "French", "Times in Europe/Madrid"]),
    ("fr", ["Bilan", "Débat commercial", "Havres", "Quels ports d’abord ?", "Question d’orientation", "français",
            "espagnol"]),
    ("es", ["Informe", "Trade talk", "Pregunta orientadora", "francés", "inglés"]),
])
def test_the_report_in_three_languages(client, filled, lang, words):
    r = client.post(f"/e/{filled.code}/report?lang={lang}", data={"token": filled.moderator_token,
                                                                  "tz": "Europe/Madrid"})
    html = r.get_data(as_text=True)
    assert f'<html lang="{lang}"' in html
    for word in words:
        assert word in html, word


def test_printed_to_pdf_by_chromium(app, filled, tmp_path):
    """Chromium's page.pdf() with the print stylesheet: pages come out, each looked at as PNG
    (tests/artifacts/report-*.png) when poppler's pdftoppm is installed."""
    need_browser()
    from playwright import sync_api
    from live_server import LiveServer
    from conftest import ADMIN_TOKEN

    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    env = {"QA_DATABASE_URL": f"sqlite:///{tmp_path}/r.db", "QA_ADMIN_TOKEN": ADMIN_TOKEN,
           "QA_SECRET_KEY": "test-secret", "QA_ASYNC_MODE": "threading", "QA_INSTANCE_PATH": str(tmp_path)}
    with LiveServer(env, args=("--no-demo",)) as server:
        created = _seed_live(server.url, ADMIN_TOKEN)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR",
                                        timezone_id="Europe/Paris")
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                # The moderator link's #token reaches the report through the page's form, not the address.
                page.goto(f"{server.url}/e/{created['code']}/report?lang=fr#token={created['moderator_token']}")
                sync_api.expect(page.locator("h1")).to_have_text("Débat commercial", timeout=10_000)
                assert "token" not in page.url
                sync_api.expect(page.locator(".report-meta")).to_contain_text("Europe/Paris")
                page.screenshot(path=str(artifacts / "report-screen-fr.png"), full_page=True)
                assert page.locator(".report-theme").count() == 2
                page.emulate_media(media="print")
                assert page.locator(".lang-switch").is_hidden() and page.locator("#print-report").is_hidden()
                pdf = tmp_path / "report.pdf"
                page.pdf(path=str(pdf), format="A4", print_background=True)
                assert errors == []
            finally:
                browser.close()
    body = pdf.read_bytes()
    assert body.startswith(b"%PDF") and len(body) > 5_000
    pages = len(re.findall(rb"/Type\s*/Page[^s]", body))
    assert 1 <= pages <= 4, pages
    if shutil.which("pdftoppm"):
        for old in artifacts.glob("report-pdf-*.png"):
            old.unlink()
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(artifacts / "report-pdf")], check=True,
                       timeout=60)
        assert len(list(artifacts.glob("report-pdf-*.png"))) == pages
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
        for words in ("Débat commercial", "Havres", "Quels ports d’abord", "Questions au fil du temps"):
            assert words in text, words


def _seed_live(url: str, admin_token: str) -> dict:
    """An event with questions in three languages on the live server, through its HTTP API and sockets."""
    import requests
    import socketio as sio_client

    r = requests.post(f"{url}/api/admin/events", timeout=10, headers={"Authorization": f"Bearer {admin_token}"},
                      json={"title": "Trade talk", "submissions_open": True,
                            "translations": {"fr": {"title": "Débat commercial"}},
                            "themes": [{"label": "Ports", "prompt": "Which ports first?",
                                        "translations": {"fr": {"label": "Havres",
                                                                "prompt": "Quels ports d’abord ?"}}},
                                       {"label": "Finance", "prompt": "How to pay?"}]})
    r.raise_for_status()
    created = r.json()
    asked = [("ports", "Which single window should go first for small exporters?"),
             ("ports", "Quel guichet unique faut-il ouvrir d’abord pour les petites entreprises ?"),
             ("finance", "¿Cómo abaratar los pagos transfronterizos para las mipymes?")]
    participant = sio_client.SimpleClient()
    participant.connect(url, auth={"event": created["code"], "role": "participant"}, transports=["websocket"])
    moderator = sio_client.SimpleClient()
    moderator.connect(url, auth={"event": created["code"], "role": "moderator", "token": created["moderator_token"]},
                      transports=["websocket"])
    try:
        for i, (theme, text) in enumerate(asked):
            ack = participant.call("question:submit", {"client_id": f"c{i}", "theme": theme, "text": text}, timeout=10)
            assert ack["ok"], ack
            assert moderator.call("question:moderate", {"id": ack["question"]["id"], "action": "approve"},
                                  timeout=10)["ok"]
    finally:
        participant.disconnect()
        moderator.disconnect()
    return created


def test_each_line_has_its_own_dash(session, filled):
    chart = report.build(session, filled.id)["chart"]
    assert [line["dash"] for line in chart["lines"]] == list(report.DASHES[:2])
    assert chart["dashes"] == {"ports": report.DASHES[0], "finance": report.DASHES[1]}
