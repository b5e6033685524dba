"""Similar questions: a small TF-IDF index per event, kept in memory and synced from the database.

A query scores only the questions that share a word with it (an inverted
index). Scores are exact TF-IDF cosines, but nothing is recomputed per query
for the questions it meets: each posting holds the question's term weight, and
each question keeps three sums from which its norm follows for any number of
questions (see `SimilarityIndex.norms`), updated when a word's document frequency changes.
New questions are scored after their ack, a burst at a time (qa/web/broadcast.py), and a
moderator's snapshot scores every pending question: both with one sync of the index.
"""
from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import numpy as np
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

    Questions live in slots (array rows); the sums are numpy arrays by slot, and each
    word's postings a numpy view made when first needed after a change, so that a query
    and a df update are a few vectorised operations, not a Python step per question: in
    a topical event nearly every question shares a word with a new one.
    """

    def __init__(self) -> None:
        self.docs: dict[int, Counter] = {}
        self.texts: dict[int, str] = {}  # to skip re-adding an unchanged question when syncing
        self.postings: dict[str, dict[int, float]] = {}  # term -> {slot: a(t)}
        # term -> [slots, a, n]: the postings as arrays (first n entries), grown on add, rebuilt on remove
        self._arrays: dict[str, list] = {}
        self._slot_of: dict[int, int] = {}
        self._id_at = np.full(16, -1, dtype=np.int64)  # slot -> question id, -1 when free
        self._free: list[int] = []
        self._sums = np.zeros((3, 16))  # [S0, S1, S2] by slot
        self.synced_to: datetime | None = None
        self.lock = threading.Lock()

    def add(self, qid: int, text: str) -> None:
        if self.texts.get(qid) == text:
            return
        self.remove(qid)
        counts = Counter(tokens(text))
        self.docs[qid] = counts
        self.texts[qid] = text
        slot = self._take_slot(qid)
        sums = [0.0, 0.0, 0.0]
        for term, count in counts.items():
            ids = self.postings.setdefault(term, {})
            self._shift(term, len(ids), len(ids) + 1)
            a = 1 + math.log(count)
            ids[slot] = a
            self._append(term, slot, a)
            b = 1 - math.log(len(ids) + 1)
            sums[0] += a * a
            sums[1] += a * a * b
            sums[2] += a * a * b * b
        self._sums[:, slot] = sums

    def remove(self, qid: int) -> None:
        old = self.docs.pop(qid, None)
        self.texts.pop(qid, None)
        slot = self._slot_of.pop(qid, None)
        if slot is None:
            return
        self._id_at[slot] = -1
        self._sums[:, slot] = 0.0
        self._free.append(slot)
        for term in old or ():
            ids = self.postings.get(term)
            if ids is not None and ids.pop(slot, None) is not None:
                self._arrays.pop(term, None)
                if ids:
                    self._shift(term, len(ids) + 1, len(ids))
                else:
                    del self.postings[term]

    def _take_slot(self, qid: int) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            slot = len(self._slot_of)
            if slot >= len(self._id_at):  # grow by doubling
                self._id_at = np.concatenate([self._id_at, np.full(len(self._id_at), -1, dtype=np.int64)])
                self._sums = np.concatenate([self._sums, np.zeros_like(self._sums)], axis=1)
        self._slot_of[qid] = slot
        self._id_at[slot] = qid
        return slot

    def _postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        cached = self._arrays.get(term)
        if cached is None:
            ids = self.postings.get(term, {})
            cached = self._arrays[term] = [np.fromiter(ids.keys(), dtype=np.intp, count=len(ids)),
                                           np.fromiter(ids.values(), dtype=float, count=len(ids)), len(ids)]
        slots, a, n = cached
        return slots[:n], a[:n]

    def _append(self, term: str, slot: int, a: float) -> None:
        """A posting added: append it to the term's arrays if they are built (a burst of
        questions sharing a word would otherwise rebuild them once per question)."""
        cached = self._arrays.get(term)
        if cached is None:
            return
        slots, weights, n = cached
        if n == len(slots):
            slots = np.concatenate([slots, np.empty(max(n, 8), dtype=np.intp)])
            weights = np.concatenate([weights, np.empty(max(n, 8))])
        slots[n], weights[n] = slot, a
        self._arrays[term] = [slots, weights, n + 1]

    def _shift(self, term: str, df_old: int, df_new: int) -> None:
        """A term's document frequency went from df_old to df_new: update its questions' sums."""
        if not self.postings.get(term):
            return
        slots, a = self._postings(term)
        b_old = 1 - math.log(df_old + 1)
        b_new = 1 - math.log(df_new + 1)
        a2 = a * a
        self._sums[1, slots] += a2 * (b_new - b_old)
        self._sums[2, slots] += a2 * (b_new * b_new - b_old * b_old)

    def _idf(self, term: str) -> float:
        return math.log((len(self.docs) + 1) / (len(self.postings.get(term, ())) + 1)) + 1.0

    def query(self, text: str, exclude: int | None = None, limit: int = LIMIT,
              min_score: float = MIN_SCORE, norms: np.ndarray | None = None) -> list[dict]:
        """The closest questions to `text`. `norms` (from `norms()`) may be shared by
        queries made with no add or remove between them (a burst scored at once)."""
        qw = {t: (1 + math.log(c)) * self._idf(t) for t, c in Counter(tokens(text)).items()}
        qnorm = math.sqrt(sum(w * w for w in qw.values()))
        if not qnorm or not self.docs:
            return []
        parts = [(self._postings(t), w * self._idf(t)) for t, w in qw.items() if t in self.postings]
        if not parts:
            return []
        slots = np.concatenate([p[0] for p, _w in parts])
        weights = np.concatenate([p[1] * w for p, w in parts])
        dots = np.bincount(slots, weights=weights, minlength=len(self._id_at))
        if norms is None:
            norms = self.norms()
        candidates = np.flatnonzero(dots)
        scores = dots[candidates] / (qnorm * norms[candidates])
        keep = scores >= min_score
        candidates, scores = candidates[keep], scores[keep]
        ids = self._id_at[candidates]
        if exclude is not None:
            keep = ids != exclude
            ids, scores = ids[keep], scores[keep]
        # Rounded far below what is shown, so rounding noise in the sums cannot reorder ties.
        order = np.lexsort((ids, -np.round(scores, 9)))[:limit]
        return [{"id": int(ids[i]), "score": round(float(scores[i]), 3)} for i in order]

    def norms(self) -> np.ndarray:
        """Every slot's norm for the current number of questions (0 for free slots)."""
        big_l = math.log(len(self.docs) + 1)
        s0, s1, s2 = self._sums
        # Clamped: the sums are updated incrementally and may carry rounding of ~1e-12.
        return np.sqrt(np.maximum(0.0, big_l * big_l * s0 + 2 * big_l * s1 + s2))


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
        norms = index.norms()
        return {q.id: index.query(q.text, exclude=q.id, norms=norms) for q in questions}


def similar_in_chunks(session: Session, event_id: int, questions: list[Question],
                      size: int) -> Iterator[tuple[list[Question], dict[int, list[dict]]]]:
    """(chunk, `similar` by id) for `size` questions at a time, each chunk scored only when asked
    for: the caller can let other work run between two chunks of a large burst."""
    for start in range(0, len(questions), size):
        chunk = questions[start:start + size]
        yield chunk, similar_to_many(session, event_id, chunk)


def forget_event(event_id: int) -> None:
    with _registry_lock:
        _indexes.pop(event_id, None)


def forget_all() -> None:
    with _registry_lock:
        _indexes.clear()
