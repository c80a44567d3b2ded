"""The typed seams hold: mypy, strict, over the domain, the pipeline and the adapters (config
in pyproject.toml, `[tool.mypy]`), like tests/test_layers.py runs the import contracts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_domain_pipeline_and_adapters_type_check_strictly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
