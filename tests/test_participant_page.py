"""The participant page's server side for issue 17: a trailing slash, and a draft event's notice."""
from conftest import ADMIN_TOKEN


def test_the_page_answers_with_a_trailing_slash(client, event):
    for path in (f"/e/{event['code']}", f"/e/{event['code']}/", f"/e/{event['code'].lower()}/"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert 'data-page="participant"' in r.get_data(as_text=True)
    assert client.get("/e/NOSUCH/").status_code == 404


def test_a_draft_says_questions_open_soon_not_closed(client):
    r = client.post("/api/admin/events", json={"title": "Next week"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 201, r.get_json()
    code = r.get_json()["code"]
    page = client.get(f"/e/{code}").get_data(as_text=True)
    assert 'data-draft="true"' in page and "Questions open soon." in page
    assert "Questions are closed for now." not in page


def test_an_open_or_closed_event_is_not_a_draft(client, event):
    page = client.get(f"/e/{event['code']}").get_data(as_text=True)
    assert "data-draft" not in page and "Questions are closed for now." in page  # the notice, hidden while open
