"""Similar questions: a small TF-IDF index per event, kept in memory and synced from the database.

A query touches only the questions that share a word with it (an inverted
index). Scores are exact TF-IDF cosines, but nothing is recomputed per query
for the questions it meets: each posting holds the question's term weight, and
each question keeps three sums from which its norm follows for any number of
questions (see `_norm`), updated when a word's document frequency changes.
New questions are scored after their ack, a burst at a time (qa/web/broadcast.py), and a
moderator's snapshot scores every pending question: both with one sync of the index.
"""
from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Question

MIN_SCORE = 0.3
LIMIT = 3

# Function words of the event's three languages; they say nothing about the topic.
STOPWORDS = frozenset("""
a an and are as at be but by can could do does for from has have how i if in into is it its
me my no not of on or our should so than that the their them there these they this to us was
we what when where which who why will with would you your about any more other also been
le la les un une des du de d l et ou en au aux est sont que qui quoi pour par sur dans avec
ce cette ces nos notre vos votre leur leurs pas plus comment quel quelle quels quelles il elle
ils elles nous vous on se sa son ses ne y a peut peuvent faire
el los las un una unos unas del al y o en es son que para por con como cual cuales su sus
nuestro nuestra se lo le les no mas mas puede pueden hacer
""".split())

WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    out = []
    for word in WORD.findall(folded):
        if len(word) < 2 or word in STOPWORDS:
            continue
        out.append(_stem(word))
    return out


def _stem(word: str) -> str:
    """Plural endings only (Porter's step 1a), so "payments" meets "payment"."""
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


