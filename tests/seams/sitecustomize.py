"""Test seams (see tests/seams/__init__.py): with TURKTUI_TEST_CRASH_AFTER_SEND=1, wrap the
request-logged MTurk service so that the process SIGKILLs itself right after
CreateAdditionalAssignmentsForHIT (or a bonus) answered successfully, before the outcome is
recorded.
With TURKTUI_TEST_HOSTNAME=NAME, socket.gethostname() answers NAME. With
TURKTUI_TEST_BARRIER=DIR, a record insert waits (up to 10 s) until TURKTUI_TEST_PARTIES
processes are inserting a record for the same HIT (or, without one, their Nth insert): they
race on the record itself."""

import os

if os.environ.get("TURKTUI_TEST_HOSTNAME"):
    import socket

    _name = os.environ["TURKTUI_TEST_HOSTNAME"]
    socket.gethostname = lambda: _name

if os.environ.get("TURKTUI_TEST_BARRIER"):
    import itertools
    import time
    import uuid
    from pathlib import Path

    from turktui.adapters.history import HistoryStore

    _barrier = Path(os.environ["TURKTUI_TEST_BARRIER"])
    _parties = int(os.environ.get("TURKTUI_TEST_PARTIES", "2"))
    _turn = itertools.count()
    _insert = HistoryStore.insert

    def _insert_together(self, rows, **kw):  # type: ignore[no-untyped-def]
        # Keyed by the subject (the HIT) when there is one: processes meet on the same
        # request even if one of them inserted something else in between (a count per
        # process drifts apart then, and every later meeting waits out its 10 s alone).
        first = rows[0] if rows else {}
        n = first.get("subject") or first.get("hit_id") or next(_turn)
        (_barrier / f"{n}-{uuid.uuid4().hex}").touch()
        deadline = time.monotonic() + 10
        while len(list(_barrier.glob(f"{n}-*"))) < _parties and time.monotonic() < deadline:
            time.sleep(0.002)
        return _insert(self, rows, **kw)

    HistoryStore.insert = _insert_together  # type: ignore[method-assign]

if os.environ.get("TURKTUI_TEST_CRASH_AFTER_SEND") == "1":
    import signal

    from turktui.adapters import requestlog

    _send = requestlog.LoggedService.create_additional_assignments

    def _send_then_die(self, hit_id, n, token):  # type: ignore[no-untyped-def]
        result = _send(self, hit_id, n, token)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    requestlog.LoggedService.create_additional_assignments = _send_then_die  # type: ignore[method-assign]

    _bonus = requestlog.LoggedService.send_bonus

    def _bonus_then_die(self, *args):  # type: ignore[no-untyped-def]
        result = _bonus(self, *args)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    requestlog.LoggedService.send_bonus = _bonus_then_die  # type: ignore[method-assign]
