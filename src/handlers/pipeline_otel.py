"""The pipeline's OpenTelemetry twin: `handlers.pipeline` with OpenTelemetry tracing instead of Powertools'.

The same domain code, Powertools Logger and record line; the SERVER span, the DynamoDB CLIENT spans and their
export to Lambda's X-Ray endpoint are `instrumentation.otel`'s. Its packages come from the OpenTelemetry layer
(`layers/opentelemetry/`), not from the function's own package.
"""

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from instrumentation.otel import LambdaTracing
from pipeline.invocation import handle_event
from pipeline.items import DynamoDbItemStore, ItemStore
from pipeline.settings import PipelineSettings, load_pipeline_settings

logger = Logger()
# At import, so Init pays for it (as Powertools' Tracer patches botocore at import): every botocore call
# from now on is a CLIENT span. Looked up per invocation, so a test can put its own in place.
tracing = LambdaTracing.for_lambda()
tracing.instrument()


@cache
def settings() -> PipelineSettings:
    """Checked once per execution environment, without pydantic (see handlers.pipeline)."""
    return load_pipeline_settings()


@cache
def item_store() -> ItemStore:
    """The client is built once per execution environment."""
    client = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    return DynamoDbItemStore(client, settings().items_table_name)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    with tracing.invocation(event, context):  # sent before the return: Lambda freezes the environment after
        return handle_event(event, settings(), item_store(), logger)
