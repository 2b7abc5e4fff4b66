"""XRayTraceSource against botocore's Stubber: chunking, paging, retries, unprocessed ids, errors.

Sleeps are recorded, never slept; no test depends on timing.
"""

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from common.errors import UserError
from traces.sources.xray import (
    BATCH_GET_TRACES_MAX_IDS,
    SourceStats,
    TraceSource,
    TraceSourceError,
    XRayApiError,
    XRayTraceSource,
    default_xray_client,
)

WINDOW_END = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW_START = WINDOW_END - timedelta(minutes=5)


def trace_id(index: int) -> str:
    return f"1-6925a000-{index:024x}"


def trace(identifier: str, *segment_ids: str) -> dict[str, Any]:
    segments = [{"Id": segment_id, "Document": f'{{"id": "{segment_id}"}}'} for segment_id in segment_ids]
    return {"Id": identifier, "Duration": 0.5, "Segments": segments or [{"Id": "a1", "Document": "{}"}]}


def batch_response(*traces: dict[str, Any], unprocessed: list[str] | None = None, next_token: str = ""):
    response: dict[str, Any] = {"Traces": list(traces), "UnprocessedTraceIds": unprocessed or []}
    if next_token:
        response["NextToken"] = next_token
    return response


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def xray_client() -> Any:
    return boto3.client(
        "xray",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def stubber(xray_client: Any) -> Iterator[Stubber]:
    with Stubber(xray_client) as active:
        yield active
        active.assert_no_pending_responses()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def source(xray_client: Any, sleeps: SleepRecorder) -> XRayTraceSource:
    # One worker keeps the order of stubbed calls deterministic.
    return XRayTraceSource(xray_client, max_workers=1, sleep=sleeps, rng=random.Random(7))


def throttle(stubber: Stubber, operation: str = "batch_get_traces", **kwargs: Any) -> None:
    stubber.add_client_error(operation, "ThrottledException", "Rate exceeded", http_status_code=429, **kwargs)


# -- BatchGetTraces: chunks and results -------------------------------------------------------------------


def test_distinct_ids_are_fetched_in_chunks_of_five_in_order(
    stubber: Stubber, source: XRayTraceSource
) -> None:
    ids = [trace_id(index) for index in range(12)]
    asked = [*ids[:3], ids[0], *ids[3:], ids[11], ""]  # duplicates and a blank are dropped
    for chunk in (ids[0:5], ids[5:10], ids[10:12]):
        stubber.add_response(
            "batch_get_traces",
            batch_response(*(trace(identifier) for identifier in chunk)),
            {"TraceIds": chunk},
        )

    batch = source.get_traces(asked)

    assert [returned["Id"] for returned in batch.traces] == ids
    assert batch.missing == []
    assert source.stats == SourceStats(
        api_calls=3, traces_retrieved=12, calls_by_operation={"BatchGetTraces": 3}
    )


def test_traces_come_back_in_the_order_asked(stubber: Stubber, source: XRayTraceSource) -> None:
    ids = [trace_id(1), trace_id(2), trace_id(3)]
    stubber.add_response("batch_get_traces", batch_response(trace(ids[2]), trace(ids[0]), trace(ids[1])))

    batch = source.get_traces(ids)

    assert [returned["Id"] for returned in batch.traces] == ids


def test_a_single_id_string_is_one_id(stubber: Stubber, source: XRayTraceSource) -> None:
    stubber.add_response("batch_get_traces", batch_response(trace(trace_id(1))), {"TraceIds": [trace_id(1)]})

    assert len(source.get_traces(trace_id(1)).traces) == 1


def test_no_ids_means_no_call(stubber: Stubber, source: XRayTraceSource) -> None:
    batch = source.get_traces([])

    assert batch.traces == []
    assert batch.missing == []
    assert source.stats.api_calls == 0


def test_trace_entries_keep_the_batch_get_traces_shape(stubber: Stubber, source: XRayTraceSource) -> None:
    stubber.add_response("batch_get_traces", batch_response(trace(trace_id(1), "s1", "s2")))

    batch = source.get_traces([trace_id(1)])

    assert batch.traces == [trace(trace_id(1), "s1", "s2")]


def test_an_entry_without_id_takes_it_from_its_documents(stubber: Stubber, source: XRayTraceSource) -> None:
    document = f'{{"id": "s1", "trace_id": "{trace_id(1)}", "start_time": 1, "in_progress": true}}'
    stubber.add_response(
        "batch_get_traces", {"Traces": [{"Duration": 0.0, "Segments": [{"Id": "s1", "Document": document}]}]}
    )

    batch = source.get_traces([trace_id(1)])

    assert batch.traces == [
        {"Id": trace_id(1), "Duration": 0.0, "Segments": [{"Id": "s1", "Document": document}]}
    ]
    assert batch.missing == []


def test_ids_xray_does_not_know_are_missing_without_a_retry(
    stubber: Stubber, source: XRayTraceSource, sleeps: SleepRecorder
) -> None:
    stubber.add_response("batch_get_traces", batch_response(trace(trace_id(1))))

    batch = source.get_traces([trace_id(1), trace_id(2)])

    assert [returned["Id"] for returned in batch.traces] == [trace_id(1)]
    assert batch.missing == [trace_id(2)]
    assert source.stats.api_calls == 1
    assert sleeps.delays == []


# -- BatchGetTraces: pages ----------------------------------------------------------------------------------


def test_next_token_is_followed_within_a_chunk(stubber: Stubber, source: XRayTraceSource) -> None:
    ids = [trace_id(1), trace_id(2)]
    stubber.add_response(
        "batch_get_traces", batch_response(trace(ids[0]), next_token="page-2"), {"TraceIds": ids}
    )
    stubber.add_response(
        "batch_get_traces", batch_response(trace(ids[1])), {"TraceIds": ids, "NextToken": "page-2"}
    )

    batch = source.get_traces(ids)

    assert [returned["Id"] for returned in batch.traces] == ids
    assert source.stats == SourceStats(
        api_calls=2, traces_retrieved=2, calls_by_operation={"BatchGetTraces": 2}
    )


def test_a_trace_split_over_pages_is_merged_once(stubber: Stubber, source: XRayTraceSource) -> None:
    stubber.add_response("batch_get_traces", batch_response(trace(trace_id(1), "s1", "s2"), next_token="t"))
    stubber.add_response("batch_get_traces", batch_response(trace(trace_id(1), "s2", "s3")))

    batch = source.get_traces([trace_id(1)])

    assert len(batch.traces) == 1
    assert [segment["Id"] for segment in batch.traces[0]["Segments"]] == ["s1", "s2", "s3"]
    assert source.stats.traces_retrieved == 1


def test_a_repeated_page_token_stops_instead_of_looping(stubber: Stubber, source: XRayTraceSource) -> None:
    stubber.add_response("batch_get_traces", batch_response(trace(trace_id(1)), next_token="same"))
    stubber.add_response("batch_get_traces", batch_response(next_token="same"))

    with pytest.raises(XRayApiError, match=r"BatchGetTraces.*'same' twice"):
        source.get_traces([trace_id(1)])


# -- BatchGetTraces: UnprocessedTraceIds --------------------------------------------------------------------


def test_unprocessed_ids_are_asked_for_again(
    stubber: Stubber, source: XRayTraceSource, sleeps: SleepRecorder
) -> None:
    ids = [trace_id(1), trace_id(2), trace_id(3)]
    stubber.add_response(
        "batch_get_traces", batch_response(trace(ids[0]), unprocessed=[ids[1], ids[2]]), {"TraceIds": ids}
    )
    stubber.add_response(
        "batch_get_traces", batch_response(trace(ids[2]), unprocessed=[ids[1]]), {"TraceIds": ids[1:]}
    )
    stubber.add_response("batch_get_traces", batch_response(trace(ids[1])), {"TraceIds": [ids[1]]})

    batch = source.get_traces(ids)

    assert sorted(returned["Id"] for returned in batch.traces) == ids
    assert batch.missing == []
    assert source.stats.unprocessed_retries == 3  # two ids, then one
    assert source.stats.api_calls == 3
    assert len(sleeps.delays) == 2


def test_ids_still_unprocessed_after_the_last_round_are_missing(
    xray_client: Any, stubber: Stubber, sleeps: SleepRecorder
) -> None:
    source = XRayTraceSource(xray_client, max_workers=1, max_unprocessed_rounds=2, sleep=sleeps)
    ids = [trace_id(1), trace_id(2)]
    stubber.add_response("batch_get_traces", batch_response(trace(ids[0]), unprocessed=[ids[1]]))
    for _ in range(2):
        stubber.add_response("batch_get_traces", batch_response(unprocessed=[ids[1]]), {"TraceIds": [ids[1]]})

    batch = source.get_traces(ids)

    assert [returned["Id"] for returned in batch.traces] == [ids[0]]
    assert batch.missing == [ids[1]]
    assert source.stats == SourceStats(
        api_calls=3, traces_retrieved=1, unprocessed_retries=2, calls_by_operation={"BatchGetTraces": 3}
    )


# -- retries: throttling and 5xx -----------------------------------------------------------------------------


def test_throttles_are_retried_with_jittered_exponential_backoff(
    stubber: Stubber, source: XRayTraceSource, sleeps: SleepRecorder
) -> None:
    ids = [trace_id(1)]
    for _ in range(3):
        throttle(stubber, expected_params={"TraceIds": ids})
    stubber.add_response("batch_get_traces", batch_response(trace(ids[0])), {"TraceIds": ids})

    batch = source.get_traces(ids)

    assert [returned["Id"] for returned in batch.traces] == ids
    assert source.stats == SourceStats(
        api_calls=4, traces_retrieved=1, throttled_retries=3, calls_by_operation={"BatchGetTraces": 4}
    )
    # Full jitter: each delay anywhere in [0, base * 2^(attempt-1)], base 0.2 s.
    assert len(sleeps.delays) == 3
    for delay, ceiling in zip(sleeps.delays, (0.2, 0.4, 0.8), strict=True):
        assert 0.0 <= delay <= ceiling


def test_backoff_is_capped_at_max_delay(xray_client: Any, stubber: Stubber, sleeps: SleepRecorder) -> None:
    source = XRayTraceSource(xray_client, max_workers=1, base_delay=1.0, max_delay=1.5, sleep=sleeps)
    for _ in range(4):
        throttle(stubber)
    stubber.add_response("batch_get_traces", batch_response(trace(trace_id(1))))

    source.get_traces([trace_id(1)])

    assert all(0.0 <= delay <= 1.5 for delay in sleeps.delays)


def test_an_unmodelled_429_counts_as_a_throttle(stubber: Stubber, source: XRayTraceSource) -> None:
    stubber.add_client_error(
        "batch_get_traces", "TooManyRequestsException", "slow down", http_status_code=429
    )
    stubber.add_response("batch_get_traces", batch_response(trace(trace_id(1))))

    source.get_traces([trace_id(1)])

    assert source.stats.throttled_retries == 1


@pytest.mark.parametrize(
    ("code", "status"), [("InternalFailure", 500), ("ServiceUnavailable", 503), ("BadGateway", 502)]
)
def test_server_errors_are_retried(stubber: Stubber, source: XRayTraceSource, code: str, status: int) -> None:
    stubber.add_client_error("batch_get_traces", code, "try again", http_status_code=status)
    stubber.add_response("batch_get_traces", batch_response(trace(trace_id(1))))

    batch = source.get_traces([trace_id(1)])

    assert len(batch.traces) == 1
    assert source.stats == SourceStats(
        api_calls=2, traces_retrieved=1, transient_retries=1, calls_by_operation={"BatchGetTraces": 2}
    )


def test_retries_are_bounded_then_the_error_names_operation_and_cause(
    xray_client: Any, stubber: Stubber, sleeps: SleepRecorder
) -> None:
    source = XRayTraceSource(xray_client, max_workers=1, max_attempts=3, sleep=sleeps)
    for _ in range(3):
        throttle(stubber)

    with pytest.raises(XRayApiError) as raised:
        source.get_traces([trace_id(1)])

    assert str(raised.value) == (
        "X-Ray BatchGetTraces failed: ThrottledException: Rate exceeded (still failing after 3 attempts)"
    )
    assert raised.value.status == 429
    assert source.stats.api_calls == 3
    assert source.stats.throttled_retries == 2
    assert len(sleeps.delays) == 2


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("AccessDeniedException", 403, "User: arn:aws:iam::123456789012:user/x is not authorized"),
        ("InvalidRequestException", 400, "Invalid trace id"),
        ("UnrecognizedClientException", 400, "The security token included in the request is invalid."),
    ],
)
def test_a_non_retryable_error_raises_at_once(
    stubber: Stubber, source: XRayTraceSource, sleeps: SleepRecorder, *, code: str, status: int, message: str
) -> None:
    stubber.add_client_error("batch_get_traces", code, message, http_status_code=status)

    with pytest.raises(XRayApiError) as raised:
        source.get_traces([trace_id(1)])

    hint = " (grant xray:BatchGetTraces to the caller)" if code == "AccessDeniedException" else ""
    assert str(raised.value) == f"X-Ray BatchGetTraces failed: {code}: {message}{hint}"
    assert (raised.value.operation, raised.value.code, raised.value.status) == (
        "BatchGetTraces",
        code,
        status,
    )
    assert isinstance(raised.value, TraceSourceError)
    assert isinstance(raised.value, UserError)  # so the CLI prints one line, not a traceback
    assert source.stats.api_calls == 1
    assert sleeps.delays == []


