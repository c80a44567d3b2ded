"""Seams the tests install from outside the production code.

`crash_after_send()` is the environment for a turktui subprocess that SIGKILLs itself right
after an extension request returned successfully and before its outcome is recorded (to
prove that `resolve` settles such records). The hook lives in `sitecustomize.py` in this
folder, put first on the subprocess's PYTHONPATH: nothing in turktui knows about it.
"""

from __future__ import annotations

import os
from pathlib import Path

SEAM_DIR = Path(__file__).resolve().parent
CRASH_AFTER_SEND_ENV = "TURKTUI_TEST_CRASH_AFTER_SEND"


def crash_after_send(base: dict[str, str] | None = None) -> dict[str, str]:
    """Extra environment variables for a subprocess that dies right after the send."""
    existing = (base if base is not None else os.environ).get("PYTHONPATH", "")
    path = str(SEAM_DIR) + (os.pathsep + existing if existing else "")
    return {CRASH_AFTER_SEND_ENV: "1", "PYTHONPATH": path}
