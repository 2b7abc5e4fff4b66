"""The pipeline's own record line: what one event wrote, skipped as already applied, and failed.

One line per invocation, dimensions `Pipeline` and `service` (as Powertools Metrics named it). No alarm
needs these counts, so they are metrics at `full` only; at `standard` they are plain fields Logs Insights
sums (the dashboard's pipeline widget).
"""

import time
from typing import Any

from common.emf import record_line
from pipeline.processor import EventOutcome
from pipeline.settings import PipelineSettings


def event_record_line(
    outcome: EventOutcome, settings: PipelineSettings, trace_id: str | None, timestamp_ms: int | None = None
) -> dict[str, Any]:
    return record_line(
        "pipeline_event",
        {
            "trace_id": trace_id,
            "ItemsWritten": len(outcome.written),
            "DuplicatesSkipped": len(outcome.duplicates) + len(outcome.stale),
            "RecordsFailed": len(outcome.failed),
        },
        dimensions={"Pipeline": settings.pipeline_name, "service": settings.service_name},
        namespace=settings.metrics_namespace,
        timestamp_ms=int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        detail=settings.metrics_detail,
    )
