from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import UserError
from common.variants import PipelineVariant
from generator.manifest import (
    DynamoDbManifest,
    JsonLinesManifest,
    ManifestRecord,
    Outcome,
    from_item,
    hour_bucket,
    iso_ms,
    sort_key,
    to_item,
    window_hours,
)

T0 = 1_795_608_000.0  # 2026-11-25T12:00:00Z


def record(
    planned_at: float, sequence: int = 0, outcome: Outcome = Outcome.SENT, run: str = "run-1"
) -> ManifestRecord:
    started = None if outcome is Outcome.DROPPED else planned_at + 0.0123
    return ManifestRecord(
        run_id=run,
        sequence=sequence,
        bucket="bucket",
        key=f"synthetic/ab/2026-11-25/{run}/{sequence:06d}.json",
        trace_id="1-6b06d674-55240469c4e0ff4e2a403f43",
        segment_id="f97e93d2130132a2",
        put_subsegment_id="ee4a152b3850bf6d",
        planned_at=round(planned_at, 3),
        outcome=outcome,
        size=1024,
        content_type="application/json",
        started_at=started,
        put_ms=None if started is None else 12.5,
        http_status=None if started is None else (200 if outcome is Outcome.SENT else 500),
        error=None if outcome is Outcome.SENT else "InternalError: boom",
        request_id=None if started is None else "REQ",
    )


def test_iso_and_hours() -> None:
    assert iso_ms(T0) == "2026-11-25T12:00:00.000Z"
    assert iso_ms(T0 + 0.0405) == "2026-11-25T12:00:00.040Z"
    assert iso_ms(T0 + 0.999) == "2026-11-25T12:00:00.999Z"
    assert hour_bucket(T0) == "2026-11-25T12"
    assert sort_key(record(T0 + 1.5, 7)) == "2026-11-25T12:00:01.500Z#run-1#000007"
    assert window_hours(T0, T0 + 300) == ["2026-11-25T12"]
    assert window_hours(T0 + 3300, T0 + 3600) == ["2026-11-25T12"]  # ends exactly on the hour: one hour
    assert window_hours(T0 + 3300, T0 + 3601) == ["2026-11-25T12", "2026-11-25T13"]
    assert window_hours(T0, T0) == []


@pytest.mark.parametrize("outcome", list(Outcome))
def test_items_round_trip(outcome: Outcome) -> None:
    original = record(T0 + 12.345, 3, outcome)
    item = to_item(original, ttl_days=8)
    assert item["hour"] == {"S": "2026-11-25T12"}
    assert item["sk"] == {"S": "2026-11-25T12:00:12.345Z#run-1#000003"}
    assert int(item["expires_at"]["N"]) == int(original.planned_at + 8 * 86400)
    plain = {name: next(iter(value.values())) for name, value in item.items()}  # numbers come back as text
    assert from_item({n: {"N" if "N" in item[n] else "S": v} for n, v in plain.items()}) == original


def test_the_variant_is_recorded_and_records_from_before_the_twins_are_powertools() -> None:
    twin = replace(record(T0, 1), variant=PipelineVariant.OPENTELEMETRY)
    assert to_item(twin)["variant"] == {"S": "opentelemetry"}
    assert ManifestRecord.from_json(twin.to_json()) == twin
    older = record(T0).to_json()
    del older["variant"]
    assert ManifestRecord.from_json(older).variant is PipelineVariant.POWERTOOLS


class FakeDynamoDb:
    """Enough of DynamoDB for the manifest: batch writes (with throttling) and the window query."""

    def __init__(self, unprocessed_first: int = 0, page_size: int = 1000) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.unprocessed_first = unprocessed_first
        self.page_size = page_size
        self.batch_sizes: list[int] = []
        self.queries: list[dict[str, Any]] = []
        self.tables = {"manifest"}

    def describe_table(self, TableName: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if TableName not in self.tables:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "DescribeTable"
            )
        return {"Table": {"TableName": TableName}}

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        assert len(requests) <= 25
        self.batch_sizes.append(len(requests))
        keep, unprocessed = requests[self.unprocessed_first :], requests[: self.unprocessed_first]
        self.unprocessed_first = 0
        for request in keep:
            item = request["PutRequest"]["Item"]
            self.items[(item["hour"]["S"], item["sk"]["S"])] = item
        return {"UnprocessedItems": {table: unprocessed} if unprocessed else {}}

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries.append(kwargs)
        assert kwargs["KeyConditionExpression"] == "#hour = :hour AND #sk BETWEEN :start AND :end"
        values = kwargs["ExpressionAttributeValues"]
        hour, low, high = values[":hour"]["S"], values[":start"]["S"], values[":end"]["S"]
        matching = sorted(
            (key, item) for key, item in self.items.items() if key[0] == hour and low <= key[1] <= high
        )
        after = kwargs.get("ExclusiveStartKey")
        if after:
            matching = [(k, i) for k, i in matching if k[1] > after["sk"]["S"]]
        page = matching[: self.page_size]
        response: dict[str, Any] = {"Items": [item for _, item in page]}
        if len(matching) > self.page_size:
            last = page[-1][1]
            response["LastEvaluatedKey"] = {"hour": last["hour"], "sk": last["sk"]}
        return response


