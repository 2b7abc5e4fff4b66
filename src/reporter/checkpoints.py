"""The reporter's checkpoint: the newest window it emitted, claimed with a conditional write.

A run claims a window before printing its metrics; a retried or overlapping run fails the claim and prints
nothing, so no window is ever emitted twice.
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import ClientError

from reporter.windows import Window

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_STAMP = "%Y-%m-%dT%H:%M:%SZ"  # fixed width, so string order is time order


class CheckpointStore(Protocol):
    def last_emitted(self) -> datetime | None: ...

    def claim(self, window: Window) -> bool:
        """Record `window` as emitted unless a window at or after it was already; True if it was ours."""
        ...

    def defer(self, window: Window) -> int:
        """Note that a run left `window` for the next one; how many runs have now done so (1 the first)."""
        ...


class DynamoDbCheckpointStore:
    def __init__(self, client: "DynamoDBClient", table_name: str, pipeline: str) -> None:
        self._client = client
        self._table_name = table_name
        self._key = {"pipeline": {"S": pipeline}}

    def last_emitted(self) -> datetime | None:
        response = self._client.get_item(TableName=self._table_name, Key=self._key, ConsistentRead=True)
        stamp = response.get("Item", {}).get("lastWindowStart", {}).get("S")
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC) if stamp else None

    def claim(self, window: Window) -> bool:
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=self._key,
                UpdateExpression="SET lastWindowStart = :start, claimedAt = :now",
                ConditionExpression="attribute_not_exists(lastWindowStart) OR lastWindowStart < :start",
                ExpressionAttributeValues={
                    ":start": {"S": window.start.strftime(_STAMP)},
                    ":now": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def defer(self, window: Window) -> int:
        start = window.start.strftime(_STAMP)
        item = self._client.get_item(TableName=self._table_name, Key=self._key, ConsistentRead=True).get(
            "Item", {}
        )
        same = item.get("deferredWindowStart", {}).get("S") == start
        deferrals = (int(item.get("deferrals", {}).get("N", "0")) if same else 0) + 1
        self._client.update_item(
            TableName=self._table_name,
            Key=self._key,
            UpdateExpression="SET deferredWindowStart = :start, deferrals = :count",
            ExpressionAttributeValues={":start": {"S": start}, ":count": {"N": str(deferrals)}},
        )
        return deferrals
