"""The HTML pages and the QR code (qa/web/pages.py, qa/web/security.py, templates/)."""
from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from conftest import ADMIN_TOKEN

PAGES = ["/e/{code}", "/e/{code}/moderate", "/e/{code}/screen"]
EVIL_TITLE = "<script>alert(1)</script> x' onmouseover='alert(2)' \"><img src=x onerror=alert(3)>"


class Page(HTMLParser):
    """Every tag with its attributes, and the text of inline scripts and style elements."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.inline: list[str] = []
        self.text: list[str] = []
        self._open: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "style" or (tag == "script" and not attrs.get("src")):
            self._open = tag

    def handle_endtag(self, tag):
        if tag == self._open:
            self._open = None

    def handle_data(self, data):
        if self._open:
            self.inline.append(f"<{self._open}>{data}")
        self.text.append(data)

    def find(self, tag: str) -> list[dict]:
        return [attrs for t, attrs in self.tags if t == tag]


def make_event(client, title: str, themes: list[dict] | None = None) -> str:
    body = {"title": title} if themes is None else {"title": title, "themes": themes}
    r = client.post("/api/events", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()["code"]


def assert_csp(r) -> None:
    """A strict Content-Security-Policy: no inline script or style, no eval."""
    csp = r.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert "default-src" in directives, csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, csp
    scripts = directives.get("script-src", directives["default-src"])
    assert "'self'" in scripts and "*" not in scripts, csp
    assert directives.get("object-src") == ["'none'"], csp
    assert r.headers.get("X-Content-Type-Options") == "nosniff"


def assert_no_inline_code(page: Page) -> None:
    """Nothing the CSP would block: no inline script or style, no handler or style attributes."""
    assert page.inline == [], page.inline
    for tag, attrs in page.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
        assert not str(attrs.get("href", "")).lower().startswith("javascript:"), (tag, attrs)


@pytest.mark.parametrize("path", PAGES)
def test_event_pages_render(client, event, path):
    """Each event page renders with the event's title and code, under a strict CSP."""
    r = client.get(path.format(code=event["code"]))
    assert r.status_code == 200
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "Test webinar" in html
    assert event["code"] in html
    assert_csp(r)
    page = Page(html)
    assert_no_inline_code(page)
    assert page.find("script"), "the page loads its script"


def test_event_pages_take_any_spelling_of_the_code(client, event):
    """Pages accept the code in any case and with hyphens, showing the canonical code."""
    code = event["code"]
    for spelling in (code.lower(), f"{code[:3]}-{code[3:].lower()}"):
        for path in PAGES:
            r = client.get(path.format(code=spelling))
            assert r.status_code == 200, (path, spelling)
            assert code in r.get_data(as_text=True)


def test_join_page(client):
    """The join page renders a form for the code, under a strict CSP."""
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = Page(r.get_data(as_text=True))
    assert page.find("form") and page.find("input")
    assert_csp(r)
    assert_no_inline_code(page)


@pytest.mark.parametrize("path", PAGES + ["/e/{code}/qr.svg"])
def test_unknown_code_is_a_404_page(client, event, path):
    """An unknown code gives a 404 HTML page, without a traceback."""
    r = client.get(path.format(code="NOPE99"), headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "Traceback" not in html and 'File "' not in html
    assert "NOPE99" in html
    assert_csp(r)


def test_unknown_route_is_a_404_page(client):
    """An unknown page is a 404 HTML page too."""
    r = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "Traceback" not in r.get_data(as_text=True)


def test_qr_code(client, event, app):
    """The QR endpoint returns an SVG, the same for any spelling of the code, distinct per event."""
    r = client.get(f"/e/{event['code']}/qr.svg")
    assert r.status_code == 200
    assert r.mimetype == "image/svg+xml"
    svg = r.get_data(as_text=True)
    assert "<svg" in svg and svg.rstrip().endswith("</svg>")
    assert client.get(f"/e/{event['code'].lower()}/qr.svg").get_data(as_text=True) == svg
    other = make_event(client, "Another")
    assert client.get(f"/e/{other}/qr.svg").get_data(as_text=True) != svg


def test_user_text_is_escaped(client):
    """An event title and theme label full of markup appear only as text, on every page."""
    label = "</label><script>alert(4)</script>"
    code = make_event(client, EVIL_TITLE, [{"key": "evil", "label": label, "prompt": "<b>bold?</b>"}])
    for path in PAGES:
        r = client.get(path.format(code=code))
        assert r.status_code == 200
        html = r.get_data(as_text=True)
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html and "<b>bold?</b>" not in html, path
        page = Page(html)
        assert_no_inline_code(page)
        assert not page.find("img") or all(a.get("src") != "x" for a in page.find("img")), path
        # The title reaches the page as text...
        assert any(EVIL_TITLE in t for t in page.text), path
        # ...and any data handed to scripts decodes back to exactly what was typed.
        for attrs in page.find("body"):
            if "data-event" in attrs:
                data = json.loads(attrs["data-event"])
                assert data["title"] == EVIL_TITLE
                assert data["themes"][0]["label"] == label


def test_error_page_escapes_the_code(client):
    """A code full of markup comes back escaped on the 404 page."""
    r = client.get("/e/%3Cscript%3Ealert(1)%3C%2Fscript%3E", headers={"Accept": "text/html"})
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert_no_inline_code(Page(html))
