"""Traces from CloudWatch Transaction Search: `StartTraceRetrieval`, then `ListRetrievedTraces` until done.

On an account whose spans go to Transaction Search (`GetTraceSegmentDestination` says `CloudWatchLogs`),
`BatchGetTraces` finds only the indexed share of traces (1 % by default). Every trace can be read by id
through the retrieval API instead (DESIGN.md, "Where traces are read from"):
- `StartTraceRetrieval(TraceIds, StartTime, EndTime)`: at most 100 distinct ids; the time range bounds the
  spans searched, so it must cover when the traces ran; returns a `RetrievalToken`.
- `ListRetrievedTraces(RetrievalToken, TraceFormat, NextToken)`: `RetrievalStatus` SCHEDULED, RUNNING,
  COMPLETE, FAILED, CANCELLED or TIMEOUT; `Traces` stay empty until COMPLETE, then come at most 5 a page,
  each `{Id, Duration, Spans: [{Id, Document}]}` (`Spans`, not `Segments`); with `TraceFormat` XRAY each
  `Document` is an X-Ray segment document. A retrieval times out after 60 minutes.
- Both throttle (HTTP 429) and are retried with jitter (`traces.sources.base`); each poll is a request,
  counted in `SourceStats.calls_by_operation` like every other.
A retrieval still running when the caller's time is up leaves its ids `pending`, so a caller can come back
later instead of calling them missing.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from traces.sources.base import (
    TimeRange,
    TraceBatch,
    XRayApiError,
    XRayCalls,
    create_client,
    distinct_ids,
    merge_trace,
)

START_TRACE_RETRIEVAL_MAX_IDS = 100
TRACES_PER_PAGE = 5  # what ListRetrievedTraces returns at most a page (the service's limit, not ours)
FINISHED_WITHOUT_TRACES = frozenset({"FAILED", "CANCELLED", "TIMEOUT"})
STILL_RUNNING = frozenset({"SCHEDULED", "RUNNING"})
# Without a time range from the caller: from a little before the earliest trace id's epoch second (clocks
# differ) to well after the latest (a trace's spans end after it starts).
_BEFORE_FIRST = timedelta(minutes=1)
_AFTER_LAST = timedelta(hours=1)
_TRACE_ID_EPOCH = re.compile(r"^1-([0-9a-fA-F]{8})-[0-9a-fA-F]{24}$")


@dataclass
class _Retrieval:
    trace_ids: list[str]
    token: str
    status: str = "SCHEDULED"
    polls: int = 0
    traces: dict[str, dict[str, Any]] = field(default_factory=dict)


class TransactionSearchTraceSource:
    """Reads traces by id through CloudWatch Transaction Search's retrieval API.

    `poll_delay`/`max_poll_delay`: the first wait between polls of a retrieval and the longest (doubling,
    jittered); `max_wait`: how long a call waits for retrievals when the caller gives no deadline.
    """

    name = "Transaction Search"

    def __init__(
        self,
        client: Any | None = None,
        *,
        max_attempts: int = 6,
        base_delay: float = 0.2,
        max_delay: float = 10.0,
        poll_delay: float = 0.5,
        max_poll_delay: float = 5.0,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        if poll_delay <= 0 or max_poll_delay < poll_delay or max_wait <= 0:
            raise ValueError("poll_delay > 0, max_poll_delay >= poll_delay and max_wait > 0 are required")
        self._rng = rng or random.Random()
        self._calls = XRayCalls(
            client if client is not None else create_client(),
            max_attempts=max_attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            sleep=sleep,
            clock=clock,
            rng=self._rng,
        )
        self._client = self._calls.client
        self._poll_delay = poll_delay
        self._max_poll_delay = max_poll_delay
        self._max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._now = now
        self.stats = self._calls.stats

    def get_traces(
        self,
        trace_ids: Iterable[str],
        *,
        time_range: TimeRange | None = None,
        deadline: float | None = None,
    ) -> TraceBatch:
        """The traces with these ids, in the order first asked for. Ids whose retrieval ended without them
        (not found, FAILED, CANCELLED, TIMEOUT) are `missing`; those still being retrieved when `deadline`
        (a `clock()` value) came are `pending` (and `missing`)."""
        ids = distinct_ids(trace_ids)
        if not ids:
            return TraceBatch(traces=[])
        if deadline is None:
            deadline = self._clock() + self._max_wait
        start, end = time_range if time_range is not None else self._range_of(ids)
        retrievals = [
            self._start(ids[first : first + START_TRACE_RETRIEVAL_MAX_IDS], start, end, deadline)
            for first in range(0, len(ids), START_TRACE_RETRIEVAL_MAX_IDS)
        ]
        self._wait_for(retrievals, deadline)
        batch = TraceBatch(traces=[])
        for retrieval in retrievals:
            found = retrieval.traces
            returned = set(found)
            self._calls.count("traces_retrieved", len(found))
            batch.traces.extend(found.pop(trace_id) for trace_id in retrieval.trace_ids if trace_id in found)
            batch.traces.extend(found.values())  # ids the service returned that were not asked, if ever
            absent = [trace_id for trace_id in retrieval.trace_ids if trace_id not in returned]
            batch.missing.extend(absent)
            if retrieval.status in STILL_RUNNING:
                batch.pending.extend(absent)
        return batch

    def find_trace_ids(
        self, start: datetime, end: datetime, filter_expression: str | None = None
    ) -> list[str]:
        """`GetTraceSummaries`, which on such an account sees only the indexed share of traces."""
        return self._calls.find_trace_ids(start, end, filter_expression)

    # -- one retrieval ----------------------------------------------------------------------------------

    def _start(self, chunk: list[str], start: datetime, end: datetime, deadline: float) -> _Retrieval:
        response = self._calls.call(
            "StartTraceRetrieval",
            lambda: self._client.start_trace_retrieval(TraceIds=chunk, StartTime=start, EndTime=end),
            deadline=deadline,
        )
        token = response.get("RetrievalToken")
        if not isinstance(token, str) or not token:
            raise XRayApiError("StartTraceRetrieval", "the answer holds no RetrievalToken")
        return _Retrieval(chunk, token)

    def _wait_for(self, retrievals: list[_Retrieval], deadline: float) -> None:
        """Poll each retrieval until it is done or the time is up, then read every page of the done ones."""
        delay = self._poll_delay
        waiting = list(retrievals)
        while waiting:
            for retrieval in waiting:
                self._poll(retrieval, deadline)
            waiting = [retrieval for retrieval in waiting if retrieval.status in STILL_RUNNING]
            if not waiting:
                return
            pause = self._rng.uniform(delay / 2, delay)  # jittered: retrievals of several runs spread out
            if self._clock() + pause > deadline:
                return  # still running: their ids are pending
            self._sleep(pause)
            delay = min(self._max_poll_delay, delay * 2)

    def _poll(self, retrieval: _Retrieval, deadline: float) -> None:
        """One `ListRetrievedTraces`; once COMPLETE, the rest of its pages too."""

        def fetch(next_token: str | None) -> Mapping[str, Any]:
            request: dict[str, Any] = {"RetrievalToken": retrieval.token, "TraceFormat": "XRAY"}
            if next_token is not None:
                request["NextToken"] = next_token
            response: Mapping[str, Any] = self._client.list_retrieved_traces(**request)
            return response

        retrieval.polls += 1
        for page in self._calls.pages("ListRetrievedTraces", fetch, deadline=deadline):
            status = page.get("RetrievalStatus")
            retrieval.status = status if isinstance(status, str) else "UNKNOWN"
            if retrieval.status != "COMPLETE":
                if retrieval.status not in STILL_RUNNING | FINISHED_WITHOUT_TRACES:
                    raise XRayApiError("ListRetrievedTraces", f"unknown RetrievalStatus {status!r}")
                return  # empty until COMPLETE; a token on such a page is not followed
            for trace in page.get("Traces") or []:
                if isinstance(trace, Mapping):
                    merge_trace(retrieval.traces, trace, segments_key="Spans")

    def _range_of(self, trace_ids: list[str]) -> TimeRange:
        """The time range the ids' own epoch seconds give, capped at now; the last day where none has one."""
        now = self._now()
        epochs = [int(match.group(1), 16) for match in map(_TRACE_ID_EPOCH.match, trace_ids) if match]
        if not epochs:
            return now - timedelta(days=1), now
        start = datetime.fromtimestamp(min(epochs), UTC) - _BEFORE_FIRST
        end = min(now, datetime.fromtimestamp(max(epochs), UTC) + _AFTER_LAST)
        return start, max(end, start + _BEFORE_FIRST)
