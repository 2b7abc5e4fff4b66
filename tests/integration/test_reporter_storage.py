"""The reporter's checkpoint and item lookups against DynamoDB on a moto server."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from demo.moto_server import LocalAws
from reporter.checkpoints import DynamoDbCheckpointStore
from reporter.items_lookup import DynamoDbItemLookup
from reporter.windows import Window

START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)


def window(offset: int) -> Window:
    start = START + timedelta(minutes=5 * offset)
    return Window(start, start + timedelta(minutes=5))


@pytest.fixture
def checkpoints(local_aws: LocalAws) -> DynamoDbCheckpointStore:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="state",
        AttributeDefinitions=[{"AttributeName": "pipeline", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pipeline", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return DynamoDbCheckpointStore(client, "state", "tc")


def test_a_window_is_claimed_once(checkpoints: DynamoDbCheckpointStore) -> None:
    assert checkpoints.last_emitted() is None
    assert checkpoints.claim(window(0)) is True
    assert checkpoints.claim(window(0)) is False  # a retried run
    assert checkpoints.claim(window(-1)) is False  # an older window never after a newer one
    assert checkpoints.last_emitted() == START
    assert checkpoints.claim(window(1)) is True
    assert checkpoints.last_emitted() == START + timedelta(minutes=5)


def test_pipelines_have_their_own_checkpoints(checkpoints: DynamoDbCheckpointStore) -> None:
    other = DynamoDbCheckpointStore(boto3.client("dynamodb"), "state", "other")
    assert checkpoints.claim(window(0))
    assert other.claim(window(0))


def test_item_lookup_reads_in_batches_of_100(local_aws: LocalAws) -> None:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="items",
        AttributeDefinitions=[{"AttributeName": "itemID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "itemID", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for index in range(0, 250, 2):  # every other key was written
        client.put_item(
            TableName="items",
            Item={"itemID": {"S": f"synthetic/{index:04d}"}, "traceId": {"S": f"1-6745a1b0-{index:024x}"}},
        )
    lookup = DynamoDbItemLookup(client, "items")
    found = lookup.find(f"synthetic/{index:04d}" for index in range(250))
    assert len(found) == 125
    assert found["synthetic/0010"] == f"1-6745a1b0-{10:024x}"
    assert "synthetic/0011" not in found
    assert lookup.api_calls == 3  # ceil(250 / 100)
