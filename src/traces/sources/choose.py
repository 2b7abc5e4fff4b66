"""Which trace source an account needs: `auto` asks X-Ray where its spans go, once per process.

`GetTraceSegmentDestination` answers `Destination` `XRay` or `CloudWatchLogs` (Transaction Search) and
`Status` `PENDING` or `ACTIVE`. Only an active switch to CloudWatch Logs means `BatchGetTraces` no longer
finds most traces; anything else reads the X-Ray index. `xray` and `transaction-search` skip the question
(no permission needed for it then).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from traces.sources.base import TraceSource, TraceSourceError, XRayApiError, XRayCalls, create_client

TraceSourceSetting = Literal["auto", "xray", "transaction-search"]
TRACE_SOURCE_SETTINGS: tuple[TraceSourceSetting, ...] = ("auto", "xray", "transaction-search")
DESTINATIONS = ("XRay", "CloudWatchLogs")
STATUSES = ("PENDING", "ACTIVE")


@dataclass(frozen=True)
class SegmentDestination:
    destination: str
    status: str

    @property
    def is_transaction_search(self) -> bool:
        return self.destination == "CloudWatchLogs" and self.status == "ACTIVE"


# One answer per process (a Lambda execution environment): the destination changes rarely, and the
# question is a billed, throttled call.
_answers: dict[tuple[str, str], SegmentDestination] = {}
_answers_lock = threading.Lock()


def segment_destination(calls: XRayCalls) -> SegmentDestination:
    """Where the account's spans go, asked once per process and endpoint; a clear error where it cannot
    be told (a missing permission, an unknown answer)."""
    meta = getattr(calls.client, "meta", None)
    key = (str(getattr(meta, "region_name", "")), str(getattr(meta, "endpoint_url", "")))
    with _answers_lock:
        known = _answers.get(key)
    if known is not None:
        return known
    try:
        response = calls.call("GetTraceSegmentDestination", calls.client.get_trace_segment_destination)
    except XRayApiError as error:
        raise TraceSourceError(
            f"cannot tell where this account's traces go: {error}; or choose the trace source yourself "
            "(template parameter TraceSource, or --trace-source) as xray or transaction-search"
        ) from error
    destination, status = response.get("Destination"), response.get("Status")
    if destination not in DESTINATIONS or status not in STATUSES:
        raise TraceSourceError(
            f"GetTraceSegmentDestination answered Destination {destination!r}, Status {status!r}, which "
            "tracecanary does not know; set the trace source (template parameter TraceSource, or "
            "--trace-source) to xray or transaction-search"
        )
    answer = SegmentDestination(str(destination), str(status))
    with _answers_lock:
        _answers[key] = answer
    return answer


def forget_segment_destinations() -> None:
    """Ask again next time (tests, and a long-running process after the account switched)."""
    with _answers_lock:
        _answers.clear()


def trace_source(
    setting: str,
    client: Any | None = None,
    *,
    xray_options: dict[str, Any] | None = None,
    retrieval_options: dict[str, Any] | None = None,
    **options: Any,
) -> TraceSource:
    """The source for this setting; `options` (retries, sleep, rng: what both take) go to its constructor,
    `xray_options` only to the X-Ray source's, `retrieval_options` only to Transaction Search's."""
    if setting not in TRACE_SOURCE_SETTINGS:
        raise TraceSourceError(
            f"trace source {setting!r}: expected one of {', '.join(TRACE_SOURCE_SETTINGS)}"
        )
    client = client if client is not None else create_client()
    asked = None
    if setting == "auto":
        asked = XRayCalls(client)
        setting = "transaction-search" if segment_destination(asked).is_transaction_search else "xray"
    source: TraceSource
    if setting == "transaction-search":
        from traces.sources.transaction_search import TransactionSearchTraceSource

        source = TransactionSearchTraceSource(client, **options, **(retrieval_options or {}))
    else:
        from traces.sources.xray import XRayTraceSource

        source = XRayTraceSource(client, **options, **(xray_options or {}))
    if asked is not None:
        _add_stats(source, asked)  # the question is part of what reading traces cost
    return source


def _add_stats(source: TraceSource, asked: XRayCalls) -> None:
    source.stats.api_calls += asked.stats.api_calls
    source.stats.throttled_retries += asked.stats.throttled_retries
    source.stats.transient_retries += asked.stats.transient_retries
    for operation, count in asked.stats.calls_by_operation.items():
        source.stats.calls_by_operation[operation] = source.stats.calls_by_operation.get(operation, 0) + count
