"""Shared helpers of the generator integration tests (no tests here): moto resources, a header recorder."""

import json
import threading
from collections.abc import Iterable
from typing import Any

import boto3

from generator.manifest import ManifestRecord

BUCKET = "tracecanary-incoming"
TABLE = "tracecanary-manifest"


def create_bucket(name: str = BUCKET) -> None:
    boto3.client("s3").create_bucket(Bucket=name)


def create_manifest_table(name: str = TABLE) -> None:
    """The same keys as the template's manifest table."""
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "hour", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "hour", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )


class HeaderRecorder:
    """Registered last on `before-send`, so it sees the headers exactly as they go on the wire."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def __call__(self, request: Any, **_: Any) -> None:
        key = request.url.split("?")[0].rstrip("/").split("/", 4)[-1]
        header = request.headers.get("X-Amzn-Trace-Id")
        with self._lock:
            self.by_key.setdefault(key, []).append(
                header.decode() if isinstance(header, bytes) else str(header)
            )

    def attach(self, events: Any) -> None:
        events.register_last("before-send.s3.PutObject", self)


def fetch_traces(trace_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Segment documents by trace id, 5 ids a BatchGetTraces call as the real API requires."""
    client = boto3.client("xray")
    ids = list(trace_ids)
    found: dict[str, list[dict[str, Any]]] = {}
    for first in range(0, len(ids), 5):
        response = client.batch_get_traces(TraceIds=ids[first : first + 5])
        for trace in response["Traces"]:
            found[trace["Id"]] = [json.loads(segment["Document"]) for segment in trace["Segments"]]
    return found


def check_traces(records: Iterable[ManifestRecord]) -> None:
    """Each record's trace holds one root segment whose one subsegment is the record's PutObject."""
    records = list(records)
    traces = fetch_traces(r.trace_id for r in records)
    assert len(traces) == len(records)
    for record in records:
        (segment,) = traces[record.trace_id]
        assert segment["id"] == record.segment_id
        assert "parent_id" not in segment
        assert segment.get("origin") != "AWS::Lambda::Function"
        (subsegment,) = segment["subsegments"]
        assert subsegment["id"] == record.put_subsegment_id
        assert subsegment["namespace"] == "aws"
        assert subsegment["aws"]["operation"] == "PutObject"
        assert subsegment["aws"]["bucket_name"] == record.bucket
        assert subsegment["aws"]["key"] == record.key
        assert subsegment["http"]["response"]["status"] == record.http_status
        assert subsegment["start_time"] == round(record.started_at or 0, 6)
