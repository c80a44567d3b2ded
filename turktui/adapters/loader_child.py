"""The HIT loader's child process: `python -m turktui.adapters.loader_child` (see `loader`).

Reads one frame (the service spec) from stdin, streams events to stdout, and exits as soon
as stdin closes (the app is gone).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import IO

from turktui.adapters.loader import error_to_tuple, read_frame, write_frame
from turktui.domain.errors import TurkError


def _exit_when_parent_goes(stdin: IO[bytes]) -> None:
    try:
        while stdin.read(65536):
            pass
    finally:
        os._exit(0)


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        request = read_frame(stdin)
    except EOFError:
        return 0
    threading.Thread(target=_exit_when_parent_goes, args=(stdin,), daemon=True).start()
    try:
        from turktui.adapters.mturk import MTurkService

        service = MTurkService.from_spec(request["spec"])
        pages = 0
        for hits in service.iter_hit_pages(request["page_size"]):
            pages += 1
            write_frame(stdout, ("page", hits))
            if pages == 1 and request["balance"]:
                # After the first page: that is what the user waits for.
                try:
                    write_frame(stdout, ("balance", service.get_balance()))
                except TurkError as exc:
                    write_frame(stdout, ("balance_error", error_to_tuple(exc)))
        write_frame(stdout, ("done", pages))
    except BrokenPipeError:
        os._exit(0)  # the app is gone
    except Exception as exc:  # typed or not, the app shows one plain message
        with contextlib.suppress(OSError):
            write_frame(stdout, ("error", error_to_tuple(exc)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
