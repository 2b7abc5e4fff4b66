"""One window's figures, in the shape of the metrics contract (DESIGN.md), before they become EMF."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reporter.windows import Window


@dataclass
class FunctionFigures:
    invocations: int = 0
    cold_starts: int = 0
    function_errors: int = 0
    init_ms: list[float] = field(default_factory=list)
    dwell_ms: list[float] = field(default_factory=list)
    invocation_ms: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    # Only new-style traces of a function with an extension carry it: empty (no metric) everywhere else.
    extension_overhead_ms: list[float] = field(default_factory=list)


@dataclass
class CallFigures:
    latency_ms: list[float] = field(default_factory=list)
    errors: int = 0
    throttles: int = 0
    faults: int = 0


CallKey = tuple[str, str, str]  # (function, service, operation)


@dataclass
class WindowFigures:
    window: Window
    generated: int = 0
    complete: int = 0
    lost: int = 0
    end_to_end_ms: list[float] = field(default_factory=list)
    s3_notification_ms: list[float] = field(default_factory=list)
    functions: dict[str, FunctionFigures] = field(default_factory=dict)
    calls: dict[CallKey, CallFigures] = field(default_factory=dict)
    traces_retrieved: int = 0
    xray_api_calls: int = 0

    @property
    def success_rate(self) -> float | None:
        """Complete / generated in percent; None when nothing was generated (no rate to speak of)."""
        return 100.0 * self.complete / self.generated if self.generated else None

    def add_invocation(self, invocation: Mapping[str, Any]) -> None:
        """Count one invocation record of the analysis contract (`tracecanary analyze --format json`)."""
        function = str(invocation["function"])
        figures = self.functions.setdefault(function, FunctionFigures())
        figures.invocations += 1
        figures.cold_starts += bool(invocation.get("cold_start"))
        figures.function_errors += bool(invocation.get("function_error"))
        for name, values in (
            ("init_ms", figures.init_ms),
            ("dwell_ms", figures.dwell_ms),
            ("invocation_ms", figures.invocation_ms),
            ("overhead_ms", figures.overhead_ms),
            ("extension_overhead_ms", figures.extension_overhead_ms),
        ):
            value = invocation.get(name)
            if value is not None:
                values.append(float(value))
        if invocation.get("s3_notification_ms") is not None:
            self.s3_notification_ms.append(float(invocation["s3_notification_ms"]))
        for call in invocation.get("calls", []):
            key = (function, str(call["service"]), str(call.get("operation") or "Unknown"))
            call_figures = self.calls.setdefault(key, CallFigures())
            if call.get("duration_ms") is not None:
                call_figures.latency_ms.append(float(call["duration_ms"]))
            call_figures.errors += bool(call.get("error"))
            call_figures.throttles += bool(call.get("throttle"))
            call_figures.faults += bool(call.get("fault"))