# -- GetTraceSummaries ---------------------------------------------------------------------------------------


def summaries_response(*ids: str, next_token: str = "") -> dict[str, Any]:
    response: dict[str, Any] = {
        "TraceSummaries": [{"Id": identifier} for identifier in ids],
        "ApproximateTime": WINDOW_END,
        "TracesProcessedCount": len(ids),
    }
    if next_token:
        response["NextToken"] = next_token
    return response


def test_summaries_are_paged_and_ids_made_distinct(stubber: Stubber, source: XRayTraceSource) -> None:
    request = {"StartTime": WINDOW_START, "EndTime": WINDOW_END, "TimeRangeType": "TraceId"}
    stubber.add_response(
        "get_trace_summaries", summaries_response(trace_id(3), trace_id(2), next_token="older"), request
    )
    stubber.add_response(
        "get_trace_summaries", summaries_response(trace_id(2), trace_id(1)), {**request, "NextToken": "older"}
    )

    found = source.find_trace_ids(WINDOW_START, WINDOW_END)

    assert found == [trace_id(3), trace_id(2), trace_id(1)]
    assert source.stats == SourceStats(
        api_calls=2, traces_scanned=4, calls_by_operation={"GetTraceSummaries": 2}
    )


def test_a_filter_expression_is_sent_only_when_given(stubber: Stubber, source: XRayTraceSource) -> None:
    expression = 'service("pipeline") AND responsetime > 1'
    stubber.add_response(
        "get_trace_summaries",
        summaries_response(trace_id(1)),
        {
            "StartTime": WINDOW_START,
            "EndTime": WINDOW_END,
            "TimeRangeType": "TraceId",
            "FilterExpression": expression,
        },
    )
    stubber.add_response(
        "get_trace_summaries",
        summaries_response(),
        {"StartTime": WINDOW_START, "EndTime": WINDOW_END, "TimeRangeType": "Event"},
    )

    assert source.find_trace_ids(WINDOW_START, WINDOW_END, expression) == [trace_id(1)]
    assert source.find_trace_ids(WINDOW_START, WINDOW_END, "  ", time_range_type="Event") == []


