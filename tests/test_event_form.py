"""The console's event form (qa/web/event_form.py), through the console's pages, where it is used: its
fields read into what the domain takes, and the values the form shows."""
from __future__ import annotations

from conftest import count, created_code, form, load, text
from qa.domain import events as events_domain
from qa.models import Event


def test_new_form_starts_empty_and_offers_the_default_themes_in_one_click(app, admin_console):
    html = text(admin_console.get("/admin/events/new"))
    assert 'name="themes-0-label"' in html and 'name="themes-1-label"' not in html
    for theme in events_domain.DEFAULT_THEMES:
        assert f'value="{theme["key"]}"' not in html
    assert 'value="pre" checked' in html and 'value="optional" checked' in html
    assert 'name="use_defaults"' in html

    # The one click keeps what was typed and fills in the four themes with their French and Spanish.
    r = admin_console.post("/admin/events", {"title": "Typed first", "title_fr": "Tapé", "use_defaults": "1",
                                             "themes-0-label": "", "themes-0-key": ""})
    html = text(r)
    assert r.status_code == 200 and count(app, Event) == 0
    assert 'value="Typed first"' in html and 'value="Tapé"' in html
    for i, theme in enumerate(events_domain.DEFAULT_THEMES):
        assert f'name="themes-{i}-key"' in html and f'value="{theme["key"]}"' in html
    assert 'value="Facilitación del comercio"' in html and "Numérisation" in html


def test_title_and_themes_in_french_and_spanish_from_the_form(app, admin_console):
    data = form("Trade talk", themes=[("", "Ports")], title_fr="Débat", title_es="")
    data.update({"themes-0-label_fr": "Havres", "themes-0-prompt_fr": "Quels ports ?",
                 "themes-0-label_es": "Puertos", "themes-0-prompt_es": ""})
    code = created_code(admin_console.post("/admin/events", data))
    texts = load(app, code)["translations"]
    assert texts == {"fr": {"title": "Débat", "themes": {"ports": {"label": "Havres", "prompt": "Quels ports ?"}}},
                     "es": {"themes": {"ports": {"label": "Puertos"}}}}
    html = text(admin_console.get(f"/admin/events/{code}/edit"))
    assert 'value="Débat"' in html and 'value="Havres"' in html and "Quels ports ?</textarea>" in html

    # Renamed in the form (key left as it was): the key follows the label; French cleared, Spanish set.
    data = form("Trade talk", themes=[("ports", "Harbours")], title_fr="", title_es="Debate")
    data.update({"themes-0-label_fr": "", "themes-0-prompt_fr": "", "themes-0-label_es": "Puertos",
                 "themes-0-prompt_es": "¿Cuáles?"})
    assert admin_console.post(f"/admin/events/{code}/edit", data).status_code == 303
    ev = load(app, code)
    assert [t["key"] for t in ev["themes"]] == ["harbours"]
    assert ev["translations"] == {"es": {"title": "Debate",
                                         "themes": {"harbours": {"label": "Puertos", "prompt": "¿Cuáles?"}}}}
