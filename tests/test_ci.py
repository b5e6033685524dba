"""What CI (.ci/run, scripts/test) guarantees: no browser test passes CI by skipping."""
import os
import subprocess
import sys

import pytest

from live_server import ROOT

BROWSER_TESTS = ["tests/test_browser.py", "tests/test_desk_browser.py", "tests/test_accessibility.py",
                 "tests/test_console.py::test_in_a_browser_create_an_event_then_ask_in_it",
                 "tests/test_i18n.py::test_switch_in_a_browser_is_remembered_and_scripts_follow"]


def pytest_run(*args, ci: bool):
    env = {**os.environ, "QA_TEST_CHROMIUM": "/nonexistent/chromium"}
    env.pop("QA_TEST_REQUIRE_SERVICES", None)
    if ci:
        env["QA_TEST_REQUIRE_SERVICES"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("target", BROWSER_TESTS)
def test_without_chromium_a_browser_test_skips_here_and_fails_in_ci(target):
    here = pytest_run(target, ci=False)
    assert here.returncode in (0, 5), here.stdout + here.stderr  # 5: a whole module skipped
    assert "skipped" in here.stdout and "Chromium at /nonexistent/chromium" in here.stdout
    ci = pytest_run(target, ci=True)
    assert ci.returncode != 0, ci.stdout
    assert "skipped" not in ci.stdout.splitlines()[-1]
    assert "Chromium at /nonexistent/chromium" in ci.stdout and "QA_TEST_REQUIRE_SERVICES=1" in ci.stdout


def test_a_module_that_skips_by_itself_for_a_browser_still_fails_in_ci(tmp_path, monkeypatch):
    """A new browser module copying the old pattern (pytest.skip at the top, or a skipif) is caught too."""
    whole = tmp_path / "test_copied_module_skip.py"
    whole.write_text('import pytest\n'
                     'pytest.skip("browser tests need Chromium at /x", allow_module_level=True)\n'
                     'def test_page():\n    pass\n')
    marked = tmp_path / "test_copied_marker.py"
    marked.write_text('import pytest\n'
                      '@pytest.mark.skipif(True, reason="needs Playwright for Python")\n'
                      'def test_page():\n    pass\n\n'
                      '@pytest.mark.skip(reason="migration 0004 is not there yet")\n'
                      'def test_unrelated():\n    pass\n')
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "tests"))  # for -p conftest, outside tests/
    plugin = ["-p", "conftest", "--rootdir", str(ROOT), "-c", str(ROOT / "pytest.ini")]
    ci = pytest_run(*plugin, str(whole), ci=True)
    assert ci.returncode != 0 and "no browser test skips in CI" in ci.stdout, ci.stdout
    ci = pytest_run(*plugin, str(marked), ci=True)
    # An error at setup (where skipif acts) fails the run; a skip for another reason stays a skip.
    assert ci.returncode != 0 and "1 skipped, 1 error" in ci.stdout, ci.stdout
    assert "needs Playwright for Python (QA_TEST_REQUIRE_SERVICES=1" in ci.stdout
    here = pytest_run(*plugin, str(whole), str(marked), ci=False)
    assert here.returncode == 0 and "3 skipped" in here.stdout, here.stdout


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
