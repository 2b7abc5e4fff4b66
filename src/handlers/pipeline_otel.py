"""The pipeline's OpenTelemetry twin: `handlers.pipeline` with OpenTelemetry tracing instead of Powertools'.

The same domain code, Powertools Logger and record line; the SERVER span, the DynamoDB CLIENT spans and their
export to Lambda's X-Ray endpoint are `instrumentation.otel`'s. Its packages come from the OpenTelemetry layer
(`layers/opentelemetry/`), not from the function's own package.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from instrumentation.otel import LambdaTracing
from pipeline.environment import item_store, settings
from pipeline.invocation import handle_event

logger = Logger()
# At import, so Init pays for it (as Powertools' Tracer patches botocore at import): every botocore call
# from now on is a CLIENT span. Looked up per invocation, so a test can put its own in place.
tracing = LambdaTracing.for_lambda()
tracing.instrument()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    with tracing.invocation(event, context):  # sent before the return: Lambda freezes the environment after
        return handle_event(event, settings(), item_store(), logger)
