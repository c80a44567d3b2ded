"""Resolve goes where the record went.

Every record carries its environment, endpoint and profile. `resolve_everywhere` groups the
unsettled records by (environment, endpoint, profile), builds one Engine per group that talks
to *that* endpoint with *that* profile, probes it once (GetAccountBalance: read-only) and
calls `Engine.resolve(record, on_event)` for each of its records. A group whose endpoint
cannot be reached is reported with the exact command to retry; its records stay as they
were (nothing is re-sent blindly). The CLI `turktui resolve` and the app's start-up offer
both use it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from turktui.adapters import requestlog
from turktui.adapters.history import HistoryError, HistoryStore
from turktui.domain.environment import Environment, EnvKind, parse_endpoint
from turktui.domain.errors import TurkError
from turktui.domain.records import Record
from turktui.domain.text import one_line, redact
from turktui.pipeline.engine import Engine, Event, Outcome, PlanRefused


@dataclass(frozen=True, slots=True)
class Target:
    """Where a record went: its environment kind, endpoint URL and AWS profile."""

    env_kind: str
    endpoint: str
    profile: str | None

    @classmethod
    def of(cls, record: Record) -> Target:
        return cls(record.env_kind, record.endpoint, record.profile)

    @property
    def kind(self) -> EnvKind:
        try:
            return EnvKind(self.env_kind)
        except ValueError:  # an unknown label: the safe reading is "may be real money"
            return EnvKind.CUSTOM

    def environment(self, *, confirm_custom: bool = True) -> Environment:
        # The record's endpoint exactly as recorded: Engine.resolve checks it.
        return Environment(self.kind, self.endpoint, self.profile, False, confirm_custom)

    @property
    def label(self) -> str:
        who = f"profile {self.profile}" if self.profile else "default credentials"
        if self.kind is EnvKind.DEMO:
            who = "demo credentials"
        return f"{self.kind.banner} {one_line(redact(self.endpoint))} ({one_line(who)})"

    def retry_command(self) -> str:
        """The exact command that resolves this group's records again."""
        words = ["turktui", "resolve", "--endpoint-url", redact(self.endpoint)]
        if self.kind is EnvKind.PRODUCTION:
            words.append("--production")
        if self.profile:
            words += ["--profile", self.profile]
        if self.kind is EnvKind.DEMO:
            words = ["turktui", "resolve", "--demo"]
        return " ".join(shlex.quote(w) for w in words)


@dataclass
class GroupReport:
    target: Target
    records: list[Record]
    outcomes: list[Outcome] = field(default_factory=list)
    #: Why the endpoint could not be used (None when it answered).
    unreachable: str | None = None
    #: "reach" (network, timeouts, 5xx) or "use" (credentials, access): what went wrong.
    cannot: str = "reach"
    errors: list[str] = field(default_factory=list)
    skipped: list[Record] = field(default_factory=list)

    @property
    def settled(self) -> int:
        return sum(1 for o in self.outcomes if o.record.settled)

    @property
    def still_unknown(self) -> int:
        """Records of this group that are not settled after the attempt (skipped ones excluded)."""
        done = {o.record.id for o in self.outcomes if o.record.settled}
        skipped = {r.id for r in self.skipped}
        return sum(1 for r in self.records if r.id not in done and r.id not in skipped)

    def summary(self) -> str:
        if self.unreachable is not None:
            return (
                f"{self.target.label}: cannot {self.cannot} it "
                f"({one_line(redact(self.unreachable))}); "
                f"{len(self.records) - len(self.skipped)} request(s) still unknown. "
                f"Retry: {self.target.retry_command()}"
            )
        text = f"{self.target.label}: {self.settled} settled"
        if self.still_unknown:
            text += f", {self.still_unknown} still unknown. Retry: {self.target.retry_command()}"
        if self.skipped:
            text += f", {len(self.skipped)} skipped (not confirmed)"
        return text


def group_by_target(
    records: Iterable[Record], *, profile: str | None = None
) -> dict[Target, list[Record]]:
    """Records by where they went; `profile` (the operator's --profile) replaces theirs."""
    groups: dict[Target, list[Record]] = {}
    for record in records:
        target = Target.of(record)
        if profile:
            target = Target(target.env_kind, target.endpoint, profile)
        groups.setdefault(target, []).append(record)
    return groups


def same_endpoint(a: str, b: str) -> bool:
    """Compare two endpoint URLs after normalisation (case, default port, trailing dot...)."""
    try:
        return parse_endpoint(a).url == parse_endpoint(b).url
    except ValueError:
        return a == b


