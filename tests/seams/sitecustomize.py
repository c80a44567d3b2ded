"""Test seam (see tests/seams/__init__.py): with TURKTUI_TEST_CRASH_AFTER_SEND=1, wrap the
request-logged MTurk service so that the process SIGKILLs itself right after
CreateAdditionalAssignmentsForHIT (or a bonus) answered successfully, before the outcome is
recorded."""

import os

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
