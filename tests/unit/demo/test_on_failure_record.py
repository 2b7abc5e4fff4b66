"""The record Lambda sends to an on-failure destination after the last retry."""

import json
from datetime import UTC, datetime

from demo.runtime_failures import on_failure_record, sqs_destination

ARN = "arn:aws:lambda:us-east-1:123456789012:function:tc-pipeline"


def test_the_record_has_lambdas_shape() -> None:
    event = {"Records": [{"s3": {"object": {"key": "synthetic/a.json"}}}]}
    record = on_failure_record(
        function_arn=ARN,
        request_id="e4b46cbf-b738-4a88-8880-a18cdf61200e",
        event=event,
        attempts=3,
        error_type="RecordsFailedError",
        error_message="1 of 1 records failed",
        stack_trace=['  File "/var/task/handlers/pipeline.py", line 58, in lambda_handler'],
        now=datetime(2026, 11, 25, 13, 0, 5, 568123, tzinfo=UTC),
    )
    assert record == {
        "version": "1.0",
        "timestamp": "2026-11-25T13:00:05.568Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-4a88-8880-a18cdf61200e",
            "functionArn": f"{ARN}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": "1 of 1 records failed",
            "errorType": "RecordsFailedError",
            "requestId": "e4b46cbf-b738-4a88-8880-a18cdf61200e",
            "stackTrace": ['  File "/var/task/handlers/pipeline.py", line 58, in lambda_handler'],
        },
    }
    json.dumps(record)  # goes into an SQS message body as is


class RecordingSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    def send_message(self, **arguments: str) -> None:
        self.sent.append(arguments)


def test_an_sqs_destination_sends_the_record_as_the_body() -> None:
    sqs = RecordingSqs()
    send = sqs_destination("http://127.0.0.1:5000/123456789012/failures", sqs)
    send({"version": "1.0"})
    assert sqs.sent == [
        {"QueueUrl": "http://127.0.0.1:5000/123456789012/failures", "MessageBody": '{"version": "1.0"}'}
    ]