def test_a_throttled_summary_page_is_asked_again_with_its_token(
    stubber: Stubber, source: XRayTraceSource
) -> None:
    request = {"StartTime": WINDOW_START, "EndTime": WINDOW_END, "TimeRangeType": "TraceId"}
    stubber.add_response("get_trace_summaries", summaries_response(trace_id(2), next_token="p2"), request)
    throttle(stubber, "get_trace_summaries", expected_params={**request, "NextToken": "p2"})
    stubber.add_response(
        "get_trace_summaries", summaries_response(trace_id(1)), {**request, "NextToken": "p2"}
    )

    assert source.find_trace_ids(WINDOW_START, WINDOW_END) == [trace_id(2), trace_id(1)]
    assert source.stats == SourceStats(
        api_calls=3, traces_scanned=2, throttled_retries=1, calls_by_operation={"GetTraceSummaries": 3}
    )


def test_summaries_refused_by_aws_name_get_trace_summaries(stubber: Stubber, source: XRayTraceSource) -> None:
    stubber.add_client_error("get_trace_summaries", "InvalidRequestException", "Invalid filter expression")

    with pytest.raises(
        XRayApiError, match=r"^X-Ray GetTraceSummaries failed: InvalidRequestException: Invalid"
    ):
        source.find_trace_ids(WINDOW_START, WINDOW_END, "nonsense(")


