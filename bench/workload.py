"""What the clients send: question texts, vote plans and the baseline's stand-in data.

Deterministic (seeded), so the app and the baseline see the same load in every run.
"""
from __future__ import annotations

import math
import random
from datetime import datetime, timezone

THEMES = ("trade-facilitation", "finance", "digitalization", "other")

_WORDS = """
small exporters customs paperwork single window digital certificates trade finance
letters credit banks collateral payments cross border fees currency women owned firms
rural producers logistics shipping costs e-commerce platforms data flows cybersecurity
standards certification market access tariffs non tariff measures capacity building
training mentors regional value chains agriculture textiles services microfinance
guarantees insurance invoices electronic signatures mobile money broadband skills
""".split()

_OPENINGS = (
    "How can", "What should", "Could the Group explain how", "Is there a plan for",
    "Why do", "What support exists so that", "When will",
)


def question_text(i: int) -> str:
    """About 100 characters of plausible, varied question text for index `i`."""
    rng = random.Random(i)
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(9, 16)))
    return f"{rng.choice(_OPENINGS)} {words}?"


def theme(i: int) -> str:
    return THEMES[i % len(THEMES)]


def submission(client_id: str, i: int) -> dict:
    return {"client_id": client_id, "theme": theme(i), "text": question_text(i)}


CREATED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def question_dict(qid: int, status: str = "approved", votes: int = 0) -> dict:
    """A question shaped like the app's (CONTRACT.md), for the baseline to send."""
    return {"id": qid, "theme": theme(qid), "text": question_text(qid), "name": None,
            "status": status, "votes": votes, "live": False, "created_at": CREATED_AT}


def event_dict(code: str = "BENCH") -> dict:
    return {"code": code, "title": "Benchmark event",
            "themes": [{"key": k, "label": k.replace("-", " ").title(), "prompt": ""} for k in THEMES],
            "submissions_open": True, "active_theme": None, "moderation": "pre"}


def vote_targets(participant: int, public_ids: list[int], per_participant: int) -> list[int]:
    """Distinct questions for one participant, spread evenly over all public ones."""
    n = len(public_ids)
    step = next((s for s in range(41, n) if math.gcd(s, n) == 1), 1)  # coprime: no repeats
    return [public_ids[(participant * 7 + k * step) % n] for k in range(min(per_participant, n))]
