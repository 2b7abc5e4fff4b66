import boto3
import pytest
from botocore.stub import Stubber

from reporter.items_lookup import DynamoDbItemLookup, ItemLookupIncompleteError


def keys(*names: str) -> list[dict[str, dict[str, str]]]:
    return [{"itemID": {"S": name}} for name in names]


def request(*names: str) -> dict[str, object]:
    return {
        "RequestItems": {
            "items": {"Keys": keys(*names), "ProjectionExpression": "itemID, traceId", "ConsistentRead": True}
        }
    }


def unprocessed(*names: str) -> dict[str, object]:
    return {
        "items": {"Keys": keys(*names), "ProjectionExpression": "itemID, traceId", "ConsistentRead": True}
    }


def test_unprocessed_keys_are_asked_again_with_backoff() -> None:
    client = boto3.client("dynamodb", region_name="eu-central-1")
    waits: list[float] = []
    with Stubber(client) as stub:
        stub.add_response(
            "batch_get_item",
            {
                "Responses": {"items": [{"itemID": {"S": "a"}, "traceId": {"S": "1-a"}}]},
                "UnprocessedKeys": unprocessed("b"),
            },
            request("a", "b"),
        )
        stub.add_response(
            "batch_get_item",
            {"Responses": {"items": [{"itemID": {"S": "b"}}]}, "UnprocessedKeys": {}},
            request("b"),
        )
        found = DynamoDbItemLookup(client, "items", sleep=waits.append).find(["a", "b", "a"])
    assert found == {"a": "1-a", "b": None}
    assert len(waits) == 1


def test_keys_left_unprocessed_are_an_error_not_a_loss() -> None:
    client = boto3.client("dynamodb", region_name="eu-central-1")
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_response(
                "batch_get_item", {"Responses": {"items": []}, "UnprocessedKeys": unprocessed("a")}
            )
        lookup = DynamoDbItemLookup(client, "items", max_attempts=3, sleep=lambda _: None)
        with pytest.raises(
            ItemLookupIncompleteError, match="1 keys still unprocessed after 3 BatchGetItem calls"
        ):
            lookup.find(["a"])
