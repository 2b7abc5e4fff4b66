"""What every trace source shares: the `TraceSource` interface, its results and cost counters, and the calls.

The analysis never calls AWS itself; it takes what a `TraceSource` returns (`BatchGetTraces`-shaped trace
dicts: `{"Id", "Duration", "Segments": [{"Id", "Document"}]}`), whichever API the traces came through: the
X-Ray index (`traces.sources.xray`) or CloudWatch Transaction Search's retrieval
(`traces.sources.transaction_search`).

Facts both are built around (DESIGN.md, "Where traces are read from"):
- every X-Ray API throttles with HTTP 429 (`ThrottledException`); 5xx and connection errors are transient;
- X-Ray bills traces retrieved and scanned ($0.50 per million), so every call and trace is counted in
  `SourceStats`, calls by operation too;
- the client makes one attempt a call: retries (exponential backoff, full jitter) are ours, so they are
  counted.
"""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from common.errors import UserError

if TYPE_CHECKING:
    from mypy_boto3_xray.client import XRayClient

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
# A missing permission: said as what to grant, never retried.
ACCESS_DENIED_ERROR_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
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
        if code in ACCESS_DENIED_ERROR_CODES:
            cause += f" (grant xray:{operation} to the caller)"
        super().__init__(f"X-Ray {operation} failed: {cause}")


@dataclass
class SourceStats:
    """The source's own work, so its cost is visible (X-Ray bills traces retrieved and scanned)."""

    api_calls: int = 0  # every request sent, throttled and failed ones included
    traces_retrieved: int = 0  # distinct traces returned by BatchGetTraces or ListRetrievedTraces
    traces_scanned: int = 0  # trace summaries GetTraceSummaries returned
    throttled_retries: int = 0  # requests repeated after a throttle (HTTP 429)
    transient_retries: int = 0  # requests repeated after a 5xx or a connection error
    unprocessed_retries: int = 0  # ids asked for again after coming back as UnprocessedTraceIds
    calls_by_operation: dict[str, int] = field(default_factory=dict)  # api_calls, by X-Ray operation

    def snapshot(self) -> SourceStats:
        """A copy, to take the difference of a later state from (`since`)."""
        return SourceStats(
            **{name: getattr(self, name) for name in _COUNTERS},
            calls_by_operation=dict(self.calls_by_operation),
        )

    def since(self, earlier: SourceStats) -> SourceStats:
        """The work done after `earlier` (a `snapshot`)."""
        by_operation = {
            operation: count - earlier.calls_by_operation.get(operation, 0)
            for operation, count in self.calls_by_operation.items()
            if count - earlier.calls_by_operation.get(operation, 0)
        }
        return SourceStats(
            **{name: getattr(self, name) - getattr(earlier, name) for name in _COUNTERS},
            calls_by_operation=by_operation,
        )


_COUNTERS = (
    "api_calls",
    "traces_retrieved",
    "traces_scanned",
    "throttled_retries",
    "transient_retries",
    "unprocessed_retries",
)


@dataclass
class TraceBatch:
    traces: list[dict[str, Any]]  # BatchGetTraces `Traces` entries: {"Id", "Duration", "Segments": [...]}
    missing: list[str] = field(default_factory=list)  # asked for, not returned (unknown, or unprocessed)
    # Asked for, and their retrieval was still running when the caller's time ran out (Transaction Search):
    # neither found nor missing yet. Also in `missing`, for callers that do not tell the two apart.
    pending: list[str] = field(default_factory=list)


TimeRange = tuple[datetime, datetime]


class TraceSource(Protocol):
    """Traces by id, and ids by time. `name` says which API, for messages ("X-Ray", "Transaction Search")."""

    name: str
    stats: SourceStats

    def get_traces(
        self,
        trace_ids: Iterable[str],
        *,
        time_range: TimeRange | None = None,
        deadline: float | None = None,
    ) -> TraceBatch:
        """The traces with these ids; `time_range` where the caller knows when they started (Transaction
        Search needs one; without it the ids' own timestamps give it); `deadline` a `time.monotonic()` value
        the source must return by (a Lambda's remaining time)."""
        ...

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


def create_client() -> XRayClient:
    try:
        return default_xray_client()
    except BotoCoreError as error:  # typically NoRegionError
        raise TraceSourceError(f"cannot create an X-Ray client: {error}") from error


