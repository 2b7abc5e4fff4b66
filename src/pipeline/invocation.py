"""One invocation of the pipeline, whatever traces it: write the event's items, log, print the record line.

Both pipeline handlers (Powertools' Tracer in `handlers.pipeline`, OpenTelemetry in `handlers.pipeline_otel`)
run this, so the twins differ in their tracing only.
"""

from typing import TYPE_CHECKING, Any

from common.emf import render
from common.tracing import current_trace_id
from pipeline.events import is_test_event
from pipeline.items import ItemStore
from pipeline.metrics import event_record_line
from pipeline.processor import EventOutcome, RecordsFailedError, process_event
from pipeline.settings import PipelineSettings

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger


def handle_event(
    event: dict[str, Any], config: PipelineSettings, store: ItemStore, logger: "Logger"
) -> dict[str, int]:
    """The event's counts; if any record failed, RecordsFailedError once the others are written."""
    trace_id = current_trace_id()
    if is_test_event(event):
        logger.info("skipping the S3 test event", extra={"bucket": event.get("Bucket")})
        outcome = EventOutcome()
    else:
        outcome = process_event(event, store, trace_id=trace_id)
    for problem in outcome.skipped:
        logger.info("skipped record", extra={"position": problem.position, "reason": problem.reason})
    for key in outcome.duplicates + outcome.stale:
        logger.info("event already applied, nothing written", extra={"key": key})
    print(render(event_record_line(outcome, config, trace_id)))  # CloudWatch reads EMF from stdout
    logger.info("event processed", extra=outcome.summary())
    if outcome.failed:
        # The rest is written; failing makes Lambda retry the event, which conditional writes make safe.
        raise RecordsFailedError(outcome)
    return outcome.summary()
