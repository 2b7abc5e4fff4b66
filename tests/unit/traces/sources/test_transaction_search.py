"""TransactionSearchTraceSource against botocore's Stubber: retrievals of at most 100 ids, polling until
COMPLETE, pages of `Spans`, the statuses that end without traces, throttling, a deadline, the source choice.

Time is a fake clock that moves only when the source sleeps: nothing is slept, no test depends on timing.
"""

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from traces.sources.base import SourceStats, TraceSourceError, XRayApiError
from traces.sources.choose import forget_segment_destinations, trace_source
from traces.sources.transaction_search import START_TRACE_RETRIEVAL_MAX_IDS, TransactionSearchTraceSource
from traces.sources.xray import XRayTraceSource

WINDOW_START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW_END = WINDOW_START + timedelta(minutes=5)
TOKEN = "a3f0e0f1-retrieval"


def trace_id(index: int) -> str:
    return f"1-6925a000-{index:024x}"


def retrieved(identifier: str, *segment_ids: str) -> dict[str, Any]:
    spans = [
        {"Id": segment_id, "Document": json.dumps({"id": segment_id, "trace_id": identifier})}
        for segment_id in segment_ids or ("a000000000000001",)
    ]
    return {"Id": identifier, "Duration": 0.5, "Spans": spans}


def listed(status: str, *traces: dict[str, Any], next_token: str = "") -> dict[str, Any]:
    response: dict[str, Any] = {"RetrievalStatus": status, "TraceFormat": "XRAY", "Traces": list(traces)}
    if next_token:
        response["NextToken"] = next_token
    return response


