"""The reliability campaign: every category at full scale, figures as Markdown.

    python -m tests.reliability.campaign [--trials N] [--cli-trials M] [--truth-trials T]
                                         [--seed S]
                                         [--examples K] [--kills K] [--per-writer W]
                                         [--world-scale S] [--review-trials R]
                                         [--review-process-trials P] [--group-trials G]
                                         [--only NAME ...]

Prints the figures and writes them to `.bench/reliability.md`; exits 1 on any violation.
The default `pytest` run executes the same functions at a small scale
(tests/reliability/test_*.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.reliability import (
    durability,
    environment,
    exactly_once,
    group_send,
    hostile_data,
    hostile_input,
    hostile_world,
    review_pay,
)
from tests.reliability import secrets_perms as sp
from tests.reliability.common import Section, StaticResponder, hermetic

REPORT = Path(__file__).resolve().parents[2] / ".bench" / "reliability.md"


def _timed(section: Section, fn: Callable[[], Any]) -> Any:
    t0 = time.monotonic()
    try:
        return fn()
    finally:
        section.add("wall time", f"{time.monotonic() - t0:.1f} s")


def exactly_once_section(tmp: Path, trials: int, cli_trials: int, seed: int) -> Section:
    sec = Section("1. Exactly once under faults")
    server = exactly_once.new_emulator()
    try:
        t0 = time.monotonic()
        eng = exactly_once.run_engine_trials(trials, seed, tmp / "engine", server)
        cli = exactly_once.run_cli_trials(cli_trials, seed + 1, tmp / "cli-home", server)
        elapsed = time.monotonic() - t0
    finally:
        server.stop()
    both = exactly_once.merge(eng, cli)
    sec.add("trials (engine + CLI)", f"{eng.total:,} + {cli.total:,} = {both.total:,}")
    sec.add_each("trials", both.trials)
    sec.add("extensions applied (exactly once)", both.applied)
    sec.add("not applied (refused / failed / never sent)", both.not_applied)
    sec.add("records settled by resolve", both.resolved)
    sec.add("CLI processes SIGKILLed (hook or random moment)", cli.killed)
    sec.add_states(both.states)
    sec.add("**double extensions**", both.double)
    sec.add("**lost or wrong history records**", both.lost_or_wrong)
    sec.add("**unknown outcomes left unresolved**", both.unresolved)
    sec.add("**balance charged other than exactly once**", both.wrong_balance)
    sec.add("**out-of-rules requests sent**", both.invalid_sent)
    sec.add("wall time", f"{elapsed:.1f} s")
    sec.failures += both.failures
    return sec


def truth_section(tmp: Path, trials: int, seed: int) -> Section:
    sec = Section("1b. Truthful outcomes (what the history says is what MTurk did)")
    t0 = time.monotonic()
    tally = exactly_once.run_truth_trials(trials, seed, tmp / "truth")
    sec.add("trials", f"{tally.total:,}")
    sec.add_each("trials", tally.trials)
    sec.add_states(tally.states)
    sec.add("second requests refused (one per HIT at a time)", tally.refused_second)
    sec.add("conflicts reported with before/expected/actual", tally.conflicts)
    sec.add('comparisons that said "cannot tell" (another request on the HIT)', tally.cannot_tell)
    sec.add("**double extensions**", tally.double)
    sec.add("**records claiming success MTurk contradicts**", tally.false_success)
    sec.add("**records claiming failure MTurk contradicts**", tally.false_failure)
    sec.add("**live records of another process settled by resolve**", tally.live_overwritten)
    sec.add("**records left planned/sending**", tally.unresolved)
    sec.add("wall time", f"{time.monotonic() - t0:.1f} s")
    sec.failures += tally.failures
    return sec


def durability_section(tmp: Path, seed: int, kills: int, per_writer: int) -> Section:
    sec = Section("2. History durability")
    res = _timed(
        sec,
        lambda: durability.run_all(tmp / "durability", seed, kills=kills, per_writer=per_writer),
    )
    sec.rows.insert(0, ("writer processes SIGKILLed at random moments", res.kills))
    sec.rows.insert(1, ("acknowledged (committed) writes before the kills", res.acknowledged))
    sec.rows.insert(2, ("records found afterwards", res.records_found))
    sec.rows.insert(3, ("**acknowledged records lost**", res.lost))
    sec.rows.insert(4, ("**acknowledged updates lost**", res.lost_updates))
    sec.rows.insert(
        5, ("**integrity_check failures** (checked after every kill)", res.integrity_failures)
    )
    for writers, (want, got) in sorted(res.concurrent.items()):
        sec.rows.insert(
            -1,
            (
                f"{writers} concurrent writer processes: records expected / found",
                f"{want:,} / {got:,}",
            ),
        )
    for case, message, ok, same in res.files:
        verdict = ("clear message" if ok else "UNCLEAR") + (
            ", file unchanged" if same else ", FILE MODIFIED"
        )
        sec.rows.insert(-1, (f"{case}", f"{verdict}: “{message}”"))
    sec.failures += res.failures
    sec.rows.insert(
        -1, ("app starts with each bad history (see test_durability)", "covered in pytest")
    )
    return sec


def hostile_input_section(tmp: Path, examples: int, seed: int) -> Section:
    from turktui.adapters.history import HistoryStore

    sec = Section("3a. Hostile input (hypothesis)")
    hostile_input.SEED["value"] = seed
    t0 = time.monotonic()
    sec.add(
        "parse_count: any text → refusal or the typed number within the rules",
        hostile_input.check_parse_count(examples),
    )
    with HistoryStore(tmp / "hypothesis.sqlite3") as store:
        ran, sent, invalid = hostile_input.check_dialog_to_engine(examples, store)
    sec.add("dialog path → engine.plan/execute: examples", ran)
    sec.add("requests that reached the service", sent)
    sec.add("**invalid requests sent** (judged by the emulator's rules)", invalid)
    sec.add(
        "CLI `extend HIT N`: argparse + parse_count", hostile_input.check_cli_argument(examples)
    )
    sec.add("--token / --expire-in", hostile_input.check_tokens_and_durations(examples))
    sec.add("wall time", f"{time.monotonic() - t0:.1f} s")
    if invalid:
        sec.fail(f"{invalid} invalid requests sent")
    return sec


def hostile_data_section(tmp: Path) -> Section:
    sec = Section("3b. Hostile service data")
    t0 = time.monotonic()
    server = exactly_once.new_emulator()
    responder = StaticResponder(hostile_data.responder_answers()).start()
    try:
        ids = hostile_data.add_hostile_hits(server.state)
        stored = hostile_data.run_pilot(hostile_data.make_ctx(server.url, tmp / "hd1"), ids)
        weird = hostile_data.run_pilot(
            hostile_data.make_ctx(responder.url, tmp / "hd2"), ["1", "2", "3", "4"]
        )
        raw, found = hostile_data.terminal_bytes(server.url, tmp / "hd-term")
    finally:
        server.stop()
        responder.stop()
    for name, rep in (
        ("markup/escapes/controls/bidi/10k titles", stored),
        ("malformed timestamps, missing fields, numbers as strings", weird),
    ):
        sec.add(f"{name}: screens rendered", len(rep.screens))
        sec.add(f"{name}: crash", rep.crashed or "none")
        sec.add(f"{name}: markup shown literally", rep.literal_markup)
        sec.add(f"{name}: extension through the dialog", rep.extended)
        sec.add(f"**{name}: unsafe characters rendered**", len(rep.unsafe))
        if rep.crashed or rep.unsafe or not rep.literal_markup:
            sec.fail(f"{name}: {rep.crashed} {rep.unsafe[:3]} literal={rep.literal_markup}")
    sec.add("pty: bytes written by the console script", len(raw))
    sec.add("**pty: escape sequences from data found**", len(found))
    sec.failures += [f"terminal bytes: {f}" for f in found]
    sec.add("wall time", f"{time.monotonic() - t0:.1f} s")
    return sec


def environment_section(tmp: Path) -> Section:
    sec = Section("4. Hostile environment")
    t0 = time.monotonic()
    server = exactly_once.new_emulator()
    try:
        hit_id = server.state.add_hit(MaxAssignments=3)
        rep = environment.cli_cases(tmp / "env", server.url, hit_id)
        environment.app_cases(tmp / "env-app", rep)
    finally:
        server.stop()
    for case in rep.cases:
        # resolve's reason is on its last line; everything else says it first
        shown = (case.lines or [""])[-1 if "resolve" in case.name else 0]
        sec.add(
            f"CLI {case.name}", f"exit {case.rc}, {'ok' if case.ok else case.why}: “{shown[:100]}”"
        )
    for name, text, ok in rep.app:
        sec.add(f"app {name}", f"{'ok' if ok else 'FAIL'}: “{text[:90]}”")
    sec.failures += rep.failures
    sec.add("wall time", f"{time.monotonic() - t0:.1f} s")
    return sec


def secrets_section(tmp: Path) -> Section:
    sec = Section("5. Secrets and permissions")
    t0 = time.monotonic()
    server = exactly_once.new_emulator()
    try:
        rep = sp.secrets_check(tmp / "secrets", server)
        sp.permissions_check(tmp / "perms", rep)
    finally:
        server.stop()
    sec.add("places scanned for the fake key id and secret", len(rep.scanned))
    sec.add("**leaks**", len(rep.leaks))
    for name, mode in rep.modes.items():
        sec.add(
            f"mode of {name} (created under umask 000)"
            if name != "crash.log"
            else "mode of crash.log",
            mode,
        )
    sec.failures += rep.leaks + rep.bad_modes
    sec.add("wall time", f"{time.monotonic() - t0:.1f} s")
    return sec


def hangup_section(tmp: Path) -> Section:
    sec = Section("6. Dropped SSH session")
    t0 = time.monotonic()
    server = exactly_once.new_emulator()
    try:
        rep = sp.hangup_check(tmp / "hangup", server)
    finally:
        server.stop()
    sec.add("idle app: exit after hang-up", f"{rep.idle_exit_seconds:.2f} s")
    sec.add(
        "request in flight (2 s answer): exit after hang-up",
        f"{rep.exit_seconds:.2f} s (exit code {rep.exit_code})",
    )
    sec.add(
        "CPU used in the first second after the hang-up", f"{rep.cpu_seconds_while_waiting:.2f} s"
    )
    sec.add("the request's record after the hang-up", rep.record_state)
    sec.add(
        "after `turktui resolve --yes`",
        f"{rep.settled_state}, MaxAssignments +{rep.max_delta} (asked +2)",
    )
    sec.failures += rep.failures
    sec.add("wall time", f"{time.monotonic() - t0:.1f} s")
    return sec


def hostile_world_section(tmp: Path, scale: int, seed: int) -> Section:
    sec = Section("7. Hostile world in bounded time")
    t0 = time.monotonic()
    rep = hostile_world.run(tmp / "world", scale=scale, seed=seed)
    for kind, count in rep.cases.items():
        sec.add(f"cases: {kind}", f"{count:,} (slowest {rep.slowest[kind]:.2f} s)")
    sec.add("**cases**", sum(rep.cases.values()))
    sec.add("**hangs past the bound**", len(rep.hangs))
    sec.add("**tracebacks**", len(rep.tracebacks))
    sec.add("**broken terminals**", len(rep.broken_terminals))
    sec.add("**wrong records**", len(rep.wrong_records))
    sec.failures += rep.failures
    sec.add("wall time", f"{time.monotonic() - t0:.1f} s")
    return sec


def review_section(tmp: Path, trials: int, process_trials: int, seed: int) -> Section:
    sec = Section("8. Review and pay exactly once (issue 22)")
    t0 = time.monotonic()
    server = exactly_once.new_emulator()
    try:
        tally = review_pay.run_engine_trials(trials, seed, tmp / "review", server)
        tally.merge(review_pay.run_process_trials(process_trials, seed + 1, tmp / "rp", server))
    finally:
        server.stop()
    sec.add("trials (engine + processes)", f"{trials:,} + {process_trials:,}")
    sec.add_each("trials", tally.trials)
    sec.add("paid / approved / rejected (MTurk shows it)", tally.applied)
    sec.add("not applied (MTurk shows nothing)", tally.not_applied)
    sec.add("records settled by resolve", tally.resolved)
    sec.add("processes SIGKILLed", tally.killed)
    sec.add("second processes refused (one intent at a time)", tally.refused_second)
    sec.add_states(tally.states)
    sec.add("**double payments** (ListBonusPayments)", tally.double)
    sec.add("**lost records**", tally.lost)
    sec.add("**wrong records** (GetAssignment / ListBonusPayments disagree)", tally.wrong)
    sec.add("**balance moved other than once**", tally.wrong_balance)
    sec.add("**unknown left**", tally.unknown_left)
    sec.add("wall time", f"{time.monotonic() - t0:.1f} s")
    sec.failures += tally.failures
    return sec


def group_section(tmp: Path, trials: int, seed: int) -> Section:
    sec = Section("8b. Large groups with the second sender (issue 22)")
    t0 = time.monotonic()
    server = exactly_once.new_emulator()
    try:
        tally = group_send.run_group_trials(trials, seed, tmp / "group", server)
    finally:
        server.stop()
    low, high = group_send.SIZES
    sec.add("trials (`turktui approve --hit … --all-submitted` / `reject IDS…`)", f"{trials:,}")
    sec.add_each("trials", tally.trials)
    sec.add(f"assignments (groups of {low}-{high} Submitted)", tally.assignments)
    sec.add("approved / rejected (MTurk shows it)", tally.applied)
    sec.add("left Submitted (never sent: the command stopped first)", tally.not_applied)
    sec.add("records settled by resolve", tally.resolved)
    sec.add("commands SIGKILLed / interrupted (SIGINT)", f"{tally.killed} / {tally.interrupted}")
    sec.add("second senders seen / SIGKILLed", f"{tally.senders_seen} / {tally.senders_killed}")
    sec.add("exit codes", ", ".join(f"{k} ×{v}" for k, v in sorted(tally.exits.items())))
    sec.add_states(tally.states)
    sec.add("**lost records**", tally.lost)
    sec.add("**wrong records** (ListAssignmentsForHIT disagrees)", tally.wrong)
    sec.add("**funds moved other than once per approval**", tally.wrong_balance)
    sec.add("**unknown left**", tally.unknown_left)
    sec.add("**second senders left behind**", tally.left_behind)
    sec.add("**hangs / tracebacks or internal errors**", f"{tally.hangs} / {tally.crashes}")
    sec.add("wall time", f"{time.monotonic() - t0:.1f} s")
    sec.failures += tally.failures
    return sec


#: The categories, by the names --only takes.
SECTIONS = (
    "exactly_once",
    "truth",
    "durability",
    "hostile_input",
    "hostile_data",
    "environment",
    "secrets",
    "hangup",
    "hostile_world",
    "review",
    "group",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.campaign",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--trials", type=int, default=1000, help="engine trials (1000)")
    parser.add_argument("--cli-trials", type=int, default=150, help="CLI trials (150)")
    parser.add_argument(
        "--truth-trials",
        type=int,
        default=110,
        help="truthful-outcome trials, cycling through 11 kinds (110)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--examples", type=int, default=10_000, help="hypothesis examples per property (10000)"
    )
    parser.add_argument("--kills", type=int, default=40, help="writer SIGKILLs (40)")
    parser.add_argument(
        "--per-writer", type=int, default=1000, help="records per concurrent writer (1000)"
    )
    parser.add_argument(
        "--world-scale",
        type=int,
        default=5,
        help="hostile world: multiple of the base case counts (5)",
    )
    parser.add_argument(
        "--review-trials", type=int, default=700, help="review-and-pay engine trials (700)"
    )
    parser.add_argument(
        "--review-process-trials",
        type=int,
        default=60,
        help="review-and-pay trials with real processes: SIGKILL, two at once (60)",
    )
    parser.add_argument(
        "--group-trials",
        type=int,
        default=56,
        help="large-group trials with the second sender: real processes, faults, kills (56)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        metavar="NAME",
        help=f"run only this category (repeatable): {', '.join(SECTIONS)}",
    )
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    started = time.monotonic()
    sections: list[Section] = []
    with hermetic() as tmp:
        every: list[Callable[[], Section]] = [
            lambda: exactly_once_section(tmp, args.trials, args.cli_trials, args.seed),
            lambda: truth_section(tmp, args.truth_trials, args.seed),
            lambda: durability_section(tmp, args.seed, args.kills, args.per_writer),
            lambda: hostile_input_section(tmp, args.examples, args.seed),
            lambda: hostile_data_section(tmp),
            lambda: environment_section(tmp),
            lambda: secrets_section(tmp),
            lambda: hangup_section(tmp),
            lambda: hostile_world_section(tmp, args.world_scale, args.seed),
            lambda: review_section(tmp, args.review_trials, args.review_process_trials, args.seed),
            lambda: group_section(tmp, args.group_trials, args.seed + 2),
        ]
        steps = [
            step
            for name, step in zip(SECTIONS, every, strict=True)
            if name in (args.only or SECTIONS)
        ]
        for number, step in enumerate(steps, 1):
            try:
                section = step()
            except Exception as exc:  # a crashed category is a finding, not the end
                import traceback

                section = Section(f"step {number} crashed")
                section.fail(f"{type(exc).__name__}: {exc}")
                traceback.print_exc()
            # Temp paths say nothing and change every run.
            section.rows = [
                (n, v.replace(str(tmp), "$TMP") if isinstance(v, str) else v)
                for n, v in section.rows
            ]
            sections.append(section)
            print(section.markdown(), "\n", flush=True)
    total = sum(len(s.failures) for s in sections)
    head = (
        f"## Reliability campaign — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
        f"`python -m tests.reliability.campaign --trials {args.trials} --cli-trials "
        f"{args.cli_trials} --truth-trials {args.truth_trials} --seed {args.seed} "
        f"--examples {args.examples} --kills {args.kills} --per-writer {args.per_writer} "
        f"--world-scale {args.world_scale} --review-trials {args.review_trials} "
        f"--review-process-trials {args.review_process_trials} --group-trials {args.group_trials}"
        f"{''.join(f' --only {n}' for n in args.only or ())}` on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {time.monotonic() - started:.0f} s in all; "
        f"**{total} violations**.\n"
    )
    text = head + "\n" + "\n\n".join(s.markdown() for s in sections) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(head)
    print(f"(written to {args.output})")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
