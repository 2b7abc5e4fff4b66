"""Lambda entry point of the pipeline under test: S3 ObjectCreated -> one DynamoDB item per object."""

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from pipeline.invocation import handle_event
from pipeline.items import DynamoDbItemStore, ItemStore
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
    return handle_event(event, settings(), item_store(), logger)
