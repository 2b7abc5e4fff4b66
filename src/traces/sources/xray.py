"""Where traces come from: a small `TraceSource` interface and its AWS X-Ray implementation.

The analysis never calls AWS itself; it takes what a `TraceSource` returns (`BatchGetTraces`-shaped trace
dicts), so a second source (OpenTelemetry spans, say) can join later without touching it.

X-Ray facts the implementation is built around (see DESIGN.md):
- `BatchGetTraces` takes at most 5 distinct ids a call, may page with `NextToken`, and may hand ids back as
  `UnprocessedTraceIds`; ids it does not know are simply absent.
- `GetTraceSummaries` pages newest first and bills every trace it scans.
- Both throttle with HTTP 429 (`ThrottledException`).
- Retrieving or scanning costs $0.50 per million traces, so every call and trace is counted in `SourceStats`.
"""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from common.errors import UserError

if TYPE_CHECKING:
    from mypy_boto3_xray.client import XRayClient
    from mypy_boto3_xray.literals import TimeRangeTypeType

BATCH_GET_TRACES_MAX_IDS = 5

# Error codes AWS services use for "slow down"; X-Ray's modelled one is ThrottledException (HTTP 429).
THROTTLING_ERROR_CODES = frozenset(
    {
        "ThrottledException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "TooManyRequests",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
# Codes that mean "the service had a transient problem", whatever HTTP status came with them.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
HTTP_TOO_MANY_REQUESTS = 429
HTTP_SERVER_ERROR = 500

ResponseT = TypeVar("ResponseT", bound=Mapping[str, Any])
RetryKind = Literal["throttled", "transient"]


class TraceSourceError(UserError):
    """A trace source could not deliver: the message names the operation and the cause, on one line."""


class XRayApiError(TraceSourceError):
    """An X-Ray API call failed for good (not retryable, or still failing after every retry)."""

    def __init__(
        self, operation: str, message: str, *, code: str | None = None, status: int | None = None
    ) -> None:
        self.operation = operation
        self.code = code
        self.status = status
        self.aws_message = message
        cause = f"{code}: {message}" if code else message
        super().__init__(f"X-Ray {operation} failed: {cause}")


@dataclass
class SourceStats:
    """The source's own work, so its cost is visible (X-Ray bills traces retrieved and scanned)."""

    api_calls: int = 0  # every request sent, throttled and failed ones included
    traces_retrieved: int = 0  # distinct traces BatchGetTraces returned
    traces_scanned: int = 0  # trace summaries GetTraceSummaries returned
    throttled_retries: int = 0  # requests repeated after a throttle (HTTP 429)
    transient_retries: int = 0  # requests repeated after a 5xx or a connection error
    unprocessed_retries: int = 0  # ids asked for again after coming back as UnprocessedTraceIds


@dataclass
class TraceBatch:
    traces: list[dict[str, Any]]  # BatchGetTraces `Traces` entries: {"Id", "Duration", "Segments": [...]}
    missing: list[str] = field(default_factory=list)  # asked for, not returned (unknown, or unprocessed)


class TraceSource(Protocol):
    stats: SourceStats

    def get_traces(self, trace_ids: Iterable[str]) -> TraceBatch: ...

    def find_trace_ids(
        self, start: datetime, end: datetime, filter_expression: str | None = None
    ) -> list[str]: ...


def default_xray_client() -> XRayClient:
    """An X-Ray client that makes exactly one attempt per call.

    botocore would otherwise retry throttles itself (its `max_attempts` counts *retries*, so
    `total_max_attempts` is the setting that means "one try"), and our counters would never see them.
    """
    # Imported here: boto3 takes ~150 ms to import, which offline `tracecanary analyze FILE` never needs.
    import boto3
    from botocore.config import Config

    client: XRayClient = boto3.client(
        "xray", config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    return client


class XRayTraceSource:
    """Fetches traces from AWS X-Ray with chunking, bounded concurrency, retries and cost counters.

    Pass a client built without botocore retries (see `default_xray_client`); a client that retries on its
    own still works, but its hidden retries are missing from `stats`.
    """

    def __init__(
        self,
        client: Any | None = None,
        *,
        max_workers: int = 4,
        max_attempts: int = 6,
        max_unprocessed_rounds: int = 3,
        base_delay: float = 0.2,
        max_delay: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_workers < 1 or max_attempts < 1 or max_unprocessed_rounds < 0:
            raise ValueError("max_workers and max_attempts must be >= 1, max_unprocessed_rounds >= 0")
        self._client: XRayClient = client if client is not None else _create_client()
        self._max_workers = max_workers
        self._max_attempts = max_attempts
        self._max_unprocessed_rounds = max_unprocessed_rounds
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()  # stats and rng are shared by the worker threads
        self.stats = SourceStats()

    # -- BatchGetTraces ---------------------------------------------------------------------------------

    def get_traces(self, trace_ids: Iterable[str]) -> TraceBatch:
        """The traces with these ids, in the order first asked for; what X-Ray did not return is `missing`."""
        if isinstance(trace_ids, str):  # one id, not its characters
            trace_ids = [trace_ids]
        distinct_ids = list(dict.fromkeys(trace_id for trace_id in trace_ids if trace_id))
        chunks = [
            distinct_ids[start : start + BATCH_GET_TRACES_MAX_IDS]
            for start in range(0, len(distinct_ids), BATCH_GET_TRACES_MAX_IDS)
        ]
        if len(chunks) <= 1 or self._max_workers == 1:
            results = [self._get_chunk(chunk) for chunk in chunks]
        else:
            results = self._get_chunks_concurrently(chunks)
        batch = TraceBatch(traces=[], missing=[])
        for traces, missing in results:
            batch.traces.extend(traces)
            batch.missing.extend(missing)
        return batch

    def _get_chunks_concurrently(
        self, chunks: Sequence[list[str]]
    ) -> list[tuple[list[dict[str, Any]], list[str]]]:
        pool = ThreadPoolExecutor(
            max_workers=min(self._max_workers, len(chunks)), thread_name_prefix="xray-batch-get-traces"
        )
        try:
            futures = [pool.submit(self._get_chunk, chunk) for chunk in chunks]
            return [future.result() for future in futures]
        finally:
            # On the first failure, drop the chunks not started yet rather than spend more calls.
            pool.shutdown(wait=True, cancel_futures=True)

    def _get_chunk(self, chunk: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        traces_by_id: dict[str, dict[str, Any]] = {}
        pending = chunk
        for round_number in range(self._max_unprocessed_rounds + 1):
            if round_number:
                with self._lock:
                    self.stats.unprocessed_retries += len(pending)
                self._sleep(self._backoff_delay(round_number))
            unprocessed = self._get_all_pages(pending, traces_by_id)
            # Only ids X-Ray handed back are worth asking again; absent ones are unknown to it.
            pending = [
                trace_id for trace_id in pending if trace_id in unprocessed and trace_id not in traces_by_id
            ]
            if not pending:
                break
        missing = [trace_id for trace_id in chunk if trace_id not in traces_by_id]
        with self._lock:
            self.stats.traces_retrieved += len(traces_by_id)
        in_order = [traces_by_id.pop(trace_id) for trace_id in chunk if trace_id in traces_by_id]
        return in_order + list(traces_by_id.values()), missing  # X-Ray's extras, if ever, last

    def _get_all_pages(self, trace_ids: list[str], traces_by_id: dict[str, dict[str, Any]]) -> set[str]:
        """Follow NextToken through every page for these ids; returns the ids X-Ray left unprocessed."""

        def fetch(next_token: str | None) -> Mapping[str, Any]:
            if next_token is None:
                return self._client.batch_get_traces(TraceIds=trace_ids)
            return self._client.batch_get_traces(TraceIds=trace_ids, NextToken=next_token)

        unprocessed: set[str] = set()
        for page in self._pages("BatchGetTraces", fetch):
            for trace in page.get("Traces") or []:
                _merge_trace(traces_by_id, trace)
            unprocessed.update(page.get("UnprocessedTraceIds") or [])
        return unprocessed

    # -- GetTraceSummaries ------------------------------------------------------------------------------

    def find_trace_ids(
        self,
        start: datetime,
        end: datetime,
        filter_expression: str | None = None,
        *,
        time_range_type: TimeRangeTypeType = "TraceId",
    ) -> list[str]:
        """Distinct ids of the traces in [start, end), newest first as X-Ray pages them.

        Naive datetimes are taken as UTC (botocore's rule). Every summary returned counts as scanned.
        """
        if end <= start:
            raise ValueError(f"the time range is empty: start {start.isoformat()} >= end {end.isoformat()}")
        # Sent only when given: a blank expression is an error for X-Ray, and moto refuses any.
        expression = filter_expression.strip() if filter_expression else ""

        def fetch(next_token: str | None) -> Mapping[str, Any]:
            request: dict[str, Any] = {"StartTime": start, "EndTime": end, "TimeRangeType": time_range_type}
            if expression:
                request["FilterExpression"] = expression
            if next_token is not None:
                request["NextToken"] = next_token
            return self._client.get_trace_summaries(**request)

        trace_ids: dict[str, None] = {}
        for page in self._pages("GetTraceSummaries", fetch):
            summaries = page.get("TraceSummaries") or []
            with self._lock:
                self.stats.traces_scanned += len(summaries)
            for summary in summaries:
                trace_id = summary.get("Id")
                if isinstance(trace_id, str) and trace_id:
                    trace_ids[trace_id] = None
        return list(trace_ids)

    # -- calls, pages, retries --------------------------------------------------------------------------

    def _pages(self, operation: str, fetch: Callable[[str | None], ResponseT]) -> Iterator[ResponseT]:
        """Every page of one request, each page fetched with retries."""
        next_token: str | None = None
        tokens_seen: set[str] = set()
        while True:
            page = self._call_with_retries(operation, functools.partial(fetch, next_token))
            yield page
            next_token = page.get("NextToken") or None
            if next_token is None:
                return
            if next_token in tokens_seen:  # a service bug must not become an endless, billed loop
                raise XRayApiError(operation, f"returned the page token {next_token!r} twice")
            tokens_seen.add(next_token)

    def _call_with_retries(self, operation: str, call: Callable[[], ResponseT]) -> ResponseT:
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = call()
            except ClientError as error:
                self._count_request()
                kind = _retry_kind(error)
                if kind is None:
                    raise _api_error(operation, error) from error
                failure: Exception = error
            except (ConnectionError, HTTPClientError) as error:
                self._count_request()
                kind, failure = "transient", error
            except (
                BotoCoreError
            ) as error:  # before any request: no credentials, bad parameter; retry won't help
                raise XRayApiError(operation, str(error)) from error
            else:
                self._count_request()
                return response
            if attempt == self._max_attempts:
                give_up = _api_error(operation, failure, note=f"still failing after {attempt} attempts")
                raise give_up from failure
            with self._lock:
                if kind == "throttled":
                    self.stats.throttled_retries += 1
                else:
                    self.stats.transient_retries += 1
            self._sleep(self._backoff_delay(attempt))
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _count_request(self) -> None:
        with self._lock:
            self.stats.api_calls += 1

    def _backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(max_delay, base * 2^(attempt-1))]."""
        ceiling = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
        with self._lock:
            return self._rng.uniform(0.0, ceiling)


def _create_client() -> XRayClient:
    try:
        return default_xray_client()
    except BotoCoreError as error:  # typically NoRegionError
        raise TraceSourceError(f"cannot create an X-Ray client: {error}") from error


def _merge_trace(traces_by_id: dict[str, dict[str, Any]], trace: Mapping[str, Any]) -> None:
    """Add one returned trace; a trace seen on an earlier page gains the segments it did not have yet."""
    segments = [dict(segment) for segment in trace.get("Segments") or []]
    trace_id = trace.get("Id")
    if not isinstance(trace_id, str) or not trace_id:
        trace_id = _trace_id_of_documents(segments)
        if trace_id is None:
            return
        trace = {**trace, "Id": trace_id}
    known = traces_by_id.get(trace_id)
    if known is None:
        traces_by_id[trace_id] = {**trace, "Segments": segments}
        return
    known_segment_ids = {segment.get("Id") for segment in known["Segments"]}
    known["Segments"].extend(segment for segment in segments if segment.get("Id") not in known_segment_ids)


def _trace_id_of_documents(segments: list[dict[str, Any]]) -> str | None:
    """The trace id in its documents, for an entry without `Id` (moto, while a trace is in progress)."""
    for segment in segments:
        document = segment.get("Document")
        try:
            parsed = json.loads(document) if isinstance(document, str) else document
        except ValueError:
            continue
        trace_id = parsed.get("trace_id") if isinstance(parsed, dict) else None
        if isinstance(trace_id, str) and trace_id:
            return trace_id
    return None


def _retry_kind(error: ClientError) -> RetryKind | None:
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in THROTTLING_ERROR_CODES or status == HTTP_TOO_MANY_REQUESTS:
        return "throttled"
    if code in TRANSIENT_ERROR_CODES or status >= HTTP_SERVER_ERROR:
        return "transient"
    return None


def _api_error(operation: str, error: Exception, *, note: str | None = None) -> XRayApiError:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = details.get("Code") or None
        message = details.get("Message") or str(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    else:
        code, message, status = None, str(error), None
    if note:
        message = f"{message} ({note})"
    return XRayApiError(operation, message, code=code, status=status)