class XRayCalls:
    """Calls to the X-Ray API with retries and counters, shared by the sources (thread-safe)."""

    def __init__(
        self,
        client: Any,
        *,
        max_attempts: int = 6,
        base_delay: float = 0.2,
        max_delay: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.client = client
        self.stats = SourceStats()
        self.sleep = sleep
        self.clock = clock
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._rng = rng or random.Random()
        self._lock = threading.Lock()  # stats and rng are shared by worker threads

    def count(self, name: str, amount: int) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + amount)

    def pages(
        self, operation: str, fetch: Callable[[str | None], ResponseT], *, deadline: float | None = None
    ) -> Iterator[ResponseT]:
        """Every page of one request, each page fetched with retries."""
        next_token: str | None = None
        tokens_seen: set[str] = set()
        while True:
            page = self.call(operation, functools.partial(fetch, next_token), deadline=deadline)
            yield page
            next_token = page.get("NextToken") or None
            if next_token is None:
                return
            if next_token in tokens_seen:  # a service bug must not become an endless, billed loop
                raise XRayApiError(operation, f"returned the page token {next_token!r} twice")
            tokens_seen.add(next_token)

    def call(
        self, operation: str, call: Callable[[], ResponseT], *, deadline: float | None = None
    ) -> ResponseT:
        """One request, retried after throttles and transient errors (never past `deadline`, a `clock()`
        value)."""
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = call()
            except ClientError as error:
                self._count_request(operation)
                kind = retry_kind(error)
                if kind is None:
                    raise api_error(operation, error) from error
                failure: Exception = error
            except (ConnectionError, HTTPClientError) as error:
                self._count_request(operation)
                kind, failure = "transient", error
            except BotoCoreError as error:
                # Before any request (no credentials, a bad parameter): a retry would not help.
                raise XRayApiError(operation, str(error)) from error
            else:
                self._count_request(operation)
                return response
            delay = self.backoff_delay(attempt)
            out_of_time = deadline is not None and self.clock() + delay > deadline
            if attempt == self._max_attempts or out_of_time:
                note = "no time left to retry" if out_of_time else f"still failing after {attempt} attempts"
                raise api_error(operation, failure, note=note) from failure
            self.count("throttled_retries" if kind == "throttled" else "transient_retries", 1)
            self.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _count_request(self, operation: str) -> None:
        with self._lock:
            self.stats.api_calls += 1
            calls = self.stats.calls_by_operation
            calls[operation] = calls.get(operation, 0) + 1

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(max_delay, base * 2^(attempt-1))]."""
        ceiling = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
        with self._lock:
            return self._rng.uniform(0.0, ceiling)

    def find_trace_ids(
        self,
        start: datetime,
        end: datetime,
        filter_expression: str | None = None,
        *,
        time_range_type: str = "TraceId",
    ) -> list[str]:
        """`GetTraceSummaries`: distinct ids of the traces in [start, end), newest first as X-Ray pages them.

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
            response: Mapping[str, Any] = self.client.get_trace_summaries(**request)
            return response

        trace_ids: dict[str, None] = {}
        for page in self.pages("GetTraceSummaries", fetch):
            summaries = page.get("TraceSummaries") or []
            self.count("traces_scanned", len(summaries))
            for summary in summaries:
                trace_id = summary.get("Id")
                if isinstance(trace_id, str) and trace_id:
                    trace_ids[trace_id] = None
        return list(trace_ids)


def distinct_ids(trace_ids: Iterable[str]) -> list[str]:
    """The ids in the order first given, without repeats or blanks (one id given as a str is one id)."""
    if isinstance(trace_ids, str):
        trace_ids = [trace_ids]
    return list(dict.fromkeys(trace_id for trace_id in trace_ids if trace_id))


def merge_trace(
    traces_by_id: dict[str, dict[str, Any]], trace: Mapping[str, Any], *, segments_key: str = "Segments"
) -> None:
    """Add one returned trace; a trace seen on an earlier page gains the segments it did not have yet.

    `segments_key` names the list in the answer (`Spans` in ListRetrievedTraces); the result's is
    `Segments` either way.
    """
    segments = [dict(segment) for segment in trace.get(segments_key) or []]
    trace_id = trace.get("Id")
    if not isinstance(trace_id, str) or not trace_id:
        trace_id = _trace_id_of_documents(segments)
        if trace_id is None:
            return
    known = traces_by_id.get(trace_id)
    if known is None:
        entry = {key: value for key, value in trace.items() if key != segments_key}
        traces_by_id[trace_id] = {**entry, "Id": trace_id, "Segments": segments}
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


def retry_kind(error: ClientError) -> RetryKind | None:
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in THROTTLING_ERROR_CODES or status == HTTP_TOO_MANY_REQUESTS:
        return "throttled"
    if code in TRANSIENT_ERROR_CODES or status >= HTTP_SERVER_ERROR:
        return "transient"
    return None


def api_error(operation: str, error: Exception, *, note: str | None = None) -> XRayApiError:
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