class FakeTime:
    """A monotonic clock that advances only by what is slept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def xray_client() -> Any:
    return boto3.client(
        "xray", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def stubber(xray_client: Any) -> Iterator[Stubber]:
    with Stubber(xray_client) as active:
        yield active
        active.assert_no_pending_responses()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def source(xray_client: Any, fake_time: FakeTime) -> TransactionSearchTraceSource:
    return TransactionSearchTraceSource(
        xray_client,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        rng=random.Random(3),
        poll_delay=1.0,
        max_poll_delay=4.0,
        now=lambda: WINDOW_END + timedelta(minutes=10),
    )


def start(stubber: Stubber, ids: list[str], token: str = TOKEN, *, start: Any = WINDOW_START) -> None:
    stubber.add_response(
        "start_trace_retrieval",
        {"RetrievalToken": token},
        {"TraceIds": ids, "StartTime": start, "EndTime": ANY},
    )


def poll(
    stubber: Stubber, response: dict[str, Any], token: str = TOKEN, next_token: str | None = None
) -> None:
    expected: dict[str, Any] = {"RetrievalToken": token, "TraceFormat": "XRAY"}
    if next_token is not None:
        expected["NextToken"] = next_token
    stubber.add_response("list_retrieved_traces", response, expected)


def test_a_retrieval_is_polled_until_complete_then_read_page_by_page(
    stubber: Stubber, source: TransactionSearchTraceSource, fake_time: FakeTime
) -> None:
    ids = [trace_id(index) for index in range(7)]
    start(stubber, ids)
    poll(stubber, listed("SCHEDULED"))
    poll(stubber, listed("RUNNING"))
    poll(stubber, listed("COMPLETE", *(retrieved(i) for i in ids[:5]), next_token="page-2"))
    poll(stubber, listed("COMPLETE", *(retrieved(i) for i in ids[5:])), next_token="page-2")

    batch = source.get_traces([*ids, ids[0]], time_range=(WINDOW_START, WINDOW_END))

    assert [trace["Id"] for trace in batch.traces] == ids
    assert batch.traces[0]["Segments"] == [  # `Spans` read as segments, in the BatchGetTraces shape
        {"Id": "a000000000000001", "Document": json.dumps({"id": "a000000000000001", "trace_id": ids[0]})}
    ]
    assert "Spans" not in batch.traces[0]
    assert (batch.missing, batch.pending) == ([], [])
    # Two waits between the three polls, doubling from 1 s, each jittered into [d/2, d].
    assert len(fake_time.slept) == 2
    assert 0.5 <= fake_time.slept[0] <= 1.0
    assert 1.0 <= fake_time.slept[1] <= 2.0
    assert source.stats == SourceStats(
        api_calls=5,
        traces_retrieved=7,
        calls_by_operation={"StartTraceRetrieval": 1, "ListRetrievedTraces": 4},
    )


def test_more_than_100_ids_are_retrieved_100_at_a_time(
    stubber: Stubber, source: TransactionSearchTraceSource
) -> None:
    ids = [trace_id(index) for index in range(230)]
    chunks = [ids[0:100], ids[100:200], ids[200:230]]
    for number, chunk in enumerate(chunks):
        start(stubber, chunk, token=f"t{number}")
    for number, chunk in enumerate(chunks):  # every retrieval started before any is polled
        poll(stubber, listed("COMPLETE", *(retrieved(i) for i in chunk[:1])), token=f"t{number}")

    batch = source.get_traces(ids, time_range=(WINDOW_START, WINDOW_END))

    assert START_TRACE_RETRIEVAL_MAX_IDS == 100
    assert [trace["Id"] for trace in batch.traces] == [ids[0], ids[100], ids[200]]
    assert len(batch.missing) == 227  # asked, and the finished retrieval did not hold them
    assert batch.pending == []


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "TIMEOUT"])
def test_a_retrieval_that_ends_without_traces_leaves_its_ids_missing(
    stubber: Stubber, source: TransactionSearchTraceSource, status: str
) -> None:
    ids = [trace_id(1), trace_id(2)]
    start(stubber, ids)
    poll(stubber, listed("RUNNING"))
    poll(stubber, listed(status))

    batch = source.get_traces(ids, time_range=(WINDOW_START, WINDOW_END))

    assert (batch.traces, batch.missing, batch.pending) == ([], ids, [])


def test_a_retrieval_still_running_at_the_deadline_leaves_its_ids_pending(
    stubber: Stubber, source: TransactionSearchTraceSource, fake_time: FakeTime
) -> None:
    ids = [trace_id(1), trace_id(2)]
    start(stubber, ids)
    poll(stubber, listed("RUNNING"))
    poll(stubber, listed("RUNNING"))
    poll(stubber, listed("RUNNING"))

    batch = source.get_traces(ids, time_range=(WINDOW_START, WINDOW_END), deadline=fake_time.now + 3.5)

    assert batch.traces == []
    assert batch.pending == ids
    assert batch.missing == ids
    assert fake_time.now <= 1003.5  # never slept past the deadline


def test_throttling_and_server_errors_are_retried_with_jitter(
    stubber: Stubber, source: TransactionSearchTraceSource, fake_time: FakeTime
) -> None:
    ids = [trace_id(1)]
    stubber.add_client_error(
        "start_trace_retrieval", "ThrottledException", "Rate exceeded", http_status_code=429
    )
    start(stubber, ids)
    stubber.add_client_error("list_retrieved_traces", "InternalFailure", "oops", http_status_code=500)
    poll(stubber, listed("COMPLETE", retrieved(ids[0])))

    batch = source.get_traces(ids, time_range=(WINDOW_START, WINDOW_END))

    assert [trace["Id"] for trace in batch.traces] == ids
    assert source.stats.throttled_retries == 1
    assert source.stats.transient_retries == 1
    assert source.stats.calls_by_operation == {"StartTraceRetrieval": 2, "ListRetrievedTraces": 2}
    assert all(0.0 <= delay <= 0.2 for delay in fake_time.slept)  # full jitter of the first backoff


def test_a_bad_request_is_one_clear_error(stubber: Stubber, source: TransactionSearchTraceSource) -> None:
    stubber.add_client_error(
        "start_trace_retrieval",
        "InvalidRequestException",
        "EndTime must be after StartTime",
        http_status_code=400,
    )
    with pytest.raises(
        XRayApiError, match="X-Ray StartTraceRetrieval failed: InvalidRequestException: EndTime"
    ):
        source.get_traces([trace_id(1)], time_range=(WINDOW_START, WINDOW_END))


def test_an_unknown_status_is_an_error_not_an_endless_wait(
    stubber: Stubber, source: TransactionSearchTraceSource
) -> None:
    start(stubber, [trace_id(1)])
    poll(stubber, listed("PAUSED"))
    with pytest.raises(XRayApiError, match="unknown RetrievalStatus 'PAUSED'"):
        source.get_traces([trace_id(1)], time_range=(WINDOW_START, WINDOW_END))


def test_without_a_time_range_the_trace_ids_own_epochs_give_it(
    stubber: Stubber, source: TransactionSearchTraceSource
) -> None:
    # 0x6925a000 = 1764073472 s = 2025-11-25T12:24:32Z: from a minute before to an hour after.
    first = datetime.fromtimestamp(0x6925A000, UTC)
    stubber.add_response(
        "start_trace_retrieval",
        {"RetrievalToken": TOKEN},
        {
            "TraceIds": [trace_id(1)],
            "StartTime": first - timedelta(minutes=1),
            "EndTime": first + timedelta(hours=1),
        },
    )
    poll(stubber, listed("COMPLETE", retrieved(trace_id(1))))
    assert len(source.get_traces([trace_id(1)]).traces) == 1


def test_no_ids_no_calls(stubber: Stubber, source: TransactionSearchTraceSource) -> None:
    assert source.get_traces([]).traces == []
    assert source.stats.api_calls == 0


# -- choosing the source ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_destination() -> Iterator[None]:
    forget_segment_destinations()
    yield
    forget_segment_destinations()


@pytest.mark.parametrize(
    ("destination", "status", "chosen"),
    [
        ("CloudWatchLogs", "ACTIVE", TransactionSearchTraceSource),
        ("CloudWatchLogs", "PENDING", XRayTraceSource),
        ("XRay", "ACTIVE", XRayTraceSource),
    ],
)
def test_auto_asks_where_the_spans_go_once_per_process(
    stubber: Stubber, xray_client: Any, destination: str, status: str, chosen: type
) -> None:
    stubber.add_response("get_trace_segment_destination", {"Destination": destination, "Status": status}, {})
    first = trace_source("auto", xray_client)
    again = trace_source("auto", xray_client)  # no second question: the stubber would fail on it
    assert isinstance(first, chosen)
    assert isinstance(again, chosen)
    assert first.stats.calls_by_operation == {"GetTraceSegmentDestination": 1}  # the question's cost


def test_a_forced_source_asks_nothing(stubber: Stubber, xray_client: Any) -> None:
    assert isinstance(trace_source("transaction-search", xray_client), TransactionSearchTraceSource)
    assert isinstance(trace_source("xray", xray_client), XRayTraceSource)


def test_a_missing_permission_says_what_to_grant_or_set(stubber: Stubber, xray_client: Any) -> None:
    stubber.add_client_error(
        "get_trace_segment_destination", "AccessDeniedException", "not authorized", http_status_code=403
    )
    with pytest.raises(TraceSourceError) as raised:
        trace_source("auto", xray_client)
    message = str(raised.value)
    assert "grant xray:GetTraceSegmentDestination" in message
    assert "TraceSource" in message
    assert "--trace-source" in message
    assert "\n" not in message


def test_an_unknown_destination_or_setting_is_one_clear_error(stubber: Stubber, xray_client: Any) -> None:
    stubber.add_response("get_trace_segment_destination", {"Destination": "Kinesis", "Status": "ACTIVE"}, {})
    with pytest.raises(TraceSourceError, match="answered Destination 'Kinesis'"):
        trace_source("auto", xray_client)
    with pytest.raises(TraceSourceError, match="expected one of auto, xray, transaction-search"):
        trace_source("otel", xray_client)
