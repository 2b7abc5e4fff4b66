"""A stand-in for CloudWatch Transaction Search in front of the moto server (moto implements none of it).

It answers X-Ray's Transaction Search operations as AWS documents them (DESIGN.md, "Where traces are read
from"), from the segments moto stores:
- `GetTraceSegmentDestination` / `UpdateTraceSegmentDestination`: the account's destination, `XRay` or
  `CloudWatchLogs`, and its status;
- `StartTraceRetrieval`: 1 to 100 distinct trace ids and a time range (`InvalidRequestException` otherwise);
  returns a `RetrievalToken`;
- `ListRetrievedTraces`: the retrieval moves from `SCHEDULED` through `RUNNING` to `COMPLETE` after set
  delays (`TIMEOUT` after 60 minutes, `CANCELLED` after `CancelTraceRetrieval`); `Traces` stay empty until
  COMPLETE, then come 5 a page with a `NextToken`, each `{Id, Duration, Spans: [{Id, Document}]}`, only
  the traces with a segment that starts inside the range; `TraceFormat` must be `XRAY` or `OTEL`. An
  unknown token is `ResourceNotFoundException`;
- documents come back as Transaction Search returns them, converted to spans and back: extra annotations
  `aws:span.name` and `aws:span.kind`, metadata `aws.xray.origin` and OpenTelemetry resource attributes;
- on a `CloudWatchLogs` account, `BatchGetTraces` and `GetTraceSummaries` see only the indexed share of
  traces (1 % by default, chosen by a hash of the trace id, as a fixed sampling rule would);
- with `requests_per_second` set, the three retrieval operations answer `ThrottledException` (HTTP 429)
  beyond that rate.
Not reproduced: `TraceFormat` `OTEL` is accepted but answered in the XRAY form; the `aws/spans` log group;
the indexing rules of `UpdateIndexingRule`; IAM (every request is allowed, as everywhere in moto).
"""

import hashlib
import io
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

MAX_TRACE_IDS = 100
TRACES_PER_PAGE = 5
RETRIEVAL_TIMEOUT_SECONDS = 3600.0
DESTINATIONS = ("XRay", "CloudWatchLogs")
TRACE_FORMATS = ("XRAY", "OTEL")
_OPERATIONS = {
    "/GetTraceSegmentDestination": "GetTraceSegmentDestination",
    "/UpdateTraceSegmentDestination": "UpdateTraceSegmentDestination",
    "/StartTraceRetrieval": "StartTraceRetrieval",
    "/ListRetrievedTraces": "ListRetrievedTraces",
    "/CancelTraceRetrieval": "CancelTraceRetrieval",
}
_THROTTLED = frozenset({"StartTraceRetrieval", "ListRetrievedTraces", "CancelTraceRetrieval"})
_INDEXED_PATHS = ("/Traces", "/TraceSummaries")  # BatchGetTraces, GetTraceSummaries


class _AwsError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class _Retrieval:
    trace_ids: list[str]
    start: float
    end: float
    started_at: float
    cancelled: bool = False
    traces: list[dict[str, Any]] | None = None  # read from moto once COMPLETE
    page_tokens: dict[str, int] = field(default_factory=dict)