def test_an_empty_time_range_is_refused_before_any_call(stubber: Stubber, source: XRayTraceSource) -> None:
    with pytest.raises(ValueError, match="time range is empty"):
        source.find_trace_ids(WINDOW_END, WINDOW_START)
    assert source.stats.api_calls == 0


# -- without the Stubber: connection errors, concurrency, the default client -------------------------------


class FakeXRay:
    """Returns one trace per id asked; `failures` are raised, in turn, before answering."""

    def __init__(self, failures: list[Exception] | None = None, first_wave: int = 0) -> None:
        self.failures = failures or []
        self.calls: list[list[str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        # The first `first_wave` calls wait for each other: proof that they ran at the same time.
        self._first_wave = threading.Barrier(first_wave) if first_wave else None

    def batch_get_traces(self, TraceIds: list[str], NextToken: str | None = None) -> dict[str, Any]:
        with self._lock:
            self.calls.append(TraceIds)
            call_number = len(self.calls)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            failure = self.failures.pop(0) if self.failures else None
        try:
            if self._first_wave is not None and call_number <= self._first_wave.parties:
                self._first_wave.wait(timeout=30)  # a guard against a hang, not a timing assertion
            if failure is not None:
                raise failure
            return batch_response(*(trace(identifier) for identifier in TraceIds))
        finally:
            with self._lock:
                self.in_flight -= 1


def test_chunks_are_fetched_concurrently_by_at_most_max_workers() -> None:
    fake = FakeXRay(first_wave=3)
    source = XRayTraceSource(fake, max_workers=3, sleep=SleepRecorder())
    ids = [trace_id(index) for index in range(48)]

    batch = source.get_traces(ids)

    assert fake.max_in_flight == 3
    assert len(fake.calls) == 10
    assert all(len(chunk) <= BATCH_GET_TRACES_MAX_IDS for chunk in fake.calls)
    assert sorted(identifier for chunk in fake.calls for identifier in chunk) == ids
    assert [returned["Id"] for returned in batch.traces] == ids  # results keep the order asked
    assert source.stats == SourceStats(
        api_calls=10, traces_retrieved=48, calls_by_operation={"BatchGetTraces": 10}
    )


def test_a_failing_chunk_fails_the_whole_concurrent_fetch() -> None:
    fake = FakeXRay(failures=[NoCredentialsError()])
    source = XRayTraceSource(fake, max_workers=2, sleep=SleepRecorder())

    with pytest.raises(XRayApiError, match=r"^X-Ray BatchGetTraces failed: Unable to locate credentials$"):
        source.get_traces([trace_id(index) for index in range(20)])


def test_missing_credentials_fail_at_once_without_counting_a_request() -> None:
    source = XRayTraceSource(FakeXRay(failures=[NoCredentialsError()]), sleep=SleepRecorder())

    with pytest.raises(XRayApiError, match=r"^X-Ray BatchGetTraces failed: Unable to locate credentials$"):
        source.get_traces([trace_id(1)])
    assert source.stats == SourceStats()


def test_connection_errors_are_retried_as_transient() -> None:
    fake = FakeXRay(failures=[EndpointConnectionError(endpoint_url="https://xray.us-east-1.amazonaws.com")])
    source = XRayTraceSource(fake, sleep=SleepRecorder())

    batch = source.get_traces([trace_id(1)])

    assert len(batch.traces) == 1
    assert source.stats == SourceStats(
        api_calls=2, traces_retrieved=1, transient_retries=1, calls_by_operation={"BatchGetTraces": 2}
    )


def test_it_is_a_trace_source() -> None:
    source: TraceSource = XRayTraceSource(FakeXRay())
    assert source.stats == SourceStats()


def test_the_default_client_leaves_every_retry_to_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")

    client = default_xray_client()

    assert client.meta.config.retries == {"total_max_attempts": 1, "mode": "standard"}
    assert client.meta.region_name == "eu-west-1"


def test_no_region_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))

    with pytest.raises(TraceSourceError, match="cannot create an X-Ray client: You must specify a region"):
        XRayTraceSource()
