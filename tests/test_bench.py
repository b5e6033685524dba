"""The benchmark suite (bench/) in small: it must keep running and keep counting right.

Counts only, never timings: these machines are shared and noisy. The full
suite runs by hand (`python -m bench`, see docs/benchmarks.md).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import report, stats
from bench.workload import question_text, vote_targets

ROOT = Path(__file__).resolve().parent.parent


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert stats.percentile(values, 50) == 50
    assert stats.percentile(values, 99) == 99
    assert stats.percentile(values, 100) == 100
    assert stats.percentile([], 50) is None
    assert stats.summary_ms([2_000_000, 1_000_000]) == {"n": 2, "p50": 1.0, "p99": 2.0, "max": 2.0}


def test_max_per_window_counts_a_sliding_second():
    ms = 1_000_000
    assert stats.max_per_window([0, 250 * ms, 500 * ms, 750 * ms, 1000 * ms, 1250 * ms]) == 4
    assert stats.max_per_window([]) == 0


@pytest.mark.parametrize("n", [1, 5, 20, 41, 82, 200])
def test_vote_targets_are_distinct_questions(n):
    ids = list(range(100, 100 + n))
    for participant in range(300):
        picks = vote_targets(participant, ids, 5)
        assert len(picks) == len(set(picks)) == min(5, n)
        assert set(picks) <= set(ids)


def test_question_texts_are_deterministic_and_within_limits():
    assert question_text(7) == question_text(7)
    assert all(0 < len(question_text(i)) <= 500 for i in range(200))


def test_report_keeps_what_is_written_around_it(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text(f"# Benchmarks\n\nintro\n\n{report.BEGIN}\nold table\n{report.END}\n\n## Profile\n\nby hand\n")
    run = {"started": "s", "finished": "f", "elapsed_min": 1.0, "command": "python -m bench", "modes": ["eventlet"],
           "repeats": 1, "config": {"participants": 2, "workers": 2, "join_concurrency": 1, "questions": 1,
                                    "fanout_rate": 2, "fanout_seconds": 1, "votes_per_participant": 1,
                                    "vote_seconds": 1, "submit_rate": 1, "submit_seconds": 1, "submit_burst": 0,
                                    "submit_inflight": 1},
           "machine": report.machine(), "versions": {"Python": "3"}, "sessions": []}
    report.write(path, run)
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nintro\n\n")
    assert text.endswith("## Profile\n\nby hand\n")
    assert "old table" not in text and "python -m bench" in text


def _counts_are_whole(session: dict) -> None:
    who = f"{session['mode']} {session['target']}"
    p = session["phases"]
    assert "failed" not in session, who
    assert session["server_errors"] == 0, who
    join = p["join"]
    assert join["joined"] == join["expected"] == 50, (who, join["errors"])
    assert join["snapshots_complete"] == join["joined"], who
    fan = p["fanout"]
    assert fan["acked_ok"] == fan["sent"] > 0, (who, fan["errors"])
    assert fan["delivered"] == fan["expected"] == 51 * fan["sent"], who
    vote = p["vote"]
    assert vote["acked_ok"] == vote["sent"] == vote["expected"] == 100, (who, vote["errors"])
    assert vote["counted_exactly"], who
    assert vote["stored_total"] == vote["sent"], who
    assert vote["final_counts_seen"] == vote["final_counts_expected"] == 51, who
    assert vote["visible"] == vote["visible_expected"] > 0, who
    for phase in ("submit_steady", "submit_max"):
        sub = p[phase]
        assert sub["acked_ok"] == sub["sent"] == sub["expected"], (who, phase, sub["errors"])
    assert p["submit_max"]["durable"] == p["submit_max"]["acked_ok"], who
    assert p["idle"]["clients"] == 50, who
    # Every generator timed its own event loop through the phase (the probe ticks every 5 ms).
    assert all(lag["n"] > 0 and 0 <= lag["p50"] <= lag["p99"] <= lag["max"] for lag in vote["workers_lag_ms"]), who


def test_smoke_run_counts_everything_for_app_and_baseline(tmp_path):
    out, raw = tmp_path / "benchmarks.md", tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(out), "--json", str(raw), "--max-minutes", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=170,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = json.loads(raw.read_text())
    assert run["errors"] == []
    assert sorted(s["target"] for s in run["sessions"]) == ["app", "baseline"]
    for session in run["sessions"]:
        _counts_are_whole(session)
    app = next(s for s in run["sessions"] if s["target"] == "app")
    assert app["phases"]["submit_max"]["durable_all"]
    text = out.read_text()
    assert report.BEGIN in text and report.END in text
    assert "| 1 all join | joined / expected | 50/50 | 50/50 |" in text
