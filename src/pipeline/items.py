"""Where the pipeline writes: the `items` table, behind a small interface so tests can use a fake."""

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


@dataclass(frozen=True)
class Item:
    """One row of the items table: the seed app's `itemID` plus what lets a reader trace it back."""

    item_id: str
    bucket: str
    size: int
    etag: str | None
    event_time: str
    sequencer: str
    trace_id: str | None
    written_at: str


class WriteResult(enum.Enum):
    WRITTEN = "written"
    DUPLICATE = "duplicate"  # the same S3 event delivered again
    STALE = "stale"  # an older version of the key arrived after a newer one


class ItemStore(Protocol):
    def put_if_newer(self, item: Item) -> WriteResult:
        """Write the item unless the table holds the same or a newer sequencer for its key."""
        ...


class DynamoDbItemStore:
    """One conditional PutItem per item: idempotent without reading before writing."""

    # A new key, or a strictly newer sequencer (all are padded to one width, so string order is S3's order).
    _CONDITION = "attribute_not_exists(itemID) OR sequencer < :sequencer"

    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def put_if_newer(self, item: Item) -> WriteResult:
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item=_to_attributes(item),
                ConditionExpression=self._CONDITION,
                ExpressionAttributeValues={":sequencer": {"S": item.sequencer}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old_item: dict[str, Any] = dict(error.response.get("Item", {}))  # type: ignore[call-overload]
            existing = old_item.get("sequencer", {}).get("S")
            return WriteResult.DUPLICATE if existing == item.sequencer else WriteResult.STALE
        return WriteResult.WRITTEN


def _to_attributes(item: Item) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "itemID": {"S": item.item_id},
        "bucket": {"S": item.bucket},
        "size": {"N": str(item.size)},
        "eventTime": {"S": item.event_time},
        "sequencer": {"S": item.sequencer},
        "writtenAt": {"S": item.written_at},
    }
    if item.etag:
        attributes["etag"] = {"S": item.etag}
    if item.trace_id:
        attributes["traceId"] = {"S": item.trace_id}
    return attributes
