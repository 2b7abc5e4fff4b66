"""XRayTraceSource against a moto server: segments go in through PutTraceSegments and come back intact.

moto does not enforce BatchGetTraces' 5-id limit, so the call counts here prove the source chunks by itself.
"""

import json
import math
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo.moto_server import LocalAws
from traces.sources.xray import BATCH_GET_TRACES_MAX_IDS, XRayApiError, XRayTraceSource, default_xray_client

pytestmark = pytest.mark.integration


class XRayRequests:
    """Records each X-Ray request sent over the wire (retries included), via a botocore event hook."""

    def __init__(self, client: Any) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register("before-send.xray", self._record)

    def _record(self, request: Any, event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]  # before-send.xray.<Operation>
        self.sent.append((operation, json.loads(request.body or b"{}")))

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [body for name, body in self.sent if name == operation]


def new_trace_id(epoch: float) -> str:
    return f"1-{int(epoch):08x}-{secrets.token_hex(12)}"


def segment_document(trace_id: str, start: float, name: str = "pipeline") -> str:
    return json.dumps(
        {
            "name": name,
            "id": secrets.token_hex(8),
            "trace_id": trace_id,
            "start_time": start,
            "end_time": start + 0.25,
            "origin": "AWS::Lambda::Function",
        }
    )


def put_segments(client: Any, documents: list[str]) -> None:
    for start in range(0, len(documents), 50):  # PutTraceSegments takes a bounded list per call
        response = client.put_trace_segments(TraceSegmentDocuments=documents[start : start + 50])
        assert response["UnprocessedTraceSegments"] == []


@pytest.fixture
def xray(local_aws: LocalAws) -> Any:
    del local_aws  # only its environment matters: boto3 finds the moto server through AWS_ENDPOINT_URL
    return default_xray_client()


@pytest.fixture
def requests(xray: Any) -> XRayRequests:
    return XRayRequests(xray)


def no_sleep(_: float) -> None:
    """Retries in these tests need no real pause."""


@pytest.mark.parametrize("distinct_ids", [1, 5, 6, 23])
def test_batch_get_traces_is_called_once_per_five_distinct_ids(
    xray: Any, requests: XRayRequests, distinct_ids: int
) -> None:
    now = time.time()
    documents_by_trace: dict[str, set[str]] = {}
    for _ in range(distinct_ids):
        trace_id = new_trace_id(now)
        documents_by_trace[trace_id] = {
            segment_document(trace_id, now),
            segment_document(trace_id, now + 0.1),
        }
    put_segments(xray, [document for documents in documents_by_trace.values() for document in documents])
    ids = list(documents_by_trace)
    source = XRayTraceSource(xray, max_workers=3, sleep=no_sleep)

    batch = source.get_traces([*ids, *ids[:3]])  # duplicates cost nothing

    calls = requests.of("BatchGetTraces")
    assert len(calls) == math.ceil(distinct_ids / BATCH_GET_TRACES_MAX_IDS)
    assert all(len(body["TraceIds"]) <= BATCH_GET_TRACES_MAX_IDS for body in calls)
    assert sorted(trace_id for body in calls for trace_id in body["TraceIds"]) == sorted(ids)
    assert batch.missing == []
    assert {
        returned["Id"]: {segment["Document"] for segment in returned["Segments"]} for returned in batch.traces
    } == (documents_by_trace)
    assert source.stats.api_calls == len(calls)
    assert source.stats.traces_retrieved == distinct_ids


def fixture_documents(path: Path) -> dict[str, list[str]]:
    """Segment documents (as JSON strings) of a BatchGetTraces-response or one-trace fixture, by trace id."""
    content = json.loads(path.read_text())
    traces = content.get("Traces", [content] if "Segments" in content else [])
    documents: dict[str, list[str]] = {}
    for trace in traces:
        for segment in trace["Segments"]:
            document = segment["Document"]
            documents.setdefault(trace["Id"], []).append(
                document if isinstance(document, str) else json.dumps(document)
            )
    return documents


