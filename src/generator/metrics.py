"""The generator's own record lines (see `common.emf`): one per planned object, then one for the run.

Each object's line holds its schedule lag and PutObject latency, one value each, so Logs Insights computes
true percentiles over them, and CloudWatch gets every raw value where `full` declares them as metrics
(`ScheduleLag`, `PutLatency`, dimension `Pipeline`). The run's line holds `ObjectsUploaded` and
`UploadFailures` (failed and dropped). No alarm watches these, so at `standard` they are plain fields.
"""

from collections.abc import Sequence
from typing import Any

from common.emf import MetricsDetail, record_line
from generator.manifest import ManifestRecord, Outcome


def run_record_lines(
    records: Sequence[ManifestRecord],
    *,
    run_id: str,
    pipeline: str,
    namespace: str,
    detail: MetricsDetail,
) -> list[dict[str, Any]]:
    """The lines of one run; each object's line is timestamped with its planned time."""
    dimensions = {"Pipeline": pipeline}
    lines = []
    for record in records:
        lag = record.lag_ms
        sent = record.outcome is Outcome.SENT
        lines.append(
            record_line(
                "generator_object",
                {
                    "run_id": run_id,
                    "sequence": record.sequence,
                    "key": record.key,
                    "trace_id": record.trace_id,
                    "outcome": record.outcome.value,
                    "size": record.size,
                    "content_type": record.content_type,
                    "error": record.error,
                    # Every object that started (sent or failed) has a lag; an early start counts as on time.
                    "ScheduleLag": None if lag is None else max(lag, 0.0),
                    "PutLatency": record.put_ms if sent else None,
                },
                dimensions=dimensions,
                namespace=namespace,
                timestamp_ms=int(record.planned_at * 1000),
                detail=detail,
            )
        )
    sent_count = sum(1 for record in records if record.outcome is Outcome.SENT)
    first_planned = min((record.planned_at for record in records), default=0.0)
    lines.append(
        record_line(
            "generator_run",
            {
                "run_id": run_id,
                "ObjectsUploaded": sent_count,
                "UploadFailures": len(records) - sent_count,
                "ObjectsFailed": sum(1 for record in records if record.outcome is Outcome.FAILED),
                "ObjectsDropped": sum(1 for record in records if record.outcome is Outcome.DROPPED),
            },
            dimensions=dimensions,
            namespace=namespace,
            timestamp_ms=int(first_planned * 1000),
            detail=detail,
        )
    )
    return lines
