"""One window's figures, record by record (DESIGN.md's metrics contract), before they become record lines.

A window keeps one figure per planned object, per invocation and per downstream call rather than lists of
values: each becomes one log line, so CloudWatch gets every raw value as a metric where the plan declares
one, and Logs Insights gets one value per event for its percentiles where it does not.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reporter.windows import Window


@dataclass(frozen=True)
class TransactionFigure:
    """One object the manifest planned in the window, and what became of it."""

    key: str
    trace_id: str
    verdict: str
    end_to_end_ms: float | None = None
    s3_notification_ms: float | None = None
    put_object_ms: float | None = None
    missing: tuple[str, ...] = ()
    variant: str | None = None  # the pipeline twin the object was sent to


@dataclass(frozen=True)
class InvocationFigure:
    """One invocation record of the analysis contract (`tracecanary analyze --format json`)."""

    function: str
    trace_id: str | None
    format: str | None
    cold_start: bool
    function_error: bool
    init_ms: float | None = None
    dwell_ms: float | None = None
    invocation_ms: float | None = None
    overhead_ms: float | None = None
    runtime_overhead_ms: float | None = None
    # Only new-style traces of a function with an extension carry it: None (no value, no metric) elsewhere.
    extension_overhead_ms: float | None = None
    response_duration_ms: float | None = None
    attempts: int | None = None


@dataclass(frozen=True)
class CallFigure:
    """One downstream call an invocation made, as X-Ray timed it."""

    function: str
    service: str
    operation: str
    resource: str | None
    trace_id: str | None
    duration_ms: float | None
    error: bool
    throttle: bool
    fault: bool


@dataclass
class WindowFigures:
    window: Window
    generated: int = 0
    complete: int = 0
    lost: int = 0
    error: int = 0
    incomplete: int = 0
    untraced: int = 0
    traces_retrieved: int = 0
    xray_api_calls: int = 0
    xray_calls_by_operation: dict[str, int] = field(default_factory=dict)
    transactions: list[TransactionFigure] = field(default_factory=list)
    invocations: list[InvocationFigure] = field(default_factory=list)
    calls: list[CallFigure] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        """What the pipeline delivered without a seen error (complete, and untraced: its item was written) /
        generated, in percent; None when nothing was generated (no rate to speak of)."""
        return 100.0 * (self.complete + self.untraced) / self.generated if self.generated else None

    @property
    def untraced_share(self) -> float | None:
        """Untraced / generated in percent: how blind the monitor was; None when nothing was generated."""
        return 100.0 * self.untraced / self.generated if self.generated else None

    @property
    def end_to_end_ms(self) -> list[float]:
        return [t.end_to_end_ms for t in self.transactions if t.end_to_end_ms is not None]

    @property
    def s3_notification_ms(self) -> list[float]:
        return [t.s3_notification_ms for t in self.transactions if t.s3_notification_ms is not None]

    def invocation_values(self, name: str) -> list[float]:
        """Every value of one duration (`dwell_ms`, `invocation_ms`, ...) over the window's invocations."""
        values = (getattr(invocation, name) for invocation in self.invocations)
        return [float(value) for value in values if value is not None]

    def call_values(self, service: str, operation: str) -> list[float]:
        return [
            call.duration_ms
            for call in self.calls
            if (call.service, call.operation) == (service, operation) and call.duration_ms is not None
        ]

    def add_invocation(self, invocation: Mapping[str, Any]) -> None:
        """Keep one invocation record of the analysis contract and each call it made."""
        function = str(invocation["function"])
        trace_id = _text(invocation.get("trace_id"))
        self.invocations.append(
            InvocationFigure(
                function=function,
                trace_id=trace_id,
                format=_text(invocation.get("format")),
                cold_start=bool(invocation.get("cold_start")),
                function_error=bool(invocation.get("function_error")),
                init_ms=_number(invocation.get("init_ms")),
                dwell_ms=_number(invocation.get("dwell_ms")),
                invocation_ms=_number(invocation.get("invocation_ms")),
                overhead_ms=_number(invocation.get("overhead_ms")),
                runtime_overhead_ms=_number(invocation.get("runtime_overhead_ms")),
                extension_overhead_ms=_number(invocation.get("extension_overhead_ms")),
                response_duration_ms=_number(invocation.get("response_duration_ms")),
                attempts=None if invocation.get("attempts") is None else int(invocation["attempts"]),
            )
        )
        for call in invocation.get("calls", []):
            self.calls.append(
                CallFigure(
                    function=function,
                    service=str(call["service"]),
                    operation=str(call.get("operation") or "Unknown"),
                    resource=_text(call.get("resource")),
                    trace_id=trace_id,
                    duration_ms=_number(call.get("duration_ms")),
                    error=bool(call.get("error")),
                    throttle=bool(call.get("throttle")),
                    fault=bool(call.get("fault")),
                )
            )


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"expected a number of milliseconds, got {value!r}")


def _text(value: object) -> str | None:
    return None if value is None else str(value)
