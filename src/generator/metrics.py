"""The generator's own metrics (see the metrics contract): counts and raw latency values.

Each value is added on its own, so CloudWatch gets every value (EMF value arrays). Powertools Metrics
writes an EMF line as soon as any metric holds 100 values, EMF's limit, and starts a new set, so a run
of any size becomes as many log lines as it needs, each within the limit.
"""

from collections.abc import Sequence
from typing import Protocol

from generator.manifest import ManifestRecord, Outcome
from generator.summary import put_latencies, schedule_lags


class MetricWriter(Protocol):
    def add_metric(self, name: str, unit: str, value: float) -> None: ...


def emit_run_metrics(metrics: MetricWriter, records: Sequence[ManifestRecord]) -> None:
    """`ObjectsUploaded`, `UploadFailures` (failed and dropped), `ScheduleLag` and `PutLatency` values."""
    sent = sum(1 for r in records if r.outcome is Outcome.SENT)
    metrics.add_metric("ObjectsUploaded", "Count", sent)
    metrics.add_metric("UploadFailures", "Count", len(records) - sent)
    for lag in schedule_lags(records):
        metrics.add_metric("ScheduleLag", "Milliseconds", max(lag, 0.0))
    for latency in put_latencies(records):
        metrics.add_metric("PutLatency", "Milliseconds", latency)
