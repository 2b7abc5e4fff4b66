"""Baseline for the pipeline's cold-start benchmark: the same job with boto3 only, no Powertools.

It does what `handlers.pipeline` does to DynamoDB (one conditional PutItem per S3 record, with the same
condition), but without validation, logging, metrics or tracing, so the difference between the two is
what the framework and the checks cost. Like the real handler, it builds its client on the first call.
"""

import os
import urllib.parse
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# The real handler's condition, so both send the same request and DynamoDB does the same work.
_CONDITION = "attribute_not_exists(itemID) OR sequencer < :sequencer"


@cache
def dynamodb_client() -> "DynamoDBClient":
    return boto3.client("dynamodb")


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, int]:
    client = dynamodb_client()
    table_name = os.environ["ITEMS_TABLE_NAME"]
    written = duplicates = 0
    for record in event["Records"]:
        s3_object = record["s3"]["object"]
        sequencer = s3_object["sequencer"].upper().ljust(32, "0")
        try:
            client.put_item(
                TableName=table_name,
                Item={
                    "itemID": {"S": urllib.parse.unquote_plus(s3_object["key"])},
                    "bucket": {"S": record["s3"]["bucket"]["name"]},
                    "size": {"N": str(s3_object.get("size", 0))},
                    "eventTime": {"S": record["eventTime"]},
                    "sequencer": {"S": sequencer},
                    "writtenAt": {"S": datetime.now(UTC).isoformat(timespec="milliseconds")},
                },
                ConditionExpression=_CONDITION,
                ExpressionAttributeValues={":sequencer": {"S": sequencer}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            duplicates += 1
            continue
        written += 1
    return {"records": len(event["Records"]), "written": written, "duplicates": duplicates}
