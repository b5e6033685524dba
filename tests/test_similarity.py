"""Similar questions: tokens in three languages, ranking, syncing the index from the database."""
import math
import random
from collections import Counter

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


def brute_force(index: SimilarityIndex, text: str, min_score: float) -> list[tuple[int, float]]:
    """Every question scored from scratch, as the docstring's formulas say."""
    n = len(index.docs)
    df = Counter(t for counts in index.docs.values() for t in counts)

    def vector(counts):
        return {t: (1 + math.log(c)) * (math.log((n + 1) / (df.get(t, 0) + 1)) + 1) for t, c in counts.items()}

    q = vector(Counter(tokens(text)))
    qn = math.sqrt(sum(w * w for w in q.values()))
    out = []
    for qid, counts in index.docs.items():
        d = vector(counts)
        score = sum(w * d.get(t, 0.0) for t, w in q.items()) / (qn * math.sqrt(sum(w * w for w in d.values())))
        if score >= min_score:
            out.append((qid, score))
    out.sort(key=lambda x: (-round(x[1], 9), x[0]))
    return [(qid, round(score, 3)) for qid, score in out]


def test_queries_score_as_computed_from_scratch():
    rnd = random.Random(7)
    common = ["trade", "msme", "small", "business", "support"]
    rare = [f"word{i}" for i in range(60)]
    index = SimilarityIndex()
    for i in range(400):
        words = rnd.sample(common, 3) + rnd.sample(rare, rnd.randint(0, 4))
        index.add(i, " ".join(words))
    probes = ["trade msme", "trade msme small business support", "word3 trade", "word7 word9 msme support",
              index.texts[5], index.texts[17], "nothing in common"]
    for i in range(0, 400, 9):  # edits and removals move every word's df
        if i % 2:
            index.remove(i)
        else:
            index.add(i, " ".join(rnd.sample(common, 2) + rnd.sample(rare, 2)))
    for probe in probes:
        got = [(h["id"], h["score"]) for h in index.query(probe, limit=1000)]
        assert got == brute_force(index, probe, 0.3), probe


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
