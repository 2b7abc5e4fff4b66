"""The Transaction Search source against the local stand-in in front of moto: segments go in through
PutTraceSegments; on a `CloudWatchLogs` account `BatchGetTraces` sees the indexed share only, while the
retrieval API returns every trace, converted as Transaction Search converts it, and the engine reads it the
same."""

import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from demo.moto_server import LocalAws
from traces.analysis import analyze
from traces.sources.base import default_xray_client
from traces.sources.choose import forget_segment_destinations, trace_source
from traces.sources.transaction_search import TransactionSearchTraceSource
from traces.sources.xray import XRayTraceSource

pytestmark = pytest.mark.integration


def traced_invocations(client: Any, count: int, start: float) -> list[str]:
    """`count` traces, each an AWS::Lambda::Function segment holding a DynamoDB PutItem call."""
    trace_ids, documents = [], []
    for index in range(count):
        trace_id = f"1-{int(start):08x}-{secrets.token_hex(12)}"
        trace_ids.append(trace_id)
        begin = start + index * 0.01
        call = {
            "id": secrets.token_hex(8),
            "name": "DynamoDB",
            "namespace": "aws",
            "start_time": begin + 0.01,
            "end_time": begin + 0.02,
            "aws": {"operation": "PutItem", "table_name": "items"},
        }
        documents.append(
            json.dumps(
                {
                    "id": secrets.token_hex(8),
                    "name": "pipeline",
                    "trace_id": trace_id,
                    "start_time": begin,
                    "end_time": begin + 0.05,
                    "origin": "AWS::Lambda::Function",
                    "annotations": {"aws:responseLatency": 40.0},
                    "subsegments": [call],
                }
            )
        )
    for first in range(0, len(documents), 50):
        assert (
            client.put_trace_segments(TraceSegmentDocuments=documents[first : first + 50])[
                "UnprocessedTraceSegments"
            ]
            == []
        )
    return trace_ids


@pytest.fixture
def xray(local_aws: LocalAws) -> Any:
    forget_segment_destinations()
    return default_xray_client()


@pytest.fixture
def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(minutes=5), now + timedelta(minutes=1)


def test_every_trace_comes_back_through_retrieval_while_the_index_holds_a_share(
    local_aws: LocalAws, xray: Any, window: tuple[datetime, datetime]
) -> None:
    local_aws.transaction_search.configure(destination="CloudWatchLogs", indexing_percent=10.0)
    trace_ids = traced_invocations(xray, 120, time.time() - 30)

    source = trace_source("auto", xray, sleep=time.sleep)
    assert isinstance(source, TransactionSearchTraceSource)
    batch = source.get_traces(trace_ids, time_range=window)

    assert sorted(trace["Id"] for trace in batch.traces) == sorted(trace_ids)
    assert (batch.missing, batch.pending) == ([], [])
    calls = source.stats.calls_by_operation
    assert calls["StartTraceRetrieval"] == 2  # 100 + 20 ids
    assert calls["GetTraceSegmentDestination"] == 1
    # Every trace read back is the same invocation, with Transaction Search's extra keys on its documents.
    document = json.loads(batch.traces[0]["Segments"][0]["Document"])
    assert document["annotations"]["aws:span.kind"] == "SERVER"
    assert document["metadata"]["default"]["aws.xray.origin"] == "AWS::Lambda::Function"
    result = analyze({"Traces": batch.traces})
    assert len(result.invocations) == 120
    assert {(c.service, c.operation, c.resource) for i in result.invocations for c in i.calls} == {
        ("DynamoDB", "PutItem", "items")
    }
    assert {i.invocation_ms for i in result.invocations} == {40.0}

    indexed = XRayTraceSource(xray).get_traces(trace_ids)
    expected = [trace_id for trace_id in trace_ids if local_aws.transaction_search.is_indexed(trace_id)]
    assert sorted(trace["Id"] for trace in indexed.traces) == sorted(expected)
    assert 0 < len(expected) < 40  # about 10 % of 120
    assert len(indexed.missing) == 120 - len(expected)


def test_a_classic_account_reads_the_x_ray_index(
    local_aws: LocalAws, xray: Any, window: tuple[datetime, datetime]
) -> None:
    trace_ids = traced_invocations(xray, 3, time.time() - 30)
    source = trace_source("auto", xray)
    assert isinstance(source, XRayTraceSource)
    assert len(source.get_traces(trace_ids).traces) == 3


def test_traces_outside_the_time_range_are_not_retrieved(local_aws: LocalAws, xray: Any) -> None:
    local_aws.transaction_search.configure(destination="CloudWatchLogs")
    old = traced_invocations(xray, 2, time.time() - 7200)
    recent = traced_invocations(xray, 2, time.time() - 30)
    source = TransactionSearchTraceSource(xray)
    now = datetime.now(UTC)
    batch = source.get_traces([*old, *recent], time_range=(now - timedelta(minutes=10), now))
    assert sorted(trace["Id"] for trace in batch.traces) == sorted(recent)
    assert sorted(batch.missing) == sorted(old)


def test_bad_requests_are_answered_as_aws_does(local_aws: LocalAws, xray: Any) -> None:
    now = datetime.now(UTC)
    too_many = [f"1-{int(time.time()):08x}-{index:024x}" for index in range(101)]
    with pytest.raises(ClientError) as raised:
        xray.start_trace_retrieval(TraceIds=too_many, StartTime=now - timedelta(minutes=5), EndTime=now)
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "1 to 100 ids" in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as raised:
        xray.start_trace_retrieval(TraceIds=too_many[:1], StartTime=now, EndTime=now - timedelta(minutes=5))
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as raised:
        xray.list_retrieved_traces(RetrievalToken="no-such-token", TraceFormat="XRAY")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_retrieval_moves_from_scheduled_to_complete_and_pages_by_five(
    local_aws: LocalAws, xray: Any
) -> None:
    local_aws.transaction_search.configure(destination="CloudWatchLogs")
    trace_ids = traced_invocations(xray, 12, time.time() - 30)
    now = datetime.now(UTC)
    token = xray.start_trace_retrieval(
        TraceIds=trace_ids, StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1)
    )["RetrievalToken"]
    first = xray.list_retrieved_traces(RetrievalToken=token, TraceFormat="XRAY")
    assert first["RetrievalStatus"] == "SCHEDULED"
    assert first["Traces"] == []
    statuses = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        page = xray.list_retrieved_traces(RetrievalToken=token, TraceFormat="XRAY")
        statuses.append(page["RetrievalStatus"])
        if page["RetrievalStatus"] == "COMPLETE":
            break
        time.sleep(0.05)
    assert "RUNNING" in statuses
    assert statuses[-1] == "COMPLETE"
    sizes = [len(page["Traces"])]
    while "NextToken" in page:
        page = xray.list_retrieved_traces(
            RetrievalToken=token, TraceFormat="XRAY", NextToken=page["NextToken"]
        )
        sizes.append(len(page["Traces"]))
    assert sizes == [5, 5, 2]


def test_throttled_retrievals_are_retried(local_aws: LocalAws, xray: Any) -> None:
    # Two retrieval requests a second, as a busy account might allow.
    local_aws.transaction_search.configure(destination="CloudWatchLogs", requests_per_second=2)
    trace_ids = traced_invocations(xray, 3, time.time() - 30)
    source = TransactionSearchTraceSource(xray, poll_delay=0.05, max_poll_delay=0.1, base_delay=0.3)
    batch = source.get_traces(trace_ids)
    assert len(batch.traces) == 3
    assert source.stats.throttled_retries >= 1
