"""Lambda entry point of the pipeline under test: S3 ObjectCreated -> one DynamoDB item per object."""

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from common.tracing import current_trace_id
from pipeline.events import is_test_event
from pipeline.items import DynamoDbItemStore, ItemStore
from pipeline.processor import EventOutcome, RecordsFailedError, process_event
from pipeline.settings import load_pipeline_settings

logger = Logger()
tracer = Tracer()  # patches botocore: each DynamoDB call becomes a subsegment
metrics = Metrics()


@cache
def item_store() -> ItemStore:
    """Settings are checked and the client built once per execution environment."""
    settings = load_pipeline_settings()  # not common.settings: pydantic adds ~80 ms CPU to a cold start
    metrics.set_default_dimensions(Pipeline=settings.pipeline_name)
    client = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    return DynamoDbItemStore(client, settings.items_table_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    store = item_store()
    if is_test_event(event):
        logger.info("skipping the S3 test event", extra={"bucket": event.get("Bucket")})
        outcome = EventOutcome()
    else:
        outcome = process_event(event, store, trace_id=current_trace_id())
    for problem in outcome.skipped:
        logger.info("skipped record", extra={"position": problem.position, "reason": problem.reason})
    for key in outcome.duplicates + outcome.stale:
        logger.info("event already applied, nothing written", extra={"key": key})
    metrics.add_metric(name="ItemsWritten", unit=MetricUnit.Count, value=len(outcome.written))
    metrics.add_metric(
        name="DuplicatesSkipped", unit=MetricUnit.Count, value=len(outcome.duplicates) + len(outcome.stale)
    )
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=len(outcome.failed))
    logger.info("event processed", extra=outcome.summary())
    if outcome.failed:
        # The rest is written; failing makes Lambda retry the event, which conditional writes make safe.
        raise RecordsFailedError(outcome)
    return outcome.summary()
