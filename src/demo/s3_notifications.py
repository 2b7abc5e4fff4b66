"""S3 -> Lambda notifications for a moto server, which cannot invoke Lambda without Docker.

moto does deliver S3 notifications to SQS; this routes a bucket's ObjectCreated events to a queue and reads
them back as the event Lambda would receive, adding the fields real S3 sends and moto leaves out.
"""

import itertools
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

_arrival_order = itertools.count()


def route_object_created_to_queue(s3: "S3Client", sqs: "SQSClient", bucket: str) -> str:
    """Create a queue for the bucket's ObjectCreated notifications; return its URL."""
    queue_url = sqs.create_queue(QueueName=f"{bucket}-object-created")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": "tracecanary-pipeline", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    return queue_url


def receive_s3_events(sqs: "SQSClient", queue_url: str, wait_seconds: int = 0) -> list[dict[str, Any]]:
    """Take every waiting notification off the queue, each as the S3 event Lambda would be given."""
    events: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        messages = response.get("Messages", [])
        if not messages:
            return events
        for message in messages:
            body = json.loads(message["Body"])
            if "Records" in body:
                events.append(_as_real_s3_event(body))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        wait_seconds = 0


def _as_real_s3_event(event: dict[str, Any]) -> dict[str, Any]:
    for record in event["Records"]:
        record.setdefault("userIdentity", {"principalId": "AWS:AIDALOCALDEMO"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault("responseElements", {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"})
        record["s3"]["bucket"].setdefault("ownerIdentity", {"principalId": "LOCALOWNER"})
        obj = record["s3"]["object"]
        if "sequencer" not in obj:
            obj["sequencer"] = _sequencer(record["eventTime"])
    return event


def _sequencer(event_time: str) -> str:
    """Like S3's: hex that grows with the time of the write (ties broken by arrival order)."""
    milliseconds = int(datetime.fromisoformat(event_time.replace("Z", "+00:00")).timestamp() * 1000)
    return f"{milliseconds:012X}{next(_arrival_order) % 0xFFFFFF:06X}"
