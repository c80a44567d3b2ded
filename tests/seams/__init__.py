"""Seams the tests install from outside the production code.

`as_host(name)` makes a subprocess report another host name (two "hosts" on one machine).

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
HOSTNAME_ENV = "TURKTUI_TEST_HOSTNAME"


def _seam_path(base: dict[str, str] | None) -> str:
    existing = (base if base is not None else os.environ).get("PYTHONPATH", "")
    return str(SEAM_DIR) + (os.pathsep + existing if existing else "")


def crash_after_send(base: dict[str, str] | None = None) -> dict[str, str]:
    """Extra environment variables for a subprocess that dies right after the send."""
    return {CRASH_AFTER_SEND_ENV: "1", "PYTHONPATH": _seam_path(base)}


def as_host(
    name: str, base: dict[str, str] | None = None, *, barrier: Path | None = None, parties: int = 2
) -> dict[str, str]:
    """Extra environment variables for a subprocess that believes its host is `name`
    (socket.gethostname): another machine, for the owners it records. `barrier` (a shared
    directory): each record insert waits for `parties` processes to reach the same one."""
    extra = {HOSTNAME_ENV: name, "PYTHONPATH": _seam_path(base)}
    if barrier is not None:
        extra.update(TURKTUI_TEST_BARRIER=str(barrier), TURKTUI_TEST_PARTIES=str(parties))
    return extra
