"""Fault injection: latency, throttling, 500s and dropped connections per operation.

SPEC grammar: rules separated by ``;``, each ``OP_OR_*:key=value[,key=value...]``
with keys ``latency`` (``20ms``, ``1.5s``, ``0.2``), ``throttle``, ``error``,
``drop`` (rates 0..1), ``count`` (the rule lapses after N matching requests) and
``seed`` (RNG seed of the rule's rates, default 0).
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

_KEYS = ("latency", "throttle", "error", "drop", "count", "seed")


@dataclass
class FaultRule:
    """One rule; ``op`` is an operation name or ``*``."""

    op: str = "*"
    latency: float = 0.0
    throttle: float = 0.0
    error: float = 0.0
    drop: float = 0.0
    count: int | None = None
    seed: int = 0
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("throttle", "error", "drop"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault {name} rate must be within 0..1, got {value}")
        if self.latency < 0:
            raise ValueError(f"fault latency must not be negative, got {self.latency}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"fault count must not be negative, got {self.count}")
        if not self.op:
            raise ValueError("fault rule needs an operation name or *")
        self.rng = random.Random(self.seed)


@dataclass
class FaultPlan:
    """What to do with one request."""

    latency: float = 0.0
    throttle: bool = False
    error: bool = False
    drop: bool = False


def parse_duration(text: str) -> float:
    """``20ms`` / ``1.5s`` / ``2m`` / ``1h`` / ``0.2`` → seconds."""
    t = text.strip().lower()
    try:
        if t.endswith("ms"):
            return float(t[:-2]) / 1000.0
        if t.endswith("s"):
            return float(t[:-1])
        if t.endswith("m"):
            return float(t[:-1]) * 60.0
        if t.endswith("h"):
            return float(t[:-1]) * 3600.0
        return float(t)
    except ValueError:
        raise ValueError(f"invalid latency {text!r} (use e.g. 20ms or 1.5s)") from None


def parse_spec(spec: str) -> list[FaultRule]:
    """Rules from a SPEC string; ValueError with a clear message if malformed."""
    out: list[FaultRule] = []
    for chunk in spec.split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        op, sep, rest = chunk.partition(":")
        op = op.strip()
        if not sep or not op:
            raise ValueError(f"invalid fault rule {chunk!r}: expected OP:key=value[,...]")
        kwargs: dict[str, object] = {}
        for item in rest.split(","):
            item = item.strip()
            if not item:
                continue
            key, eq, value = item.partition("=")
            key = key.strip().lower()
            if not eq or key not in _KEYS:
                raise ValueError(
                    f"invalid fault setting {item!r} in {chunk!r}: keys are {', '.join(_KEYS)}"
                )
            value = value.strip()
            try:
                if key == "latency":
                    kwargs[key] = parse_duration(value)
                elif key in ("count", "seed"):
                    kwargs[key] = int(value)
                else:
                    kwargs[key] = float(value)
            except ValueError as exc:
                raise ValueError(f"invalid value for {key} in {chunk!r}: {exc}") from None
        if not kwargs:
            raise ValueError(f"fault rule {chunk!r} has no settings")
        out.append(FaultRule(op=op, **kwargs))  # type: ignore[arg-type]
    return out


class FaultInjector:
    """Thread-safe set of fault rules consulted once per request."""

    def __init__(self, spec: str | None = None) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = parse_spec(spec) if spec else []
        self._idle = threading.Condition()
        #: requests being handled right now (read, delayed, applied, answered)
        self.in_flight = 0

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        """Count one request while it is handled (its latency included)."""
        with self._idle:
            self.in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self.in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled (a slow one has landed or failed);
        False when `timeout` seconds passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self.in_flight == 0, timeout=timeout)

    def add(
        self,
        op: str = "*",
        latency: float = 0.0,
        throttle: float = 0.0,
        error: float = 0.0,
        drop: float = 0.0,
        count: int | None = None,
        seed: int = 0,
    ) -> FaultRule:
        """Add a rule at runtime."""
        rule = FaultRule(
            op=op,
            latency=latency,
            throttle=throttle,
            error=error,
            drop=drop,
            count=count,
            seed=seed,
        )
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules = []

    def parse(self, spec: str) -> None:
        """Replace all rules by those of ``spec``."""
        rules = parse_spec(spec)
        with self._lock:
            self.rules = rules

    def plan(self, op: str) -> FaultPlan:
        """Decide the faults for one request of ``op`` (consumes counts)."""
        plan = FaultPlan()
        if not self.rules:
            return plan
        with self._lock:
            for rule in self.rules:
                if rule.op not in ("*", op):
                    continue
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    rule.count -= 1
                plan.latency += rule.latency
                if rule.throttle and rule.rng.random() < rule.throttle:
                    plan.throttle = True
                if rule.error and rule.rng.random() < rule.error:
                    plan.error = True
                if rule.drop and rule.rng.random() < rule.drop:
                    plan.drop = True
            self.rules = [r for r in self.rules if r.count is None or r.count > 0]
        return plan
