"""Distributions over many invocations: count, p50/p90/p99/max, per function and per downstream call.

Percentiles are nearest-rank over the raw values (the smallest value with at least p % of values at or
below it), so every figure is a value that was measured. For metrics, emit the raw values instead (see
`values_by_function`): CloudWatch then computes true percentiles over any period.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from traces.invocations import Invocation

# The per-invocation durations a distribution is kept for, in the order a report shows them.
DURATION_FIELDS = (
    "s3_notification_ms",
    "dwell_ms",
    "init_ms",
    "invocation_ms",
    "overhead_ms",
    "runtime_overhead_ms",
    "extension_overhead_ms",
    "response_duration_ms",
)


@dataclass(frozen=True, slots=True)
class Distribution:
    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {"count": self.count, "p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max}


@dataclass(slots=True)
class FunctionStats:
    function: str
    invocations: int = 0
    cold_starts: int = 0
    function_errors: int = 0
    incomplete: int = 0
    durations: dict[str, Distribution] = field(default_factory=dict)  # field name -> distribution


@dataclass(slots=True)
class CallStats:
    service: str
    operation: str | None
    calls: int = 0
    errors: int = 0
    faults: int = 0
    throttles: int = 0
    duration: Distribution = field(default_factory=lambda: distribution(()))


def percentile(sorted_values: Sequence[float], percent: float) -> float | None:
    """Nearest-rank percentile of values sorted ascending; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percent / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def distribution(values: Iterable[float | None]) -> Distribution:
    """Count, p50, p90, p99 and max of the values that are present (None is left out)."""
    present = sorted(value for value in values if value is not None)
    return Distribution(
        count=len(present),
        p50=percentile(present, 50),
        p90=percentile(present, 90),
        p99=percentile(present, 99),
        max=present[-1] if present else None,
    )


def values_by_function(invocations: Iterable[Invocation], field_name: str) -> dict[str, list[float]]:
    """The raw values of one duration field (see DURATION_FIELDS) per function, None left out."""
    values: dict[str, list[float]] = {}
    for invocation in invocations:
        value = getattr(invocation, field_name)
        if value is not None:
            values.setdefault(invocation.function, []).append(value)
    return values


def per_function(invocations: Iterable[Invocation]) -> dict[str, FunctionStats]:
    """Counts and a distribution of every duration field, per function name (sorted by name)."""
    grouped: dict[str, list[Invocation]] = {}
    for invocation in invocations:
        grouped.setdefault(invocation.function, []).append(invocation)
    result: dict[str, FunctionStats] = {}
    for function in sorted(grouped):
        members = grouped[function]
        result[function] = FunctionStats(
            function=function,
            invocations=len(members),
            cold_starts=sum(1 for i in members if i.cold_start),
            function_errors=sum(1 for i in members if i.function_error),
            incomplete=sum(1 for i in members if not i.complete),
            durations={name: distribution(getattr(i, name) for i in members) for name in DURATION_FIELDS},
        )
    return result


def per_call(
    invocations: Iterable[Invocation], *, by_function: bool = False
) -> dict[tuple[str, ...], CallStats]:
    """Calls per downstream `(service, operation)`, or per `(function, service, operation)` with
    `by_function` (the dimensions of the CallLatency metric); an operation that is missing is "".
    """
    grouped: dict[tuple[str, ...], list[tuple[float | None, bool, bool, bool]]] = {}
    names: dict[tuple[str, ...], tuple[str, str | None]] = {}
    for invocation in invocations:
        for call in invocation.calls:
            key: tuple[str, ...] = (call.service, call.operation or "")
            if by_function:
                key = (invocation.function, *key)
            grouped.setdefault(key, []).append((call.duration_ms, call.error, call.fault, call.throttle))
            names.setdefault(key, (call.service, call.operation))
    result: dict[tuple[str, ...], CallStats] = {}
    for key in sorted(grouped):
        members = grouped[key]
        service, operation = names[key]
        result[key] = CallStats(
            service=service,
            operation=operation,
            calls=len(members),
            errors=sum(1 for _, error, _, _ in members if error),
            faults=sum(1 for _, _, fault, _ in members if fault),
            throttles=sum(1 for _, _, _, throttle in members if throttle),
            duration=distribution(duration for duration, _, _, _ in members),
        )
    return result
