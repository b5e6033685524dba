"""Similar questions: tokens in three languages, ranking, syncing the index from the database."""
import pytest

from qa.domain import events, moderation, questions, similarity
from qa.domain.similarity import SimilarityIndex, tokens


@pytest.mark.parametrize("text, expected", [
    ("How can businesses access payments?", ["business", "access", "payment"]),
    ("Les PME et l'accès au financement", ["pme", "acce", "financement"]),
    ("¿Cómo pueden las pymes exportar?", ["pyme", "exportar"]),
    ("", []),
])
def test_tokens(text, expected):
    assert tokens(text) == expected


def test_ranking_and_threshold():
    index = SimilarityIndex()
    index.add(1, "How can small businesses get access to trade finance?")
    index.add(2, "What digital tools help customs clearance?")
    index.add(3, "Access to finance for small business exporters")
    hits = index.query("access to trade finance for small businesses")
    assert [h["id"] for h in hits] == [1, 3]
    assert hits[0]["score"] > hits[1]["score"] >= similarity.MIN_SCORE
    assert index.query("the and of") == []
    assert index.query("How can small businesses get access to trade finance?", exclude=1)[0]["id"] == 3


def test_remove_and_re_add():
    index = SimilarityIndex()
    index.add(1, "customs paperwork delays")
    index.add(1, "mobile payments")
    assert index.query("customs delays") == []
    index.remove(1)
    assert index.docs == {} and index.postings == {}


def test_index_follows_the_database(session):
    ev = events.create_event(session, {"title": "T"})
    similarity.forget_event(ev.id)

    def ask(cid, text):
        return questions.submit(session, ev, "p", {"client_id": cid, "theme": "other", "text": text}).question

    a = ask("a", "Cross-border payments are too expensive for small firms")
    b = ask("b", "Why are cross-border payments so expensive?")
    assert [h["id"] for h in similarity.similar_to(session, ev.id, b)] == [a.id]
    c = ask("c", "Expensive cross-border payments hurt small exporters")
    assert {h["id"] for h in similarity.similar_to(session, ev.id, c)} == {a.id, b.id}
    # A merged duplicate is no longer offered.
    moderation.merge(session, ev.id, {"id": a.id, "into": b.id})
    assert [h["id"] for h in similarity.similar_to(session, ev.id, c)] == [b.id]
    view = {q["id"]: q for q in questions.moderator_view(session, ev.id)}
    assert view[c.id]["similar"][0]["id"] == b.id


def test_a_thousand_questions_stay_fast(session):
    """Counted work, not time: a query only scores questions sharing a word with it."""
    index = SimilarityIndex()
    for i in range(2000):
        index.add(i, f"topic{i} question about subject{i % 50} and matter{i % 7}")
    scored = []
    original = index._dots

    def counting(qw):
        dots = original(qw)
        scored.append(len(dots))
        return dots

    index._dots = counting
    index.query("subject3 question")
    # Every question shares "question", so this is the worst case: all candidates scored once.
    assert scored == [2000]
    index.query("subject3 topic5")
    assert scored[-1] == 40 + 1  # subject3 holds 40 questions, topic5 one


def test_incremental_norms_match_a_fresh_index():
    """Norms kept up to date through adds, edits and removes score as an index built afresh."""
    index = SimilarityIndex()
    texts = {i: f"trade{i % 5} finance{i % 3} customs payments{i % 11} small firms" for i in range(300)}
    for i, text in texts.items():
        index.add(i, text)
    for i in range(0, 300, 7):
        index.remove(i)
        del texts[i]
    for i in range(1, 300, 11):
        if i in texts:
            texts[i] = f"mobile money for rural producers {i % 4}"
            index.add(i, texts[i])
    fresh = SimilarityIndex()
    for i, text in texts.items():
        fresh.add(i, text)
    for probe in ("trade1 finance2 customs", "mobile money producers", "small firms payments3"):
        assert index.query(probe, limit=50, min_score=0) == fresh.query(probe, limit=50, min_score=0)