class LocalTransactionSearch:
    """The account's trace destination and its retrievals, as a WSGI middleware over moto (thread-safe)."""

    def __init__(
        self,
        *,
        destination: str = "XRay",
        status: str = "ACTIVE",
        indexing_percent: float = 1.0,
        scheduled_seconds: float = 0.2,
        running_seconds: float = 0.6,
        requests_per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self.destination, self.status, self.indexing_percent = "XRay", "ACTIVE", 1.0
        self._rate: float | None = None
        self.configure(
            destination=destination,
            status=status,
            indexing_percent=indexing_percent,
            requests_per_second=requests_per_second,
        )
        self._scheduled = scheduled_seconds
        self._running = running_seconds
        self._clock = clock
        self._retrievals: dict[str, _Retrieval] = {}
        self._recent: list[float] = []  # times of the throttled operations' requests in the last second
        self.requests: dict[str, int] = {}  # operation -> requests answered here (for tests and the demo)

    def configure(
        self,
        *,
        destination: str = "XRay",
        status: str = "ACTIVE",
        indexing_percent: float = 1.0,
        requests_per_second: float | None = None,
    ) -> None:
        """Make the account a classic one (`XRay`) or a Transaction Search one (`CloudWatchLogs`); with
        `requests_per_second`, the retrieval operations throttle beyond that rate."""
        if destination not in DESTINATIONS:
            raise ValueError(f"destination {destination!r}: expected one of {', '.join(DESTINATIONS)}")
        if not 0.0 <= indexing_percent <= 100.0:
            raise ValueError(f"indexing_percent {indexing_percent}: expected 0 to 100")
        with self._lock:
            self.destination, self.status, self.indexing_percent = destination, status, indexing_percent
            self._rate = requests_per_second
        # This process may have asked the old destination already (the answer is kept per process).
        from traces.sources.choose import forget_segment_destinations

        forget_segment_destinations()

    def reset(self) -> None:
        """A classic account with no retrievals (an emptied emulator)."""
        self.configure()
        with self._lock:
            self._retrievals.clear()
            self._recent.clear()
            self.requests.clear()

    def is_indexed(self, trace_id: str) -> bool:
        """Whether `BatchGetTraces` finds this trace: the indexed share, by a stable hash of its id."""
        if self.destination != "CloudWatchLogs":
            return True
        bucket = int.from_bytes(hashlib.sha256(trace_id.encode()).digest()[:4], "big") % 10_000
        return bucket < self.indexing_percent * 100

    def middleware(self, app: WsgiApp) -> WsgiApp:
        def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if "/xray/" not in environ.get("HTTP_AUTHORIZATION", ""):
                return app(environ, start_response)
            path = environ.get("PATH_INFO", "")
            operation = _OPERATIONS.get(path)
            if operation is not None:
                return self._answer(operation, environ, app, start_response)
            if path in _INDEXED_PATHS and self.destination == "CloudWatchLogs":
                return self._indexed_only(path, environ, app, start_response)
            return app(environ, start_response)

        return handle

    # -- the operations -----------------------------------------------------------------------------------

    def _answer(
        self, operation: str, environ: dict[str, Any], app: WsgiApp, start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            body = _json_body(environ)
            with self._lock:
                self.requests[operation] = self.requests.get(operation, 0) + 1
                if operation in _THROTTLED:
                    self._throttle()
            if operation == "GetTraceSegmentDestination":
                answer: dict[str, Any] = {"Destination": self.destination, "Status": self.status}
            elif operation == "UpdateTraceSegmentDestination":
                answer = self._update_destination(body)
            elif operation == "StartTraceRetrieval":
                answer = self._start(body)
            elif operation == "ListRetrievedTraces":
                answer = self._list(body, lambda ids: _moto_traces(app, environ, ids))
            else:
                answer = self._cancel(body)
        except _AwsError as error:
            return _respond(
                start_response, error.status, {"__type": error.code, "message": error.message}, error.code
            )
        return _respond(start_response, 200, answer)

    def _throttle(self) -> None:
        """Called with the lock held."""
        if self._rate is None:
            return
        now = self._clock()
        self._recent = [moment for moment in self._recent if now - moment < 1.0]
        if len(self._recent) >= self._rate:
            raise _AwsError(429, "ThrottledException", "Rate exceeded")
        self._recent.append(now)

    def _update_destination(self, body: dict[str, Any]) -> dict[str, Any]:
        destination = body.get("Destination")
        if destination not in DESTINATIONS:
            raise _AwsError(
                400, "InvalidRequestException", f"Destination must be one of {', '.join(DESTINATIONS)}"
            )
        self.destination, self.status = str(destination), "ACTIVE"
        return {"Destination": self.destination, "Status": self.status}

    def _start(self, body: dict[str, Any]) -> dict[str, Any]:
        trace_ids = body.get("TraceIds")
        if not isinstance(trace_ids, list) or not all(isinstance(trace_id, str) for trace_id in trace_ids):
            raise _AwsError(400, "InvalidRequestException", "TraceIds must be a list of trace ids")
        distinct = list(dict.fromkeys(trace_ids))
        if not 1 <= len(distinct) <= MAX_TRACE_IDS:
            raise _AwsError(
                400,
                "InvalidRequestException",
                f"TraceIds must hold 1 to {MAX_TRACE_IDS} ids, got {len(distinct)}",
            )
        start, end = body.get("StartTime"), body.get("EndTime")
        if not isinstance(start, int | float) or not isinstance(end, int | float):
            raise _AwsError(400, "InvalidRequestException", "StartTime and EndTime are required")
        if end <= start:
            raise _AwsError(400, "InvalidRequestException", "EndTime must be after StartTime")
        token = secrets.token_hex(16)
        with self._lock:
            self._retrievals[token] = _Retrieval(distinct, float(start), float(end), self._clock())
        return {"RetrievalToken": token}

    def _status(self, retrieval: _Retrieval) -> str:
        if retrieval.cancelled:
            return "CANCELLED"
        elapsed = self._clock() - retrieval.started_at
        if elapsed >= RETRIEVAL_TIMEOUT_SECONDS and retrieval.traces is None:
            return "TIMEOUT"
        if elapsed < self._scheduled:
            return "SCHEDULED"
        if elapsed < self._scheduled + self._running:
            return "RUNNING"
        return "COMPLETE"

    def _list(
        self, body: dict[str, Any], read: Callable[[list[str]], list[dict[str, Any]]]
    ) -> dict[str, Any]:
        retrieval = self._retrieval(body)
        trace_format = body.get("TraceFormat", "XRAY")
        if trace_format not in TRACE_FORMATS:
            raise _AwsError(
                400, "InvalidRequestException", f"TraceFormat must be one of {', '.join(TRACE_FORMATS)}"
            )
        status = self._status(retrieval)
        answer: dict[str, Any] = {"RetrievalStatus": status, "TraceFormat": trace_format, "Traces": []}
        if status != "COMPLETE":
            return answer
        with self._lock:
            if retrieval.traces is None:
                retrieval.traces = [
                    _as_retrieved(trace)
                    for trace in read(retrieval.trace_ids)
                    if _starts_within(trace, retrieval.start, retrieval.end)
                ]
            next_token = body.get("NextToken")
            first = 0
            if next_token is not None:
                if next_token not in retrieval.page_tokens:
                    raise _AwsError(
                        400, "InvalidRequestException", "NextToken is not valid for this retrieval"
                    )
                first = retrieval.page_tokens[next_token]
            page = retrieval.traces[first : first + TRACES_PER_PAGE]
            if first + TRACES_PER_PAGE < len(retrieval.traces):
                token = secrets.token_hex(8)
                retrieval.page_tokens[token] = first + TRACES_PER_PAGE
                answer["NextToken"] = token
        answer["Traces"] = page
        return answer

    def _cancel(self, body: dict[str, Any]) -> dict[str, Any]:
        self._retrieval(body).cancelled = True
        return {}

    def _retrieval(self, body: dict[str, Any]) -> _Retrieval:
        token = body.get("RetrievalToken")
        with self._lock:
            retrieval = self._retrievals.get(token) if isinstance(token, str) else None
        if retrieval is None:
            raise _AwsError(404, "ResourceNotFoundException", "RetrievalToken not found")
        return retrieval

    # -- the index ----------------------------------------------------------------------------------------

    def _indexed_only(
        self, path: str, environ: dict[str, Any], app: WsgiApp, start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """moto's answer, less the traces the index does not hold (absent, as AWS leaves them)."""
        status, headers, body = _call(app, environ)
        if not status.startswith("200"):
            start_response(status, headers)
            return [body]
        answer = json.loads(body)
        if path == "/Traces":
            answer["Traces"] = [
                trace for trace in answer.get("Traces", []) if self.is_indexed(str(trace.get("Id")))
            ]
            answer["UnprocessedTraceIds"] = [
                trace_id for trace_id in answer.get("UnprocessedTraceIds", []) if self.is_indexed(trace_id)
            ]
        else:
            answer["TraceSummaries"] = [
                summary
                for summary in answer.get("TraceSummaries", [])
                if self.is_indexed(str(summary.get("Id")))
            ]
        return _respond(start_response, 200, answer)


def _moto_traces(app: WsgiApp, environ: dict[str, Any], trace_ids: list[str]) -> list[dict[str, Any]]:
    """The traces moto holds for these ids (its BatchGetTraces, asked directly: it has no 5-id limit)."""
    status, _, body = _call(app, environ, path="/Traces", body={"TraceIds": trace_ids})
    if not status.startswith("200"):
        raise _AwsError(500, "InternalFailure", f"the local X-Ray answered {status}")
    traces: list[dict[str, Any]] = json.loads(body).get("Traces", [])
    return traces


def _starts_within(trace: dict[str, Any], start: float, end: float) -> bool:
    for segment in trace.get("Segments", []):
        try:
            document = json.loads(segment.get("Document", "{}"))
        except ValueError:
            continue
        moment = document.get("start_time") if isinstance(document, dict) else None
        if isinstance(moment, int | float) and start <= moment <= end:
            return True
    return False


def _as_retrieved(trace: dict[str, Any]) -> dict[str, Any]:
    """A moto trace as ListRetrievedTraces returns it: `Spans`, documents with Transaction Search's keys."""
    spans = []
    for segment in trace.get("Segments", []):
        try:
            document = json.loads(segment.get("Document", "{}"))
        except ValueError:
            continue
        if isinstance(document, dict):
            _add_span_keys(document, "SERVER")
            spans.append({"Id": segment.get("Id"), "Document": json.dumps(document)})
    return {"Id": trace.get("Id"), "Duration": trace.get("Duration", 0), "Spans": spans}


def _add_span_keys(part: dict[str, Any], kind: str) -> None:
    annotations = part.setdefault("annotations", {})
    if isinstance(annotations, dict):
        annotations.setdefault("aws:span.name", str(part.get("name", "")))
        annotations.setdefault("aws:span.kind", kind)
    metadata = part.setdefault("metadata", {})
    if isinstance(metadata, dict):
        extra = metadata.setdefault("default", {})
        if isinstance(extra, dict):
            if "origin" in part:
                extra.setdefault("aws.xray.origin", part["origin"])
            extra.setdefault("otel.resource.cloud.provider", "aws")
    for child in part.get("subsegments") or []:
        if isinstance(child, dict):
            _add_span_keys(child, "CLIENT" if child.get("namespace") == "aws" else "INTERNAL")


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        raise _AwsError(400, "InvalidRequestException", "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise _AwsError(400, "InvalidRequestException", "the request body is not a JSON object")
    return body


def _call(
    app: WsgiApp, environ: dict[str, Any], *, path: str | None = None, body: dict[str, Any] | None = None
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Ask the wrapped app (moto): the same request, or one to another path with another JSON body."""
    request = dict(environ)
    if path is not None:
        payload = json.dumps(body or {}).encode()
        request.update(
            PATH_INFO=path,
            RAW_URI=path,
            REQUEST_URI=path,
            QUERY_STRING="",
            REQUEST_METHOD="POST",
            CONTENT_LENGTH=str(len(payload)),
            CONTENT_TYPE="application/json",
        )
        request["wsgi.input"] = io.BytesIO(payload)
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured.update(status=status, headers=headers)
        return lambda _data: None

    chunks = app(request, capture)
    try:
        data = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    headers = [(name, value) for name, value in captured["headers"] if name.lower() != "content-length"]
    return str(captured["status"]), headers, data


def _respond(
    start_response: Callable[..., Any], status: int, body: dict[str, Any], error_type: str | None = None
) -> list[bytes]:
    payload = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    if error_type is not None:
        headers.append(("x-amzn-ErrorType", error_type))
    reasons = {
        200: "OK",
        400: "Bad Request",
        404: "Not Found",
        429: "Too Many Requests",
        500: "Internal Server Error",
    }
    start_response(f"{status} {reasons.get(status, '')}".strip(), headers)
    return [payload]
