"""English, French and Spanish: complete catalogues, the language each person gets,
and errors, acks and refusals in that language over HTTP and Socket.IO."""
from __future__ import annotations

import gettext
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from socketio import packet

from conftest import ADMIN_TOKEN
from qa import i18n
from qa.domain import events as events_domain
from qa.domain.translations import detect_language, localize
from qa.extensions import socketio
from qa.models import Question
from qa.web import broadcast

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = ("fr", "es")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def po_path(lang: str) -> Path:
    return ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po"


def source_msgids() -> dict:
    """Every (msgid, context) in the code, templates and page scripts, as pybabel extracts it (babel.cfg).

    The context is None but for pgettext() (the status "Open" and the button "Open" differ in French).
    """
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, comment_tags=(), strip_comment_tags=True
    ):
        found.setdefault((message, context or None), f"{filename}:{lineno}")
    return found


def catalogue(lang: str):
    with open(po_path(lang), "rb") as f:
        return read_po(f, locale=lang)


# ---- The catalogues ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_visible_string_is_translated(lang):
    """A msgid in Python, a template or a page script without a good translation fails here.

    Fix: run scripts/translations, translate what is empty or fuzzy, compile.
    """
    cat = catalogue(lang)
    problems = []
    for (msgid, context), where in source_msgids().items():
        message = cat.get(msgid, context)
        if message is None:
            problems.append(f"{where}: not in the {lang} catalogue: {msgid!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s and s.strip() for s in strings):
            problems.append(f"{where}: no {lang} translation: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"{where}: {lang} translation is fuzzy (check it): {msgid!r}")
        else:
            wanted = set(PLACEHOLDER.findall(msgid if isinstance(msgid, str) else msgid[0]))
            for s in strings:
                if set(PLACEHOLDER.findall(s)) != wanted:
                    problems.append(f"{where}: {lang} placeholders differ: {msgid!r} -> {s!r}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_passes_babels_checks(lang):
    """Placeholders and plural forms as gettext expects (what `pybabel compile` checks)."""
    cat = catalogue(lang)
    assert cat.num_plurals == 2
    errors = [(m.id, [str(e) for e in errs]) for m, errs in cat.check()]
    assert errors == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_compiled_catalogues_match_their_po_files(lang):
    """The committed .mo is what compiling the committed .po gives: run `scripts/translations compile`."""
    buf = io.BytesIO()
    write_mo(buf, catalogue(lang), use_fuzzy=False)
    buf.seek(0)
    fresh = gettext.GNUTranslations(buf)
    with open(po_path(lang).with_suffix(".mo"), "rb") as f:
        stored = gettext.GNUTranslations(f)
    assert stored._catalog == fresh._catalog
    assert stored.plural(1) == fresh.plural(1) and stored.plural(2) == fresh.plural(2)


def test_script_strings_come_from_the_same_catalogues(client):
    """/i18n/<lang>.json has every t()/tn() msgid of static/js, translated."""
    js = i18n.script_msgids()
    assert "Connecting…" in js and ("%(num)d vote", "%(num)d votes") in js
    for lang in TRANSLATED:
        r = client.get(f"/i18n/{lang}.json")
        assert r.status_code == 200 and r.mimetype == "application/json"
        body = r.get_json()
        assert body["lang"] == lang
        for msgid in js:
            key = msgid[0] if isinstance(msgid, tuple) else msgid
            value = body["messages"][key]
            if isinstance(msgid, tuple):
                assert isinstance(value, list) and len(value) == 2 and all(value), (key, value)
            else:
                assert isinstance(value, str) and value.strip(), (lang, key)
        assert body["messages"]["Connecting…"] == {"fr": "Connexion…", "es": "Conectando…"}[lang]
    # A versioned URL is cached for good; a wrong language does not exist.
    body, version = i18n.script_json("fr")
    r = client.get(f"/i18n/fr.json?v={version}")
    assert "immutable" in r.headers["Cache-Control"]
    assert client.get("/i18n/fr.json", headers={"If-None-Match": f'"{version}"'}).status_code == 304
    assert client.get("/i18n/de.json").status_code == 404


# ---- Which language a person gets ---------------------------------------------------------


@pytest.mark.parametrize("headers, query, cookie, expected", [
    ({}, "", None, "en"),
    ({"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}, "", None, "fr"),
    ({"Accept-Language": "es-419,es;q=0.9"}, "", None, "es"),
    ({"Accept-Language": "de-DE,de;q=0.9"}, "", None, "en"),
    ({"Accept-Language": "de, es;q=0.4"}, "", None, "es"),
    ({"Accept-Language": "fr"}, "", "es", "es"),  # the remembered choice beats the browser
    ({"Accept-Language": "fr"}, "?lang=en", "es", "en"),  # ?lang= beats both
    ({}, "?lang=xx", None, "en"),
])
def test_language_of_a_page(client, event, headers, query, cookie, expected):
    if cookie:
        client.set_cookie(i18n.COOKIE, cookie)
    r = client.get(f"/e/{event['code']}{query}", headers=headers)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f'<html lang="{expected}"' in html
    words = {"en": "Ask a question", "fr": "Poser une question", "es": "Hacer una pregunta"}[expected]
    assert words in html
    assert "Accept-Language" in r.headers["Vary"] and "Cookie" in r.headers["Vary"]


def test_the_switch_remembers_and_stays_on_this_site(client, event):
    page = f"/e/{event['code']}/screen?theme=finance"
    r = client.get(page + "&lang=fr", headers={"Accept-Language": "en"})
    html = r.get_data(as_text=True)
    # Each page links to the three languages; the way back drops ?lang= and keeps the rest.
    assert f'href="/lang/es?next=/e/{event["code"]}/screen?theme%3Dfinance"' in html
    assert 'lang="fr" hreflang="fr" aria-current="true">Français</a>' in html
    r = client.get(f"/lang/es?next=/e/{event['code']}")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/e/{event['code']}")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("qa_lang=es;") and "Max-Age=31536000" in cookie and "SameSite=Lax" in cookie
    assert '<html lang="es"' in client.get(f"/e/{event['code']}").get_data(as_text=True)
    assert '<html lang="es"' in client.get("/").get_data(as_text=True)
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        r = client.get("/lang/fr", query_string={"next": evil})
        assert r.headers["Location"] in ("/", "http://localhost/"), evil
    assert client.get("/lang/de?next=/").status_code == 404


def test_pages_and_error_page_in_each_language(client, event):
    expected = {
        "fr": ["Modérer", "Raccourcis clavier", "Entrantes", "File d’attente"],
        "es": ["Moderar", "Atajos de teclado", "Recibidas", "Cola"],
    }
    for lang, words in expected.items():
        html = client.get(f"/e/{event['code']}/moderate?lang={lang}").get_data(as_text=True)
        for word in words:
            assert word in html, (lang, word)
    r = client.get("/e/NOSUCH", headers={"Accept-Language": "es"})
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert "Ningún evento tiene el código «NOSUCH»." in html and '<html lang="es"' in html
    r = client.get("/no/such/page", headers={"Accept-Language": "fr"})
    assert "Il n’y a rien à cette adresse." in r.get_data(as_text=True)


# ---- Errors over HTTP ------------------------------------------------------------------------


def test_api_errors_in_the_persons_language(client, event):
    r = client.get("/api/events/NOSUCH", headers={"Accept-Language": "fr"})
    assert r.status_code == 404
    assert r.get_json()["error"] == {"code": "not_found", "message": "Aucun événement n’a le code «\u00a0NOSUCH\u00a0»."}
    r = client.post("/api/events", json={"title": "x"}, headers={"Accept-Language": "es"})
    assert r.get_json()["error"]["message"] == "Envíe el token de administración como «Authorization: Bearer <token>»."
    r = client.post("/api/events", json={"title": "   "},
                    headers={"Accept-Language": "fr", "Authorization": f"Bearer {ADMIN_TOKEN}"})
    # The field's label is translated too.
    assert r.get_json()["error"]["message"] == "Le champ «\u00a0titre\u00a0» ne peut pas être vide."
    r = client.get("/api/events/NOSUCH")  # no preference: English, as the contract shows
    assert r.get_json()["error"]["message"] == "No event has the code “NOSUCH”."


# ---- Acks and refusals over Socket.IO -------------------------------------------------------


def refusal(app, client, monkeypatch, auth) -> dict:
    """The CONNECT_ERROR payload a refused connect gets."""
    errors = []
    sink = socketio.server._send_packet

    def spy(eio_sid, pkt):
        if pkt.packet_type == packet.CONNECT_ERROR:
            errors.append(pkt.data)
        return sink(eio_sid, pkt)

    c = socketio.test_client(app, auth=auth, flask_test_client=client)
    assert not c.is_connected()
    # The test client drops CONNECT_ERROR's payload: listen in on a second try.
    with monkeypatch.context() as mp:
        mp.setattr(socketio.server, "_send_packet", spy)
        c.connect(auth=auth)
    assert not c.is_connected()
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("lang, wrong_code, wrong_token", [
    ("en", "No event has the code “NOSUCH”.", "The moderator token is missing or wrong for this event."),
    ("fr", "Aucun événement n’a le code «\u00a0NOSUCH\u00a0».",
     "Le jeton de modération est absent ou ne correspond pas à cet événement."),
    ("es", "Ningún evento tiene el código «NOSUCH».", "Falta el token de moderación o no corresponde a este evento."),
])
def test_refusals_in_the_clients_language(app, client, event, monkeypatch, lang, wrong_code, wrong_token):
    data = refusal(app, client, monkeypatch, {"event": "NOSUCH", "role": "screen", "lang": lang})
    assert data == {"message": wrong_code, "data": {"code": "not_found"}}
    data = refusal(app, client, monkeypatch, {"event": event["code"], "role": "moderator", "token": "x",
                                              "lang": lang})
    assert data["message"] == wrong_token


@pytest.mark.parametrize("lang, messages", [
    ("fr", {"empty": "Le champ «\u00a0question\u00a0» ne peut pas être vide.",
            "theme": "Thème inconnu\u00a0: «\u00a0nope\u00a0».",
            "forbidden": "Seul un modérateur peut envoyer «\u00a0question:moderate\u00a0».",
            "unknown": "Événement inconnu\u00a0: «\u00a0question:delete\u00a0».",
            "vote": "Il n’y a pas de question 999999 dans cet événement."}),
    ("es", {"empty": "El campo «pregunta» no puede estar vacío.",
            "theme": "Tema desconocido: «nope».",
            "forbidden": "Solo un moderador puede enviar «question:moderate».",
            "unknown": "Evento desconocido: «question:delete».",
            "vote": "No hay ninguna pregunta 999999 en este evento."}),
    ("en", {"empty": "The field “question” cannot be empty.",
            "theme": "Unknown theme “nope”.",
            "forbidden": "Only a moderator can send 'question:moderate'.",
            "unknown": "Unknown event 'question:delete'.",
            "vote": "No question 999999 in this event."}),
])
def test_acks_in_the_clients_language(connect, lang, messages):
    p = connect("participant", lang=lang)
    got = {
        "empty": p.emit("question:submit", {"client_id": "a", "theme": "finance", "text": "  "}, callback=True),
        "theme": p.emit("question:submit", {"client_id": "b", "theme": "nope", "text": "Hello?"}, callback=True),
        "forbidden": p.emit("question:moderate", {"id": 1, "action": "approve"}, callback=True),
        "unknown": p.emit("question:delete", {"id": 1}, callback=True),
        "vote": p.emit("question:vote", {"id": 999999}, callback=True),
    }
    assert {k: ack["error"]["message"] for k, ack in got.items()} == messages
    assert all(ack["ok"] is False for ack in got.values())


def test_a_client_without_lang_gets_its_browsers_language(app, client, event):
    """No `lang` in auth: the handshake's cookie or Accept-Language decides, else English."""
    client.set_cookie(i18n.COOKIE, "es")
    c = socketio.test_client(app, auth={"event": event["code"], "role": "participant"}, flask_test_client=client)
    ack = c.emit("question:submit", {"client_id": "a", "theme": "nope", "text": "Hola"}, callback=True)
    assert ack["error"]["message"] == "Tema desconocido: «nope»."
    c.disconnect()


# ---- An event in three languages -------------------------------------------------------------


def test_localize_picks_the_translation_and_keeps_the_original_elsewhere():
    event = {
        "title": "Small businesses",
        "translations": {"fr": {"title": "Petites entreprises", "themes": {"finance": {"label": "Finance"}}},
                         "es": {"themes": {"finance": {"label": "Finanzas", "prompt": "¿Qué?"}}}},
        "themes": [{"key": "finance", "label": "Finance", "prompt": "What?"}],
    }
    fr, es, en = localize(event, "fr"), localize(event, "es"), localize(event, "en")
    assert (fr["title"], fr["themes"][0]["label"], fr["themes"][0]["prompt"]) == ("Petites entreprises", "Finance",
                                                                                   "What?")
    assert (es["title"], es["themes"][0]["label"], es["themes"][0]["prompt"]) == ("Small businesses", "Finanzas",
                                                                                   "¿Qué?")
    assert en["title"] == "Small businesses"


# ---- The language a question was written in --------------------------------------------------


@pytest.mark.parametrize("text, fallback, expected", [
    ("How can small exporters get faster customs clearance at the border?", None, "en"),
    ("Comment les petites entreprises peuvent-elles accéder au financement du commerce ?", "en", "fr"),
    ("¿Cómo pueden las pymes acceder a la financiación del comercio?", "en", "es"),
    ("Digitalisation des certificats d'origine", "es", "fr"),
    ("Pagos transfronterizos para microempresas", "fr", "es"),
    ("ok?", "fr", "fr"),  # too short to tell: the page's language
    ("???", None, None),
    ("Trade", "xx", None),
])
def test_detect_language(text, fallback, expected):
    assert detect_language(text, fallback) == expected


def test_the_language_model_is_loaded_when_the_server_starts(app, monkeypatch):
    """Not on the first question, which waited half a second for it with everyone else."""
    from qa import startup
    from qa.domain import translations

    monkeypatch.setattr(translations, "_identifier", None)
    startup.prepare(app, base_url="http://127.0.0.1:5000", demo=False)
    assert translations._identifier is not None


# ---- In a real browser: the switch, Intl and the scripts' strings ----------------------------


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.usefixtures("browser_required")
@pytest.mark.timeout(120)
def test_switch_in_a_browser_is_remembered_and_scripts_follow(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    import requests

    from live_server import LiveServer

    env = {"QA_DATABASE_URL": f"sqlite:///{tmp_path / 'qa.sqlite3'}", "QA_SECRET_KEY": "s",
           "QA_ADMIN_TOKEN": ADMIN_TOKEN, "QA_ASYNC_MODE": "threading", "QA_RATE_LIMITS": "off"}
    with LiveServer(env, args=("--no-demo",)) as srv, sync_api.sync_playwright() as pw:
        r = requests.post(srv.url + "/api/events", json={"title": "Switch"},
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5)
        code = r.json()["code"]
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"],
                                     headless=True)
        try:
            ctx = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
            page = ctx.new_page()
            page.set_default_timeout(10_000)
            expect = sync_api.expect
            page.goto(f"{srv.url}/e/{code}")
            expect(page.locator("#conn")).to_have_text("Connected")
            page.get_by_role("link", name="Español").click()
            expect(page.locator("html")).to_have_attribute("lang", "es")
            expect(page.locator("#conn")).to_have_text("Conectado")  # the page script's string
            expect(page.locator("#ask-send")).to_have_text("Enviar")
            page.click("#ask-send")  # nothing written: the script's own message, in Spanish
            expect(page.locator("#ask-error")).to_have_text("Escriba primero su pregunta.")
            page.locator("#theme-chips .chip").first.click()  # no theme is chosen unless a segment is on
            page.fill("#ask-text", "¿Qué apoyo habrá para las mipymes exportadoras?")
            page.click("#ask-send")
            mine = page.locator("#mine-list .mine-item")
            expect(mine.locator(".status")).to_have_text("Pendiente de moderación")
            # Times in the page's language (Intl), with the full date for a tooltip.
            title = mine.locator("time").get_attribute("title")
            assert re.search(r"(lunes|martes|miércoles|jueves|viernes|sábado|domingo)", title), title
            # Remembered: another page, a reload, the join page.
            page.goto(f"{srv.url}/")
            expect(page.locator("html")).to_have_attribute("lang", "es")
            expect(page.locator("#join-button")).to_have_text("Entrar")
            page.fill("#join-code", "NOPE")
            page.click("#join-button")
            expect(page.locator("#join-error")).to_contain_text("No existe ningún evento con el código «NOPE»")
            ctx.close()
        finally:
            browser.close()


# ---- Stored translations and question languages (migration 0004) ----------------------------

needs_0004 = pytest.mark.skipif(not hasattr(Question, "language"),
                                reason="needs Event/Theme.translations and Question.language (migration 0004)")


@needs_0004
def test_event_translations_through_the_api(client):
    body = {"title": "Small businesses in trade",
            "themes": [{"key": "finance", "label": "Finance", "prompt": "What next?"},
                       {"key": "other", "label": "Other"}],
            "translations": {"fr": {"title": "Les petites entreprises", "themes": {
                                 "finance": {"label": "Financement", "prompt": "Et ensuite ?"}}},
                             "es": {"title": "Las pequeñas empresas"}}}
    r = client.post("/api/events", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 201, r.get_json()
    code = r.get_json()["code"]
    ev = client.get(f"/api/events/{code}").get_json()
    assert ev["title"] == "Small businesses in trade"  # the original stays the original
    assert ev["translations"] == {
        "fr": {"title": "Les petites entreprises",
               "themes": {"finance": {"label": "Financement", "prompt": "Et ensuite ?"}}},
        "es": {"title": "Las pequeñas empresas"},
    }
    html = client.get(f"/e/{code}?lang=fr").get_data(as_text=True)
    assert "<h1 id=\"event-title\" class=\"topbar-title\">Les petites entreprises</h1>" in html
    assert "Las pequeñas empresas · Pantalla" in client.get(f"/e/{code}/screen?lang=es").get_data(as_text=True)
    # The default themes come with their French and Spanish.
    r = client.post("/api/events", json={"title": "Defaults"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    ev = client.get(f"/api/events/{r.get_json()['code']}").get_json()
    assert ev["translations"]["fr"]["themes"]["trade-facilitation"]["label"] == "Facilitation des échanges"
    assert ev["translations"]["es"]["themes"]["digitalization"]["label"] == "Digitalización"


@needs_0004
@pytest.mark.parametrize("translations, code", [
    ({"de": {"title": "Kleine Unternehmen"}}, "invalid"),
    ({"fr": {"subtitle": "x"}}, "invalid"),
    ({"fr": {"themes": {"nope": {"label": "x"}}}}, "invalid"),
    ({"fr": {"title": "x" * 201}}, "invalid"),
    ({"fr": {"title": 3}}, "bad_request"),
    (["fr"], "bad_request"),
])
def test_bad_event_translations_are_refused(client, translations, code):
    r = client.post("/api/events", json={"title": "T", "translations": translations},
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Accept-Language": "fr"})
    assert r.get_json()["error"]["code"] == code, r.get_json()


@needs_0004
def test_a_question_keeps_the_language_it_was_written_in(connect):
    p, m = connect("participant", lang="es"), connect("moderator", lang="en")
    said = {}
    for cid, text in [("a", "Comment financer l'exportation des petites entreprises ?"),
                      ("b", "How can small exporters get faster customs clearance?"),
                      ("c", "¿Y las mipymes?")]:
        ack = p.emit("question:submit", {"client_id": cid, "theme": "finance", "text": text}, callback=True)
        assert ack["ok"], ack
        said[cid] = ack["question"]["language"]
    # French and English found from the text; too short to tell: the asker's page language.
    assert said == {"a": "fr", "b": "en", "c": "es"}
    assert broadcast.settle()  # question:new goes out just after the ack
    new = [msg["args"][0]["question"] for msg in m.get_received() if msg["name"] == "question:new"]
    assert sorted(q["language"] for q in new) == ["en", "es", "fr"]


@needs_0004
@pytest.mark.usefixtures("browser_required")
@pytest.mark.timeout(120)
def test_desk_shows_and_filters_by_question_language(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    import requests
    import socketio as sio

    from live_server import LiveServer

    env = {"QA_DATABASE_URL": f"sqlite:///{tmp_path / 'qa.sqlite3'}", "QA_SECRET_KEY": "s",
           "QA_ADMIN_TOKEN": ADMIN_TOKEN, "QA_ASYNC_MODE": "threading", "QA_RATE_LIMITS": "off"}
    with LiveServer(env, args=("--no-demo",)) as srv, sync_api.sync_playwright() as pw:
        ev = requests.post(srv.url + "/api/events", json={"title": "Languages"},
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5).json()
        p = sio.Client(reconnection=False)
        p.connect(srv.url, auth={"event": ev["code"], "role": "participant", "lang": "en"},
                  wait_timeout=10, transports=["websocket"])
        for cid, text in [("1", "How can small exporters get faster customs clearance?"),
                          ("2", "Comment financer l'exportation des petites entreprises ?"),
                          ("3", "¿Cómo pueden las mipymes vender en línea a otros países?")]:
            assert p.call("question:submit", {"client_id": cid, "theme": "finance", "text": text}, timeout=10)["ok"]
        p.disconnect()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"],
                                     headless=True)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 800})
            page.set_default_timeout(10_000)
            expect = sync_api.expect
            page.goto(f"{srv.url}/e/{ev['code']}/moderate?lang=fr#token={ev['moderator_token']}")
            cards = page.locator("#incoming-list .card")
            expect(cards).to_have_count(3)
            # Each card says its language: a code to see, the name in the desk's language to hear.
            french = cards.filter(has_text="Comment financer")
            expect(french.locator(".lang-tag")).to_contain_text("FR")
            expect(french.locator(".lang-tag .visually-hidden")).to_have_text("Français")
            expect(french.locator(".card-text")).to_have_attribute("lang", "fr")
            # The theme in the desk's language, from the default themes' translations.
            expect(french.locator(".theme-tag")).to_have_text("Accès au financement et paiements transfrontaliers")
            page.select_option("#language-filter", "es")
            expect(cards).to_have_count(1)
            expect(cards.first).to_contain_text("mipymes")
            expect(page.locator("#incoming-count")).to_have_text("1")
            page.select_option("#language-filter", "")
            expect(cards).to_have_count(3)
        finally:
            browser.close()


# ---- The organiser console (/admin) ----------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client) -> str:
    return CSRF_INPUT.search(client.get("/admin").get_data(as_text=True)).group(1)


def _signed_in(client, lang: str | None = None):
    """The test client signed in to the console, its language remembered as the switch does."""
    if lang:
        client.set_cookie(i18n.COOKIE, lang)
    r = client.post("/admin/sign-in", data={"token": ADMIN_TOKEN, "csrf_token": _csrf(client)})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    return client


def _admin_post(client, path: str, data: dict | None = None):
    return client.post(path, data={"csrf_token": _csrf(client), **(data or {})})


def test_console_in_french(client, event):
    """/admin in French: the sign-in page, its refusals, the event list, flashes, forms and errors."""
    client.set_cookie(i18n.COOKIE, "fr")
    html = client.get("/admin").get_data(as_text=True)
    assert '<html lang="fr"' in html
    for words in ("Console de l’organisateur", "Jeton d’administration", "Se connecter",
                  'aria-current="true">Français</a>', "Aller au contenu"):
        assert words in html, words
    assert "Admin token" not in html and "Sign in" not in html
    r = client.post("/admin/sign-in", data={"token": "wrong", "csrf_token": _csrf(client)})
    assert r.status_code == 403 and "Le jeton d’administration est incorrect." in r.get_data(as_text=True)
    r = client.post("/admin/sign-in", data={"token": ADMIN_TOKEN})  # no CSRF token: the error page
    assert r.status_code == 403
    assert "Ce formulaire a expiré ou ne vient pas de ce site." in r.get_data(as_text=True)

    _signed_in(client, "fr")
    html = client.get("/admin").get_data(as_text=True)
    for words in ("<h1>Événements</h1>", "Nouvel événement", "Se déconnecter", "Fermer les questions",
                  "Ouvert</span>", "en attente de modération", "non publiées", "Modération a priori",
                  "noms facultatifs", "Modérateurs", "Projecteur", "Copier", "Page à imprimer",
                  "Nouveau lien de modération", "Supprimer…", "Aucune date fixée",
                  "L’actuel cessera de fonctionner"):
        assert words in html, words
    # A new event: the flash and its date in French (Babel), 14:30 at UTC+1 shown as 13:30 UTC.
    r = _admin_post(client, "/admin/events", {
        "title": "Séance 2", "starts_at": "2026-12-01T14:30", "tz_offset": "-60", "moderation": "pre",
        "names": "optional", "themes-0-label": "Finance", "themes-0-key": "finance"})
    assert r.status_code == 303
    html = client.get("/admin").get_data(as_text=True)
    assert "Événement «\u00a0Séance 2\u00a0» créé, code" in html
    assert '<time datetime="2026-12-01T13:30:00.000Z" data-local>1 déc. 2026, 13:30 UTC</time>' in html
    assert "Brouillon</span>" in html
    # A form refused: the domain's message and the field's name in French.
    r = _admin_post(client, "/admin/events", {"title": "  ", "themes-0-label": "Finance"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "L’événement n’a pas été enregistré." in html and "Le champ «\u00a0titre\u00a0» ne peut pas être vide." in html
    r = _admin_post(client, "/admin/events", {"title": "Sans thème"})
    assert "Ajoutez au moins un thème." in r.get_data(as_text=True)
    # The delete page, its refusal, and an unknown code.
    html = client.get(f"/admin/events/{event['code']}/delete").get_data(as_text=True)
    assert "Supprimer définitivement" in html and "0 question et son historique (0 entrée)," in html
    r = _admin_post(client, f"/admin/events/{event['code']}/delete", {"confirm": event["code"]})
    assert r.status_code == 422 and "Cochez" in r.get_data(as_text=True)
    r = client.get("/admin/events/NOSUCH/edit")
    assert r.status_code == 404 and "Aucun événement n’a le code «\u00a0NOSUCH\u00a0»." in r.get_data(as_text=True)
    # The console's script strings come from the same catalogue.
    assert client.get("/i18n/fr.json").get_json()["messages"]["Copied"] == "Copié"


def test_console_flashes_in_spanish(client, event):
    _signed_in(client, "es")
    code = event["code"]
    for action, words in [("close", f"Las preguntas están cerradas para «Test webinar»."),
                          ("open", "Las preguntas están abiertas para «Test webinar»."),
                          ("rotate-token", "Nuevo enlace de moderación para «Test webinar»: el anterior ya no funciona."),
                          ("archive", "Se archivó «Test webinar». Aparece en Eventos archivados.")]:
        assert _admin_post(client, f"/admin/events/{code}/{action}").status_code == 303
        assert words in client.get("/admin").get_data(as_text=True), action
    html = client.get("/admin?show=archived").get_data(as_text=True)
    assert "<h1>Eventos archivados</h1>" in html and "Archivado</span>" in html and "Restablecer" in html
    assert _admin_post(client, f"/admin/events/{code}/delete", {"understood": "yes", "confirm": code}).status_code == 303
    assert f"Se eliminó «Test webinar» ({code}) con sus 0 preguntas y sus 0 votos." in client.get("/admin").get_data(
        as_text=True)
    r = _admin_post(client, "/admin/sign-out")
    assert "Ha cerrado la sesión." in client.get(r.headers["Location"]).get_data(as_text=True)


class _VisibleText(HTMLParser):
    """The text a person sees or hears on a page: text nodes and the attributes that are read out."""

    ATTRIBUTES = ("title", "alt", "placeholder", "aria-label", "data-confirm")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in self.ATTRIBUTES and value:
                self.found.append(value)
            if tag == "input" and name == "value" and ("type", "submit") in attrs and value:
                self.found.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.found.append(data)


def _visible(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    return [" ".join(s.split()) for s in parser.found]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_console_pages_show_no_english_left(app, client, event, lang):
    """Every console page rendered in English and in `lang`: no English text is left in `lang` but
    the event's own data (title, theme labels, codes, links) and words spelt the same in both."""
    code = event["code"]
    with app.app_context():
        from qa.domain import organiser
        from qa.extensions import db

        summary = organiser.describe(db.session, events_domain.find_event(db.session, code))
        copy = organiser.duplicate_event(db.session, event["id"])
        organiser.archive_event(db.session, copy.id)
        data = {summary["title"], copy.title, code, copy.code, "UTC", "QA_ADMIN_TOKEN"}
        for theme in summary["themes"]:
            data |= {theme["label"], theme["prompt"], theme["key"]}
        for texts in summary["translations"].values():  # the event's own French and Spanish, in the form
            data |= {texts.get("title", "")} | {v for t in texts.get("themes", {}).values() for v in t.values()}
        data |= {value.replace("\u00a0", " ") for value in data}  # French no-break spaces, as read on the page
        data.discard("")
    same = {m.string for m in catalogue(lang) if isinstance(m.id, str) and m.id and m.string == m.id}  # "Console"…
    same |= set(i18n.NAMES.values())

    def pages(language: str) -> dict[str, list[str]]:
        client.set_cookie(i18n.COOKIE, language)
        client.post("/admin/sign-out", data={"csrf_token": _csrf(client)})
        got = {"sign-in": _visible(client.get("/admin").get_data(as_text=True))}
        r = client.post("/admin/sign-in", data={"token": "", "csrf_token": _csrf(client)})
        got["sign-in refused"] = _visible(r.get_data(as_text=True))
        _signed_in(client)
        for path in ("/admin", "/admin?show=archived", "/admin/events/new", f"/admin/events/{code}/edit",
                     f"/admin/events/{code}/delete", f"/admin/events/{code}/print", "/admin/events/NOSUCH/edit"):
            got[path] = _visible(client.get(path).get_data(as_text=True))
        got["form refused"] = _visible(_admin_post(client, "/admin/events", {"title": ""}).get_data(as_text=True))
        return got

    english, translated = pages("en"), pages(lang)
    problems = []
    for page, texts in translated.items():
        for text in set(texts) & set(english[page]):
            rest = text
            for value in sorted(data | same, key=len, reverse=True):
                rest = rest.replace(value, " ")
            rest = re.sub(r"https?://\S+|/\S*", " ", rest)  # links and paths
            if re.search(r"[^\W\d_]{2,}", rest):
                problems.append(f"{page}: {text!r}")
    assert problems == [], "\n".join(problems)


def test_the_locale_selector_imports_nothing_from_the_web_layer():
    """qa/web imports qa/i18n.py, not the other way round: a socket's language is registered by
    qa/web/sockets.py (test_acks_in_the_clients_language checks that it is still used)."""
    import ast

    tree = ast.parse((ROOT / "qa" / "i18n.py").read_text())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [m for m in imported if m.startswith(("web", "qa.web"))], imported