def test_batch_writes_go_25_at_a_time_and_retry_unprocessed_items() -> None:
    client = FakeDynamoDb(unprocessed_first=3)
    manifest = DynamoDbManifest(client, "manifest", sleep=lambda _: None)  # type: ignore[arg-type]
    records = [record(T0 + i * 0.5, i) for i in range(60)]
    manifest.write(records)
    assert client.batch_sizes == [25, 3, 25, 10]
    assert len(client.items) == 60


def test_writes_that_never_go_through_raise() -> None:
    client = FakeDynamoDb(unprocessed_first=10**9)

    class AlwaysThrottled(FakeDynamoDb):
        def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
            return {"UnprocessedItems": RequestItems}

    manifest = DynamoDbManifest(AlwaysThrottled(), "manifest", sleep=lambda _: None)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="unprocessed"):
        manifest.write([record(T0)])
    del client


def test_a_window_is_one_query_per_hour_it_touches_with_pagination() -> None:
    client = FakeDynamoDb(page_size=7)
    manifest = DynamoDbManifest(client, "manifest")  # type: ignore[arg-type]
    records = [record(T0 + 3000 + i * 10, i) for i in range(120)]  # 12:50 to 13:10
    manifest.write(records)
    window = manifest.read_window(T0 + 3100, T0 + 3400)  # 12:51:40 to 12:56:40
    assert window == records[10:40]
    assert {q["ExpressionAttributeValues"][":hour"]["S"] for q in client.queries} == {"2026-11-25T12"}
    client.queries.clear()
    across = manifest.read_window(T0 + 3590, T0 + 3610)  # 12:59:50 to 13:00:10
    assert across == records[59:61]
    assert [q["ExpressionAttributeValues"][":hour"]["S"] for q in client.queries] == [
        "2026-11-25T12",
        "2026-11-25T13",
    ]


def test_a_missing_table_is_a_user_error() -> None:
    with pytest.raises(UserError, match="does not exist"):
        DynamoDbManifest(FakeDynamoDb(), "other").verify()  # type: ignore[arg-type]
    DynamoDbManifest(FakeDynamoDb(), "manifest").verify()  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=3 * 3600 * 1000), min_size=1, max_size=40),
    start=st.integers(min_value=0, max_value=3 * 3600 * 1000),
    length=st.integers(min_value=1, max_value=3600 * 1000),
)
def test_both_stores_return_exactly_the_half_open_window(offsets: list[int], start: int, length: int) -> None:
    records = [record(T0 + ms / 1000, i) for i, ms in enumerate(offsets)]
    low, high = T0 + start / 1000, T0 + (start + length) / 1000
    expected = sorted(
        (r for r in records if low <= r.planned_at < high - 1e-9), key=lambda r: (r.planned_at, r.sequence)
    )
    table = DynamoDbManifest(FakeDynamoDb(), "manifest")  # type: ignore[arg-type]
    table.write(records)
    assert table.read_window(low, high) == expected


def test_the_json_lines_manifest_appends_and_reads_windows(tmp_path: Path) -> None:
    manifest = JsonLinesManifest(tmp_path / "m.jsonl")
    assert manifest.read_window(T0, T0 + 10) == []
    first = [record(T0 + i, i, run="a") for i in range(5)]
    second = [record(T0 + i + 0.5, i, Outcome.DROPPED, run="b") for i in range(5)]
    manifest.write(first)
    manifest.write(second)
    window = manifest.read_window(T0 + 1, T0 + 3)
    assert window == [first[1], second[1], first[2], second[2]]
    with pytest.raises(UserError):
        JsonLinesManifest(tmp_path / "missing" / "m.jsonl").verify()
