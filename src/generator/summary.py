"""What a run did, in numbers: counts by outcome and latency percentiles."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from generator.manifest import ManifestRecord, Outcome
from generator.sinks import SinkStats


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of the values, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    planned: int
    sent: int
    failed: int
    dropped: int
    put_p50_ms: float | None
    put_p99_ms: float | None
    lag_p50_ms: float | None
    lag_p99_ms: float | None
    segments_sent: int
    segments_rejected: int
    first_planned_at: float
    last_finished_at: float

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


def put_latencies(records: Sequence[ManifestRecord]) -> list[float]:
    """PutObject latency of every object that was sent."""
    return [r.put_ms for r in records if r.outcome is Outcome.SENT and r.put_ms is not None]


def schedule_lags(records: Sequence[ManifestRecord]) -> list[float]:
    """Schedule lag of every object that started (sent or failed)."""
    return [lag for r in records if (lag := r.lag_ms) is not None]


def summarize(run_id: str, records: Sequence[ManifestRecord], segments: SinkStats) -> RunSummary:
    puts = put_latencies(records)
    lags = schedule_lags(records)
    finished = [(r.started_at or r.planned_at) + (r.put_ms or 0) / 1000 for r in records]
    return RunSummary(
        run_id=run_id,
        planned=len(records),
        sent=sum(1 for r in records if r.outcome is Outcome.SENT),
        failed=sum(1 for r in records if r.outcome is Outcome.FAILED),
        dropped=sum(1 for r in records if r.outcome is Outcome.DROPPED),
        put_p50_ms=percentile(puts, 50),
        put_p99_ms=percentile(puts, 99),
        lag_p50_ms=percentile(lags, 50),
        lag_p99_ms=percentile(lags, 99),
        segments_sent=segments.sent,
        segments_rejected=segments.rejected,
        first_planned_at=min((r.planned_at for r in records), default=0.0),
        last_finished_at=max(finished, default=0.0),
    )
