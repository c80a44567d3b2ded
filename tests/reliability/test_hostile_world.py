"""Category 8 at a small scale: a hostile world in bounded time (see hostile_world), one
test per kind of case so that they run in parallel, each kind once or a few times (the
campaign, `python -m tests.reliability.campaign`, repeats them at its own scale).

Trickling servers: once per operation at a 2 s deadline (it bounds every request, and a
loaded machine's GetHIT before the trickle may take over 1 s); the campaign draws 1-2 s,
three cases per scale. The behaviour at the deadline is the subject here; the seconds past
it are the campaign's figure and tests/hostile/test_cli_bounds.py's (alone, marked timing);
here a command that never exits fails. Signals to a CLI extend and to the app, and
TERM=dumb, are not run a second time here: they are tests/hostile/test_cli_bounds.py,
tests/hostile/test_app_bounds.py and tests/reliability/test_secrets_and_hangup.py (a
dropped session: SIGHUP)."""

from __future__ import annotations

import random
from pathlib import Path

from tests.reliability import hostile_world
from tests.reliability.hostile_world import WorldReport


def _assert_clean(report: WorldReport, **cases: int) -> None:
    assert report.failures == [], report.failures
    assert report.cases == cases  # every case ran and was judged


def test_trickling_servers_end_at_the_deadline(tmp_path: Path) -> None:
    report = WorldReport()
    # Two cases: GetHIT trickles (nothing recorded, exit 4), then the extension (unknown, 5).
    hostile_world.trickling(tmp_path, report, 2, random.Random(7), deadlines=(2.0,), bounds=False)
    _assert_clean(report, **{"trickling server (CLI extend)": 2})


def test_endless_pagination_stops_and_says_why(tmp_path: Path) -> None:
    report = WorldReport()
    hostile_world.pagination(report, 4, random.Random(7))  # three token cycles, same HITs
    _assert_clean(report, **{"endless pagination": 4})


def test_hostile_answers_are_never_taken_for_success(tmp_path: Path) -> None:
    report = WorldReport()
    hostile_world.hostile_answers(tmp_path, report, 1)
    _assert_clean(
        report,
        **{
            "hostile extension answers": len(hostile_world.HOSTILE_CREATE),
            "hostile GetHIT answers": len(hostile_world.HOSTILE_GETHIT),
        },
    )


def test_damaged_records_are_listed_and_read_without_a_traceback(tmp_path: Path) -> None:
    report = WorldReport()
    hostile_world.damaged_records(tmp_path, report, 30, random.Random(7))
    _assert_clean(
        report,
        **{
            "damaged records read by the store": 30,
            "damaged records: history/resolve commands": 3,
        },
    )
