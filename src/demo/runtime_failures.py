"""The on-failure destination of asynchronous invokes: Lambda's record for an event whose retries ran out."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3

FailureDestination = Callable[[dict[str, Any]], None]


def on_failure_record(
    *,
    function_arn: str,
    request_id: str,
    event: Any,
    attempts: int,
    error_type: str,
    error_message: str,
    stack_trace: list[str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The invocation record Lambda sends to an on-failure destination (condition RetriesExhausted)."""
    timestamp = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "1.0",
        "timestamp": timestamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": error_message,
            "errorType": error_type,
            "requestId": request_id,
            "stackTrace": stack_trace or [],
        },
    }


def sqs_destination(queue_url: str, sqs: Any | None = None) -> FailureDestination:
    """Send records to an SQS queue, as a Lambda destination of type SQS does (the record is the body)."""
    client = sqs or boto3.client("sqs")

    def send(record: dict[str, Any]) -> None:
        client.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))

    return send
