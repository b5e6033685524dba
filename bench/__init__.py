"""Benchmark suite: the app against a bare python-socketio server, side by side (issue 6).

`python -m bench --help` lists the options; docs/benchmarks.md holds the last full run.
"""
