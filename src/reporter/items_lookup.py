"""Which objects the pipeline wrote: batched reads of the items table."""

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

BATCH_GET_LIMIT = 100  # keys per BatchGetItem call, DynamoDB's limit


class ItemLookup(Protocol):
    def find(self, keys: Iterable[str]) -> dict[str, str | None]:
        """The keys that have an item, each with the trace id the pipeline stored (None if it had none)."""
        ...


class ItemLookupIncompleteError(RuntimeError):
    """DynamoDB kept returning some keys unprocessed; their presence is unknown."""


class DynamoDbItemLookup:
    def __init__(
        self,
        client: "DynamoDBClient",
        table_name: str,
        max_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._max_attempts = max_attempts
        self._sleep = sleep
        self.api_calls = 0

    def find(self, keys: Iterable[str]) -> dict[str, str | None]:
        unique = list(dict.fromkeys(keys))
        found: dict[str, str | None] = {}
        for offset in range(0, len(unique), BATCH_GET_LIMIT):
            chunk = unique[offset : offset + BATCH_GET_LIMIT]
            for item in self._get_all(chunk):
                found[item["itemID"]["S"]] = item.get("traceId", {}).get("S")
        return found

    def _get_all(self, keys: list[str]) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            self._table_name: {
                "Keys": [{"itemID": {"S": key}} for key in keys],
                "ProjectionExpression": "itemID, traceId",
                "ConsistentRead": True,
            }
        }
        items: list[dict[str, Any]] = []
        for attempt in range(self._max_attempts):
            self.api_calls += 1
            response = self._client.batch_get_item(RequestItems=request)
            items.extend(response.get("Responses", {}).get(self._table_name, []))
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return items
            self._sleep(min(2.0, 0.05 * 2**attempt))  # DynamoDB asks for backoff on unprocessed keys
        left = len(request[self._table_name]["Keys"])
        raise ItemLookupIncompleteError(
            f"{left} keys still unprocessed after {self._max_attempts} BatchGetItem calls"
        )
