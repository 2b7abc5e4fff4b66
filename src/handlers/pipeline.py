"""Lambda entry point of the pipeline under test: S3 ObjectCreated -> one DynamoDB item per object."""

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from common.emf import render
from common.tracing import current_trace_id
from pipeline.events import is_test_event
from pipeline.items import DynamoDbItemStore, ItemStore
from pipeline.metrics import event_record_line
from pipeline.processor import EventOutcome, RecordsFailedError, process_event
from pipeline.settings import PipelineSettings, load_pipeline_settings

logger = Logger()
tracer = Tracer()  # patches botocore: each DynamoDB call becomes a subsegment


@cache
def settings() -> PipelineSettings:
    """Checked once per execution environment (not common.settings: pydantic adds ~80 ms CPU to a cold
    start)."""
    return load_pipeline_settings()


@cache
def item_store() -> ItemStore:
    """The client is built once per execution environment."""
    client = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    return DynamoDbItemStore(client, settings().items_table_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    config = settings()
    store = item_store()
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
