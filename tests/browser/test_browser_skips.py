"""Browser tests never vanish quietly: where chromium or playwright is missing, the run ends with one
line that counts the skipped browser tests and says why, and CLSMAP_REQUIRE_BROWSER=1 (.ci/run) turns
those skips into failures. Checked on a small pytest run (in a subprocess, chromium hidden through
CLSMAP_CHROMIUM) that uses conftest.py's hooks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]

RUN = textwrap.dedent("""
    import pytest
    from support.viewer_browser import BrowserMissing, launch

    def test_with_the_fixture(browser):
        pass

    def test_that_launches_itself():
        try:
            with launch():
                pass
        except BrowserMissing as exc:
            pytest.skip(str(exc))

    def test_without_a_browser():
        pass

    @pytest.mark.skip(reason="another reason")
    def test_skipped_for_another_reason():
        pass
""")


@pytest.fixture
def small_run(tmp_path):
    """A folder with the tests above and a conftest.py that is tests/conftest.py (its hooks and fixtures)."""
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""
        import importlib.util, sys
        sys.path.insert(0, {str(TESTS)!r})
        spec = importlib.util.spec_from_file_location("clsmap_tests_conftest", {str(TESTS / "conftest.py")!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        globals().update({{k: v for k, v in vars(module).items() if not k.startswith("__")}})

        def pytest_configure(config):  # as pyproject.toml does for the real suite
            config.addinivalue_line("markers", "browser: drives headless chromium")
    """), encoding="utf-8")
    (tmp_path / "test_small.py").write_text(RUN, encoding="utf-8")

    def run(**env: str) -> subprocess.CompletedProcess:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CLSMAP_")}
        environ.update(env)
        command = [sys.executable, "-m", "pytest", "-q", "-ra", "--strict-markers", "-p", "no:cacheprovider",
                   "--rootdir", str(tmp_path), str(tmp_path)]
        return subprocess.run(command, cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=300)

    return run


def test_missing_chromium_is_one_line_at_the_end(small_run, tmp_path):
    result = small_run(CLSMAP_CHROMIUM=str(tmp_path / "no-chromium"))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("browser tests: 2 skipped: ")  # the fixture's skip and launch()'s skip
    assert f"{tmp_path / 'no-chromium'} is not installed" in lines[-1]
    assert "sudo apt-get install chromium" in lines[-1] and "CLSMAP_CHROMIUM" in lines[-1]
    assert "another reason" not in lines[-1]
    assert "1 passed, 3 skipped" in lines[-2]
    assert sum(line.startswith("browser tests:") for line in lines) == 1


def test_missing_chromium_fails_the_run_where_a_browser_is_required(small_run, tmp_path):
    result = small_run(CLSMAP_CHROMIUM=str(tmp_path / "no-chromium"), CLSMAP_REQUIRE_BROWSER="1")
    assert result.returncode == 1, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert "1 failed, 1 passed, 1 skipped, 1 error" in summary  # the fixture's skip fails its setup
    assert "CLSMAP_REQUIRE_BROWSER is set and this browser test was skipped" in result.stdout
    assert "browser tests:" not in result.stdout


def test_missing_playwright_is_named(monkeypatch):
    """The other reason, without a run of its own (the same hooks count it: launch() raises it)."""
    from support import viewer_browser

    monkeypatch.setattr(viewer_browser, "CHROMIUM", sys.executable)  # a file: chromium is not the reason
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # the import fails as if not installed
    reason = viewer_browser.missing_reason()
    assert reason.startswith("playwright (python) is not installed") and "pip install" in reason
    with pytest.raises(viewer_browser.BrowserMissing, match="playwright"):
        with viewer_browser.launch():
            pass