class SimilarityIndex:
    """TF-IDF with tf = 1 + log(count) and idf = log((N + 1) / (df + 1)) + 1, cosine similarity.

    Write idf(t) = L + b(t) with L = log(N + 1) (shared, changes with every add) and
    b(t) = 1 - log(df(t) + 1) (changes only when a question with t comes or goes). A
    question's squared norm, the sum of (a(t) * idf(t))^2 over its terms with
    a(t) = 1 + log(count), is then L^2 * S0 + 2L * S1 + S2 with S0 = sum a^2,
    S1 = sum a^2 b, S2 = sum a^2 b^2: an add or remove updates S1 and S2 of the
    questions sharing one of its words, and a query computes no norm from scratch.
    """

    def __init__(self) -> None:
        self.docs: dict[int, Counter] = {}
        self.texts: dict[int, str] = {}  # to skip re-adding an unchanged question when syncing
        self.postings: dict[str, dict[int, float]] = {}  # term -> {question id: a(t)}
        self._sums: dict[int, list[float]] = {}  # question id -> [S0, S1, S2]
        self.synced_to: datetime | None = None
        self.lock = threading.Lock()

    def add(self, qid: int, text: str) -> None:
        if self.texts.get(qid) == text:
            return
        self.remove(qid)
        counts = Counter(tokens(text))
        self.docs[qid] = counts
        self.texts[qid] = text
        sums = [0.0, 0.0, 0.0]
        for term, count in counts.items():
            ids = self.postings.setdefault(term, {})
            self._shift(ids, len(ids), len(ids) + 1)
            a = 1 + math.log(count)
            ids[qid] = a
            b = 1 - math.log(len(ids) + 1)
            sums[0] += a * a
            sums[1] += a * a * b
            sums[2] += a * a * b * b
        self._sums[qid] = sums

    def remove(self, qid: int) -> None:
        old = self.docs.pop(qid, None)
        self.texts.pop(qid, None)
        self._sums.pop(qid, None)
        for term in old or ():
            ids = self.postings.get(term)
            if ids is not None and ids.pop(qid, None) is not None:
                self._shift(ids, len(ids) + 1, len(ids))
                if not ids:
                    del self.postings[term]

    def _shift(self, ids: dict[int, float], df_old: int, df_new: int) -> None:
        """A term's document frequency went from df_old to df_new: update its questions' sums."""
        if not ids:
            return
        b_old = 1 - math.log(df_old + 1)
        b_new = 1 - math.log(df_new + 1)
        d1, d2 = b_new - b_old, b_new * b_new - b_old * b_old
        sums = self._sums
        for qid, a in ids.items():
            s = sums[qid]
            a2 = a * a
            s[1] += a2 * d1
            s[2] += a2 * d2

    def _idf(self, term: str) -> float:
        return math.log((len(self.docs) + 1) / (len(self.postings.get(term, ())) + 1)) + 1.0

    def _weights(self, counts: Counter) -> dict[str, float]:
        return {t: (1 + math.log(c)) * self._idf(t) for t, c in counts.items()}

    def _norm(self, qid: int, big_l: float) -> float:
        s0, s1, s2 = self._sums[qid]
        # Clamped: the sums are updated incrementally and may carry rounding of ~1e-12.
        return math.sqrt(max(0.0, big_l * big_l * s0 + 2 * big_l * s1 + s2))

    def _dots(self, qw: dict[str, float]) -> dict[int, float]:
        """Dot products with every question sharing a word with the query (and only those)."""
        dots: dict[int, float] = {}
        get = dots.get
        for term, w in qw.items():
            ids = self.postings.get(term)
            if not ids:
                continue
            wi = w * self._idf(term)
            for cid, a in ids.items():
                dots[cid] = get(cid, 0.0) + wi * a
        return dots

    def query(self, text: str, exclude: int | None = None, limit: int = LIMIT,
              min_score: float = MIN_SCORE) -> list[dict]:
        qw = self._weights(Counter(tokens(text)))
        qnorm = math.sqrt(sum(w * w for w in qw.values()))
        if not qnorm:
            return []
        dots = self._dots(qw)
        dots.pop(exclude, None)
        big_l = math.log(len(self.docs) + 1)
        scored = []
        for cid, dot in dots.items():
            dnorm = self._norm(cid, big_l)
            score = dot / (qnorm * dnorm) if dnorm else 0.0
            if score >= min_score:
                # Rounded far below what is shown, so rounding noise in the sums cannot reorder ties.
                scored.append((round(score, 9), cid))
        scored.sort(key=lambda sc: (-sc[0], sc[1]))
        return [{"id": cid, "score": round(score, 3)} for score, cid in scored[:limit]]


_indexes: dict[int, SimilarityIndex] = {}
_registry_lock = threading.Lock()


def index_for(session: Session, event_id: int) -> SimilarityIndex:
    """The event's index, brought up to date with what any process wrote since the last sync."""
    with _registry_lock:
        index = _indexes.setdefault(event_id, SimilarityIndex())
    with index.lock:
        stmt = select(Question.id, Question.text, Question.merged_into, Question.updated_at).where(
            Question.event_id == event_id
        )
        if index.synced_to is not None:
            # A second of overlap: other processes' clocks and commits may lag ours a little.
            stmt = stmt.where(Question.updated_at >= index.synced_to - timedelta(seconds=1))
        newest = index.synced_to
        for qid, text, merged_into, updated_at in session.execute(stmt):
            if merged_into is None:
                index.add(qid, text)
            else:
                index.remove(qid)
            newest = updated_at if newest is None or updated_at > newest else newest
        index.synced_to = newest
    return index


def similar_to(session: Session, event_id: int, question: Question) -> list[dict]:
    return similar_to_many(session, event_id, [question])[question.id]


def similar_to_many(session: Session, event_id: int, questions: list[Question]) -> dict[int, list[dict]]:
    """`similar` for each question, by id, with one sync of the index for all of them."""
    index = index_for(session, event_id)
    with index.lock:
        return {q.id: index.query(q.text, exclude=q.id) for q in questions}


def forget_event(event_id: int) -> None:
    with _registry_lock:
        _indexes.pop(event_id, None)
