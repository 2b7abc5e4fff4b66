"""Lambda entry point of the pipeline under test: S3 ObjectCreated -> one DynamoDB item per object."""

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.environment import item_store, settings
from pipeline.invocation import handle_event

logger = Logger()
tracer = Tracer()  # patches botocore: each DynamoDB call becomes a subsegment


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return handle_event(event, settings(), item_store(), logger)
