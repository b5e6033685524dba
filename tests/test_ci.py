"""What CI (.ci/run, scripts/test) guarantees: no browser test passes CI by skipping."""
from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import pytest

from live_server import ROOT

BROWSER_TESTS = ["tests/test_browser.py", "tests/test_desk_browser.py", "tests/test_accessibility.py",
                 "tests/test_console.py::test_in_a_browser_create_an_event_then_ask_in_it",
                 "tests/test_i18n.py::test_switch_in_a_browser_is_remembered_and_scripts_follow"]
# A new browser module copying the old pattern (pytest.skip at the top, or a skipif) is caught too.
COPIED = {
    "test_copied_module_skip.py": 'import pytest\n'
                                  'pytest.skip("browser tests need Chromium at /x", allow_module_level=True)\n'
                                  'def test_page():\n    pass\n',
    "test_copied_marker.py": 'import pytest\n'
                             '@pytest.mark.skipif(True, reason="needs Playwright for Python")\n'
                             'def test_page():\n    pass\n\n'
                             '@pytest.mark.skip(reason="migration 0004 is not there yet")\n'
                             'def test_unrelated():\n    pass\n',
}


@dataclass
class Run:
    """One pytest run: its exit status, its output, and (outcome, message) by JUnit test id."""

    returncode: int
    stdout: str
    cases: dict[str, tuple[str, str]]

    def of(self, target: str) -> dict[str, tuple[str, str]]:
        """The cases of one target: a module (tests/test_x.py) or one test (tests/test_x.py::test_y),
        a module skipped or failed as a whole being one case."""
        path, _, name = target.partition("::")
        prefix = ".".join([*Path(path).with_suffix("").parts, *([name] if name else [])])
        return {k: v for k, v in self.cases.items()
                if k == prefix or k.startswith(prefix + ".") or k.startswith(prefix + "[")}


def _cases(junit: Path) -> dict[str, tuple[str, str]]:
    cases = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        key = ".".join(part for part in (case.get("classname"), case.get("name")) if part)
        outcome, message = "passed", ""
        for tag in ("skipped", "error", "failure"):
            found = case.find(tag)
            if found is not None:
                outcome, message = tag, f"{found.get('message', '')}\n{found.text or ''}"
        cases[key] = (outcome, message)
    return cases


def start_pytest(*args: str, ci: bool, junit: Path) -> subprocess.Popen:
    env = {**os.environ, "QA_TEST_CHROMIUM": "/nonexistent/chromium"}
    env.pop("QA_TEST_REQUIRE_SERVICES", None)
    if ci:
        env["QA_TEST_REQUIRE_SERVICES"] = "1"
    # The copied modules lie outside tests/, so conftest comes in as a plugin (tests/ on the path for
    # it), for every module of the run; --noconftest keeps tests/ from registering it a second time.
    # A collection error must not stop the run before the other targets are seen.
    env["PYTHONPATH"] = str(ROOT / "tests")
    plugin = ["-p", "conftest", "--noconftest", "--rootdir", str(ROOT), "-c", str(ROOT / "pytest.ini"),
              "--continue-on-collection-errors", f"--junitxml={junit}"]
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs", *plugin, *args]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[bool, Run]:
    """{ci: Run}: every browser target and the copied modules, in one run without and one with
    QA_TEST_REQUIRE_SERVICES=1, side by side: each run is mostly start-up (conftest's service checks)."""
    copies = tmp_path_factory.mktemp("copied")
    for name, source in COPIED.items():
        (copies / name).write_text(source)
    junit = {ci: tmp_path_factory.mktemp("junit") / "report.xml" for ci in (False, True)}
    started = {ci: start_pytest(*BROWSER_TESTS, str(copies), ci=ci, junit=junit[ci]) for ci in (False, True)}
    done = {}
    try:
        for ci, proc in started.items():
            stdout, _ = proc.communicate(timeout=120)
            done[ci] = Run(proc.returncode, stdout, _cases(junit[ci]) if junit[ci].exists() else {})
    finally:
        for proc in started.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return done