def test_real_segment_documents_round_trip_exactly(
    xray: Any, requests: XRayRequests, xray_fixtures_dir: Path
) -> None:
    documents_by_trace: dict[str, list[str]] = {}
    for path in sorted(xray_fixtures_dir.glob("*.json")):
        if "web-console" in path.name:
            continue  # the same trace as triggerbench-sb_thumbnail_app_traces.json, as the console shows it
        documents_by_trace.update(fixture_documents(path))
    put_segments(xray, [document for documents in documents_by_trace.values() for document in documents])
    source = XRayTraceSource(xray, sleep=no_sleep)

    batch = source.get_traces(documents_by_trace)

    assert batch.missing == []
    returned = {
        trace["Id"]: sorted(segment["Document"] for segment in trace["Segments"]) for trace in batch.traces
    }
    assert returned == {trace_id: sorted(documents) for trace_id, documents in documents_by_trace.items()}
    assert len(requests.of("BatchGetTraces")) == math.ceil(len(documents_by_trace) / BATCH_GET_TRACES_MAX_IDS)


def test_a_trace_still_in_progress_is_returned(xray: Any) -> None:
    now = time.time()
    trace_id = new_trace_id(now)
    document = json.dumps(
        {
            "name": "pipeline",
            "id": secrets.token_hex(8),
            "trace_id": trace_id,
            "start_time": now,
            "in_progress": True,
        }
    )
    put_segments(xray, [document])

    batch = XRayTraceSource(xray, sleep=no_sleep).get_traces([trace_id])

    # moto leaves out the trace's `Id` until its last segment ends; the source reads it from the document.
    assert [
        (trace["Id"], [segment["Document"] for segment in trace["Segments"]]) for trace in batch.traces
    ] == [(trace_id, [document])]
    assert batch.missing == []


def test_unknown_ids_are_retried_a_bounded_number_of_times_then_missing(
    xray: Any, requests: XRayRequests
) -> None:
    now = time.time()
    known = new_trace_id(now)
    put_segments(xray, [segment_document(known, now)])
    unknown = [new_trace_id(now) for _ in range(2)]
    source = XRayTraceSource(xray, max_unprocessed_rounds=2, sleep=no_sleep)

    batch = source.get_traces([known, *unknown])

    # moto returns ids it does not know as UnprocessedTraceIds, so they are asked for again, twice.
    assert [body["TraceIds"] for body in requests.of("BatchGetTraces")] == [
        [known, *unknown],
        unknown,
        unknown,
    ]
    assert [trace["Id"] for trace in batch.traces] == [known]
    assert batch.missing == unknown
    assert source.stats.unprocessed_retries == 4


def test_trace_ids_of_a_window_come_from_get_trace_summaries(xray: Any, requests: XRayRequests) -> None:
    now = time.time()
    ids = [new_trace_id(now) for _ in range(7)]
    put_segments(xray, [segment_document(trace_id, now - 30) for trace_id in ids])
    source = XRayTraceSource(xray, sleep=no_sleep)
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)

    found = source.find_trace_ids(end - timedelta(minutes=10), end)

    assert sorted(found) == sorted(ids)
    (request,) = requests.of("GetTraceSummaries")
    assert request["TimeRangeType"] == "TraceId"
    assert "FilterExpression" not in request
    assert source.stats.traces_scanned == 7
    assert source.stats.api_calls == 1


def test_moto_refuses_filter_expressions_and_the_error_names_the_operation(
    xray: Any, requests: XRayRequests
) -> None:
    source = XRayTraceSource(xray, max_attempts=2, sleep=no_sleep)
    end = datetime.now(UTC).replace(microsecond=0)

    with pytest.raises(XRayApiError, match=r"^X-Ray GetTraceSummaries failed: .*after 2 attempts\)$"):
        source.find_trace_ids(end - timedelta(minutes=5), end, 'service("pipeline")')

    assert [body["FilterExpression"] for body in requests.of("GetTraceSummaries")] == [
        'service("pipeline")'
    ] * 2
