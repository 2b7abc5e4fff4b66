"""The real pipeline handler in-process against a moto server: S3 -> (SQS stand-in) -> handler -> DynamoDB."""

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.logging import logger as powertools_logger
from aws_lambda_powertools.metrics.provider import cold_start

from demo.lambda_context import LocalLambdaContext
from demo.local_stack import LocalStack, create_local_stack
from demo.moto_server import LocalAws
from demo.s3_notifications import receive_s3_events
from pipeline.processor import RecordsFailedError
from tests.conftest import load_event

ODD_KEYS = [
    "synthetic/demo/hello world.txt",
    "synthetic/demo/a+b=c.json",
    "synthetic/demo/été ✓/données.csv",
    "synthetic/demo/100% sure.bin",
]


@pytest.fixture
def stack(local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    created = create_local_stack("tc-it")
    for name, value in created.pipeline_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv(
        "_X_AMZN_TRACE_ID", "Root=1-6745a1b0-00000000000000000000abcd;Parent=1a2b3c4d5e6f7081;Sampled=1"
    )
    from handlers import pipeline

    pipeline.settings.cache_clear()
    pipeline.item_store.cache_clear()
    cold_start.is_cold_start = True
    powertools_logger.is_cold_start = True
    yield created
    pipeline.settings.cache_clear()
    pipeline.item_store.cache_clear()


def invoke(event: dict[str, Any]) -> dict[str, int]:
    from handlers.pipeline import lambda_handler

    return lambda_handler(event, LocalLambdaContext(function_name="tc-it-pipeline"))


def items(stack: LocalStack) -> dict[str, dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(stack.items_table)
    return {item["itemID"]: item for item in table.scan(ConsistentRead=True)["Items"]}  # type: ignore[misc]


def upload(stack: LocalStack, key: str, body: bytes = b"{}") -> None:
    boto3.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)


def test_uploaded_objects_become_items_under_their_real_keys(stack: LocalStack) -> None:
    for index, key in enumerate(ODD_KEYS):
        upload(stack, key, b"x" * (index + 1))
    events = receive_s3_events(boto3.client("sqs"), stack.notifications_queue_url)
    assert len(events) == len(ODD_KEYS)
    for event in events:
        assert invoke(event)["written"] == 1

    written = items(stack)
    assert sorted(written) == sorted(ODD_KEYS)
    assert written["synthetic/demo/100% sure.bin"]["size"] == 4
    assert written["synthetic/demo/hello world.txt"]["traceId"] == "1-6745a1b0-00000000000000000000abcd"
    assert written["synthetic/demo/a+b=c.json"]["bucket"] == stack.bucket


def test_a_redelivered_event_writes_nothing_new(stack: LocalStack) -> None:
    upload(stack, "synthetic/demo/once.json")
    [event] = receive_s3_events(boto3.client("sqs"), stack.notifications_queue_url)
    invoke(event)
    before = items(stack)
    assert invoke(event)["duplicates"] == 1
    assert items(stack) == before


def test_out_of_order_events_keep_the_newest_version(stack: LocalStack) -> None:
    upload(stack, "synthetic/demo/versioned.json", b"first")
    upload(stack, "synthetic/demo/versioned.json", b"second, longer")
    first, second = receive_s3_events(boto3.client("sqs"), stack.notifications_queue_url)
    assert (
        first["Records"][0]["s3"]["object"]["sequencer"] < second["Records"][0]["s3"]["object"]["sequencer"]
    )

    assert invoke(second)["written"] == 1
    assert invoke(first)["stale"] == 1  # arrives late: must not overwrite
    assert items(stack)["synthetic/demo/versioned.json"]["size"] == len(b"second, longer")


def test_partial_failure_writes_the_good_records_then_fails(stack: LocalStack) -> None:
    event = load_event("s3-put-multi.json")
    # DynamoDB refuses a partition key over 2048 bytes: a real write failure for one record only.
    event["Records"][1]["s3"]["object"]["key"] = "synthetic/" + "k" * 2100
    with pytest.raises(RecordsFailedError, match=r"1 of 3 records failed: Records\[1\]"):
        invoke(event)
    assert sorted(items(stack)) == [
        "synthetic/powertools/2026-11-25/run-7f3a/000002.json",
        "synthetic/powertools/2026-11-25/run-7f3a/000004.txt",
    ]


def test_a_retry_after_the_table_was_unavailable_completes_the_event(stack: LocalStack) -> None:
    event = load_event("s3-put-multi.json")
    broken = copy.deepcopy(event)
    broken["Records"][0]["s3"]["object"]["key"] = "synthetic/" + "k" * 2100
    with pytest.raises(RecordsFailedError):
        invoke(broken)
    assert invoke(event) == {
        "records": 3,
        "written": 1,
        "duplicates": 2,
        "stale": 0,
        "skipped": 0,
        "failed": 0,
    }


def test_bad_events_do_not_write(stack: LocalStack) -> None:
    assert invoke(load_event("s3-test-event.json"))["records"] == 0
    malformed = load_event("s3-put.json")
    del malformed["Records"][0]["s3"]["object"]["key"]
    with pytest.raises(RecordsFailedError, match=r"Records\[0\]\.s3\.object\.key: Field required"):
        invoke(malformed)
    assert items(stack) == {}
