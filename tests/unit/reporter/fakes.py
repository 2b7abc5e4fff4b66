"""In-memory stand-ins for the reporter's adapters."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from generator.manifest import ManifestRecord
from reporter.windows import Window
from traces.sources.xray import SourceStats, TraceBatch


@dataclass
class FakeManifest:
    records: list[ManifestRecord] = field(default_factory=list)

    @property
    def description(self) -> str:
        return "in memory"

    def verify(self) -> None:
        return None

    def write(self, records: Sequence[ManifestRecord]) -> None:
        self.records.extend(records)

    def read_window(self, start: float, end: float) -> list[ManifestRecord]:
        return sorted((r for r in self.records if start <= r.planned_at < end), key=lambda r: r.planned_at)


@dataclass
class FakeTraceSource:
    """X-Ray's BatchGetTraces by default; with `pending`, ids a retrieval has not finished (Transaction
    Search's case) come back neither found nor missing for good."""

    traces: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: SourceStats = field(default_factory=SourceStats)
    pending: set[str] = field(default_factory=set)
    name: str = "X-Ray"
    asked: list[tuple[list[str], Any, Any]] = field(default_factory=list)  # (ids, time_range, deadline)

    def get_traces(
        self, trace_ids: Iterable[str], *, time_range: Any = None, deadline: Any = None
    ) -> TraceBatch:
        wanted = list(dict.fromkeys(trace_ids))
        self.asked.append((wanted, time_range, deadline))
        calls = (len(wanted) + 4) // 5
        self.stats.api_calls += calls
        if calls:
            self.stats.calls_by_operation["BatchGetTraces"] = (
                self.stats.calls_by_operation.get("BatchGetTraces", 0) + calls
            )
        found = [self.traces[t] for t in wanted if t in self.traces and t not in self.pending]
        self.stats.traces_retrieved += len(found)
        returned = {trace["Id"] for trace in found}
        return TraceBatch(
            traces=found,
            missing=[t for t in wanted if t not in returned],
            pending=[t for t in wanted if t in self.pending],
        )

    def find_trace_ids(
        self, start: datetime, end: datetime, filter_expression: str | None = None
    ) -> list[str]:
        return list(self.traces)


@dataclass
class FakeItems:
    items: dict[str, str | None] = field(default_factory=dict)

    def find(self, keys: Iterable[str]) -> dict[str, str | None]:
        return {key: self.items[key] for key in keys if key in self.items}


@dataclass
class InMemoryCheckpoints:
    last: datetime | None = None
    claims: list[datetime] = field(default_factory=list)
    deferrals: dict[datetime, int] = field(default_factory=dict)

    def last_emitted(self) -> datetime | None:
        return self.last

    def claim(self, window: Window) -> bool:
        if self.last is not None and window.start <= self.last:
            return False
        self.last = window.start
        self.claims.append(window.start)
        return True

    def defer(self, window: Window) -> int:
        self.deferrals[window.start] = self.deferrals.get(window.start, 0) + 1
        return self.deferrals[window.start]


@dataclass
class RecordingLog:
    lines: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def info(self, msg: object, *args: object, extra: Any = None) -> None:
        self.lines.append(("INFO", str(msg), dict(extra or {})))

    def warning(self, msg: object, *args: object, extra: Any = None) -> None:
        self.lines.append(("WARNING", str(msg), dict(extra or {})))