@pytest.mark.parametrize("target", BROWSER_TESTS)
def test_without_chromium_a_browser_test_skips_here_and_fails_in_ci(runs, target):
    here, ci = runs[False], runs[True]
    assert here.returncode in (0, 5), here.stdout  # 5: nothing but whole modules skipped
    mine = here.of(target)
    assert mine and all(outcome == "skipped" and "Chromium at /nonexistent/chromium" in message
                        for outcome, message in mine.values()), (mine, here.stdout)
    assert ci.returncode != 0, ci.stdout
    mine = ci.of(target)
    # Not one of its tests skipped: each failed or errored, saying why and that CI asked for it.
    assert mine and all(outcome in ("error", "failure") for outcome, _ in mine.values()), (mine, ci.stdout)
    assert all("Chromium at /nonexistent/chromium" in message and "QA_TEST_REQUIRE_SERVICES=1" in message
               for _, message in mine.values()), mine


def test_a_module_that_skips_by_itself_for_a_browser_still_fails_in_ci(runs):
    """A new browser module copying the old pattern (pytest.skip at the top, or a skipif) is caught too."""
    here, ci = runs[False], runs[True]
    whole, marked = ci.of("test_copied_module_skip.py"), ci.of("test_copied_marker.py")
    assert ci.returncode != 0
    assert [outcome for outcome, _ in whole.values()] == ["error"], whole
    assert all("no browser test skips in CI" in message for _, message in whole.values()), whole
    # An error at setup (where skipif acts) fails the run; a skip for another reason stays a skip.
    assert marked["test_copied_marker.test_page"][0] == "error", marked
    assert "needs Playwright for Python (QA_TEST_REQUIRE_SERVICES=1" in marked["test_copied_marker.test_page"][1]
    assert marked["test_copied_marker.test_unrelated"][0] == "skipped", marked
    assert len(marked) == 2, marked
    assert here.returncode == 0, here.stdout
    copied = {**here.of("test_copied_module_skip.py"), **here.of("test_copied_marker.py")}
    assert len(copied) == 3 and all(outcome == "skipped" for outcome, _ in copied.values()), copied


def bin_without_npm(tmp_path, **fakes):
    """A PATH holding only dirname and the given fake commands: npm is not on it."""
    path = tmp_path / "bin"
    path.mkdir()
    (path / "dirname").symlink_to("/usr/bin/dirname")
    for name, body in fakes.items():
        (path / name.replace("_", "-")).write_text("#!/bin/sh\n" + body + "\n")
        (path / name.replace("_", "-")).chmod(0o755)
    return path


@pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason=".ci/run would install chromium first")
def test_ci_installs_npm_when_missing_and_stops_if_it_is_still_missing(tmp_path):
    """The accessibility tests need axe-core, which scripts/test installs with `npm ci`."""
    log = tmp_path / "apt.log"
    path = bin_without_npm(tmp_path, apt_get=f'echo "$@" >> {log}')  # installs nothing
    done = subprocess.run(["/bin/bash", str(ROOT / ".ci" / "run")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={"PATH": str(path), "HOME": str(tmp_path)})
    assert done.returncode == 1
    assert "install -y -qq nodejs npm" in log.read_text()
    assert done.stderr.strip() == "ci: FAILED: npm is still missing"


def test_scripts_test_under_ci_stops_at_once_without_npm(tmp_path):
    path = bin_without_npm(tmp_path)
    run = subprocess.run(["/bin/bash", str(ROOT / "scripts" / "test")], capture_output=True, text=True,
                         timeout=60, env={"PATH": str(path), "QA_TEST_REQUIRE_SERVICES": "1"})
    assert run.returncode == 1 and "npm is missing" in run.stderr and "axe-core" in run.stderr
