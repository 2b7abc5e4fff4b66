"""Traces from the X-Ray index: `BatchGetTraces` by id, `GetTraceSummaries` by time.

X-Ray facts the implementation is built around (see DESIGN.md, "Where traces are read from"):
- `BatchGetTraces` takes at most 5 distinct ids a call, may page with `NextToken`, and may hand ids back as
  `UnprocessedTraceIds`; ids it does not know are simply absent. On an account whose spans go to
  CloudWatch Transaction Search it finds only the indexed share (1 % by default): use
  `traces.sources.transaction_search` there.
- `GetTraceSummaries` pages newest first and bills every trace it scans.
- Both throttle with HTTP 429 (`ThrottledException`); retries and counters are `traces.sources.base`'s.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from traces.sources.base import (
    SourceStats,
    TimeRange,
    TraceBatch,
    TraceSource,
    TraceSourceError,
    XRayApiError,
    XRayCalls,
    create_client,
    default_xray_client,
    distinct_ids,
    merge_trace,
)

if TYPE_CHECKING:
    from mypy_boto3_xray.literals import TimeRangeTypeType

# The interface and its results, for callers that import them with the X-Ray source.
__all__ = [
    "BATCH_GET_TRACES_MAX_IDS",
    "SourceStats",
    "TraceBatch",
    "TraceSource",
    "TraceSourceError",
    "XRayApiError",
    "XRayTraceSource",
    "default_xray_client",
]

BATCH_GET_TRACES_MAX_IDS = 5


class XRayTraceSource:
    """Fetches traces from AWS X-Ray with chunking, bounded concurrency, retries and cost counters.

    Pass a client built without botocore retries (see `default_xray_client`); a client that retries on its
    own still works, but its hidden retries are missing from `stats`.
    """

    name = "X-Ray"

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
        self._calls = XRayCalls(
            client if client is not None else create_client(),
            max_attempts=max_attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            sleep=sleep,
            rng=rng,
        )
        self._client = self._calls.client
        self._max_workers = max_workers
        self._max_unprocessed_rounds = max_unprocessed_rounds
        self.stats = self._calls.stats

    # -- BatchGetTraces ---------------------------------------------------------------------------------

    def get_traces(
        self,
        trace_ids: Iterable[str],
        *,
        time_range: TimeRange | None = None,
        deadline: float | None = None,
    ) -> TraceBatch:
        """The traces with these ids, in the order first asked for; what X-Ray did not return is `missing`.

        `time_range` is not needed here (X-Ray finds a trace by id alone); `deadline` bounds the retries.
        """
        del time_range
        ids = distinct_ids(trace_ids)
        chunks = [
            ids[start : start + BATCH_GET_TRACES_MAX_IDS]
            for start in range(0, len(ids), BATCH_GET_TRACES_MAX_IDS)
        ]
        if len(chunks) <= 1 or self._max_workers == 1:
            results = [self._get_chunk(chunk, deadline) for chunk in chunks]
        else:
            results = self._get_chunks_concurrently(chunks, deadline)
        batch = TraceBatch(traces=[], missing=[])
        for traces, missing in results:
            batch.traces.extend(traces)
            batch.missing.extend(missing)
        return batch

    def _get_chunks_concurrently(
        self, chunks: Sequence[list[str]], deadline: float | None
    ) -> list[tuple[list[dict[str, Any]], list[str]]]:
        pool = ThreadPoolExecutor(
            max_workers=min(self._max_workers, len(chunks)), thread_name_prefix="xray-batch-get-traces"
        )
        try:
            futures = [pool.submit(self._get_chunk, chunk, deadline) for chunk in chunks]
            return [future.result() for future in futures]
        finally:
            # On the first failure, drop the chunks not started yet rather than spend more calls.
            pool.shutdown(wait=True, cancel_futures=True)

    def _get_chunk(self, chunk: list[str], deadline: float | None) -> tuple[list[dict[str, Any]], list[str]]:
        traces_by_id: dict[str, dict[str, Any]] = {}
        pending = chunk
        for round_number in range(self._max_unprocessed_rounds + 1):
            if round_number:
                delay = self._calls.backoff_delay(round_number)
                if deadline is not None and self._calls.clock() + delay > deadline:
                    break  # no time for another round: what is left is missing
                self._calls.count("unprocessed_retries", len(pending))
                self._calls.sleep(delay)
            unprocessed = self._get_all_pages(pending, traces_by_id, deadline)
            # Only ids X-Ray handed back are worth asking again; absent ones are unknown to it.
            pending = [
                trace_id for trace_id in pending if trace_id in unprocessed and trace_id not in traces_by_id
            ]
            if not pending:
                break
        missing = [trace_id for trace_id in chunk if trace_id not in traces_by_id]
        self._calls.count("traces_retrieved", len(traces_by_id))
        in_order = [traces_by_id.pop(trace_id) for trace_id in chunk if trace_id in traces_by_id]
        return in_order + list(traces_by_id.values()), missing  # X-Ray's extras, if ever, last

    def _get_all_pages(
        self, trace_ids: list[str], traces_by_id: dict[str, dict[str, Any]], deadline: float | None
    ) -> set[str]:
        """Follow NextToken through every page for these ids; returns the ids X-Ray left unprocessed."""

        def fetch(next_token: str | None) -> Mapping[str, Any]:
            request: dict[str, Any] = {"TraceIds": trace_ids}
            if next_token is not None:
                request["NextToken"] = next_token
            response: Mapping[str, Any] = self._client.batch_get_traces(**request)
            return response

        unprocessed: set[str] = set()
        for page in self._calls.pages("BatchGetTraces", fetch, deadline=deadline):
            for trace in page.get("Traces") or []:
                merge_trace(traces_by_id, trace)
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
        """`GetTraceSummaries` (see `XRayCalls.find_trace_ids`)."""
        return self._calls.find_trace_ids(start, end, filter_expression, time_range_type=time_range_type)