def like_service_factory(service: Any, **timeouts: float) -> Callable[[Environment], Any]:
    """Services for other endpoints, made like `service` (the session's own, duck-typed:
    this module never imports the boto3 wrapper, so the UI may use it). Changing calls go
    to the request log."""
    inner = getattr(service, "wrapped", service)
    kind = type(inner)

    def make(env: Environment) -> Any:
        return requestlog.LoggedService(kind(env, **timeouts), env)

    return make


def resolve_group(
    target: Target,
    records: Sequence[Record],
    history: HistoryStore,
    service: Any,
    *,
    confirm_custom: bool = True,
    allow: Callable[[Record], bool] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
    clock: Callable[[], datetime] | None = None,
    take_over: Collection[int] = (),
) -> GroupReport:
    """Settle `records` (all made against `target`) through `service`, which talks to it."""
    report = GroupReport(target, list(records))
    engine = Engine(
        service, history, target.environment(confirm_custom=confirm_custom), clock=clock
    )
    try:
        service.get_balance()  # read-only probe: is this endpoint there, do we have access?
    except TurkError as exc:
        report.unreachable = exc.message
        report.cannot = "reach" if exc.transient else "use"
        requestlog.note(
            engine.env,
            f"resolve: cannot {report.cannot} it ({exc.message}); "
            f"{len(records)} request(s) left unknown",
        )
        return report
    result = settle(
        engine,
        records,
        allow=allow,
        on_outcome=on_outcome,
        on_event=on_event,
        log=True,
        take_over=take_over,
    )
    report.outcomes.extend(result.outcomes)
    report.skipped.extend(result.skipped)
    report.errors.extend(f"#{rid}: {one_line(redact(text))}" for rid, text in result.errors)
    return report


@dataclass
class Settled:
    """What `settle` did: outcomes, (record id, why) for the ones left alone, and the ones
    the operator did not confirm."""

    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[Record] = field(default_factory=list)


def settle(
    engine: Engine,
    records: Sequence[Record],
    *,
    allow: Callable[[Record], bool] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
    log: bool = False,
    take_over: Collection[int] = (),
) -> Settled:
    """THE resolution loop (the CLI's resolve, the app's start-up offer, the history screen
    and a batch's resolve all end here): `engine.resolve` for each record, re-read first;
    a record that is live elsewhere, changed meanwhile or cannot be written is named in
    `errors` and left as it is. Never re-sends blindly (that is `Engine.resolve`'s rule).
    `take_over`: ids of records the operator took over from another host's process."""
    result = Settled()
    for record in records:
        if allow is not None and not allow(record):
            result.skipped.append(record)
            continue
        full = engine.history.get(record.id) or record
        try:
            outcome = engine.resolve(full, on_event, take_over=record.id in take_over)
        except (PlanRefused, HistoryError) as exc:
            result.errors.append((record.id, str(exc)))
            continue
        result.outcomes.append(outcome)
        if log:
            requestlog.note(
                engine.env,
                f"resolve #{record.id} HIT {record.hit_id} "
                f"{record.change_label}: {outcome.record.state.value}",
            )
        if on_outcome is not None:
            on_outcome(outcome)
    return result


def settle_here(engine: Engine, on_event: Callable[[Event], None] | None = None) -> list[Outcome]:
    """Settle every unsettled record made against this engine's endpoint, leaving alone
    the ones a running process (or another thread of this one) is handling."""
    mine = [
        r
        for r in engine.history.unsettled()
        if r.endpoint == engine.env.endpoint_url and not engine.is_live(r)
    ]
    result = settle(engine, mine, on_event=on_event)
    return result.outcomes


def resolve_everywhere(
    records: Sequence[Record],
    history: HistoryStore,
    make_service: Callable[[Environment], Any],
    *,
    reuse: tuple[Environment, Any] | None = None,
    confirm_custom: bool = True,
    allow: Callable[[Record], bool] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
    clock: Callable[[], datetime] | None = None,
    profile: str | None = None,
    take_over: Collection[int] = (),
) -> list[GroupReport]:
    """One Engine per (environment, endpoint, profile); `reuse` = (env, service) of the
    current session, used for records made against exactly that endpoint and profile.
    `profile` (given by the operator) replaces the records' own."""
    reports = []
    for target, group in group_by_target(records, profile=profile).items():
        env = target.environment(confirm_custom=confirm_custom)
        if (
            reuse is not None
            and reuse[0].endpoint_url == target.endpoint
            and reuse[0].profile == target.profile
        ):
            service = reuse[1]
        else:
            service = make_service(env)
        reports.append(
            resolve_group(
                target,
                group,
                history,
                service,
                confirm_custom=confirm_custom,
                allow=allow,
                on_outcome=on_outcome,
                on_event=on_event,
                clock=clock,
                take_over=take_over,
            )
        )
    return reports
