"""The test run itself: a crashed parallel worker or a hanging test fails the run, by name.

Each case runs `python -m pytest` on a tiny generated test directory with its own rootdir
(an empty conftest.py and a pytest.ini carrying the project's timeout settings), so the
project's conftest is not loaded and each run takes a few seconds; the one plugin of ours
that matters here (tests/timeout_report.py) is loaded by name."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _project_timeout_options() -> dict[str, object]:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["pytest"]
    return {key: options["ini_options"][key] for key in ("timeout", "timeout_method")}


def run_pytest(tmp_path: Path, tests: str) -> subprocess.CompletedProcess[str]:
    """`pytest -n 2` (as the suite runs, in order) over one generated test file."""
    ini = "\n".join(f"{k} = {v}" for k, v in _project_timeout_options().items())
    (tmp_path / "pytest.ini").write_text(f"[pytest]\n{ini}\n", encoding="utf-8")
    (tmp_path / "conftest.py").write_text("", encoding="utf-8")
    (tmp_path / "test_generated.py").write_text(textwrap.dedent(tests), encoding="utf-8")
    plugins = ["-p", "no:randomly", "-p", "no:cacheprovider", "-p", "tests.timeout_report"]
    parallel = ["-n", "2", "--dist", "worksteal"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *parallel, *plugins, "-q", "--rootdir", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=90,  # inside this test's own bound (120 s): a TimeoutExpired names the run
    )


def test_a_crashed_worker_fails_the_run_and_is_named(tmp_path: Path) -> None:
    ran = run_pytest(
        tmp_path,
        """
        import os

        def test_before():
            pass

        def test_dies():
            os._exit(1)

        def test_after():
            pass
        """,
    )
    out = ran.stdout + ran.stderr
    assert ran.returncode == 1, out
    assert "crashed while running 'test_generated.py::test_dies'" in out, out
    assert "1 failed, 2 passed" in out, out  # the others ran: nothing skipped silently


def test_a_hanging_test_fails_at_its_bound_with_the_timeout_message(tmp_path: Path) -> None:
    ran = run_pytest(
        tmp_path,
        """
        import threading

        import pytest

        def test_fine():
            pass

        @pytest.mark.timeout(2)
        def test_hangs():
            threading.Event().wait()
        """,
    )
    out = ran.stdout + ran.stderr
    assert ran.returncode == 1, out
    assert "crashed while running 'test_generated.py::test_hangs'" in out, out
    # The worker's terminal is /dev/null: the timeout, the test and where it hung come on
    # stderr (tests/timeout_report.py), not only "crashed".
    assert "test_generated.py::test_hangs ran past its timeout (0:00:02)" in ran.stderr, out
    assert "threading.Event().wait()" in ran.stderr, out  # its stack
    assert "1 failed, 1 passed" in out, out


def test_a_wait_that_times_out_names_what_it_waited_for() -> None:
    from tests.ui.helpers import wait_until

    ready: list[int] = []
    with pytest.raises(AssertionError, match=r"waiting for lambda: bool\(ready\)"):
        wait_until(lambda: bool(ready), 0.05)
    with pytest.raises(AssertionError, match="waiting for the batch to settle"):
        wait_until(lambda: bool(ready), 0.05, what="the batch to settle")
