"""Fetching traces for the CLI through a `TraceSource` (the X-Ray API source, or a fake in tests)."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from common.errors import UserError

if TYPE_CHECKING:
    from traces.sources.xray import TraceSource

TRACE_ID_PATTERN = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")
_DURATION_PATTERN = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# X-Ray's price per trace retrieved or scanned (DESIGN.md): $0.50 per million.
PRICE_PER_TRACE_READ = 0.50 / 1_000_000


@dataclass(slots=True)
class Fetched:
    traces: list[dict[str, Any]] = field(default_factory=list)  # BatchGetTraces `Traces` entries
    missing_asked: list[str] = field(default_factory=list)  # ids given by the user that X-Ray did not return
    missing_found: list[str] = field(default_factory=list)  # ids from GetTraceSummaries not returned
    pending: list[str] = field(default_factory=list)  # still being retrieved when the wait ended
    cost: str = ""  # what fetching cost, one line (see describe_cost)


def default_source(setting: str = "auto") -> "TraceSource":
    """The trace source the setting names (`auto`: the one the account needs); imported only here, so
    reading files never needs boto3."""
    from traces.sources.choose import trace_source

    return trace_source(setting)


def is_trace_id(value: str) -> bool:
    return TRACE_ID_PATTERN.fullmatch(value) is not None


def parse_since(value: str) -> timedelta:
    """`30s`, `15m`, `2h`, `1d` (decimals allowed) as a positive duration."""
    match = _DURATION_PATTERN.fullmatch(value.strip())
    if match is None or float(match.group(1)) <= 0:
        raise UserError(f"--since: expected a duration such as 30s, 15m, 2h or 1d, got {value!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def check_trace_ids(trace_ids: Iterable[str]) -> list[str]:
    """The ids, each checked to be an X-Ray trace id (`1-<8 hex>-<24 hex>`), without repeats."""
    checked: dict[str, None] = {}
    for trace_id in trace_ids:
        if not is_trace_id(trace_id):
            raise UserError(f"not an X-Ray trace id (1-<8 hex>-<24 hex>): {trace_id!r}")
        checked[trace_id] = None
    return list(checked)


def fetch_traces(
    source: "TraceSource",
    *,
    trace_ids: Iterable[str] = (),
    since: timedelta | None = None,
    filter_expression: str | None = None,
    now: datetime,
) -> Fetched:
    """The traces asked for by id, plus those of the last `since` (matching the filter) found by summaries."""
    asked = check_trace_ids(trace_ids)
    found: list[str] = []
    if since is not None:
        found = source.find_trace_ids(now - since, now, filter_expression)
    wanted = list(dict.fromkeys([*asked, *found]))
    if not wanted:
        return Fetched(cost=describe_cost(source))
    time_range = (now - since, now) if since is not None and not asked else None
    batch = source.get_traces(wanted, time_range=time_range)
    missing = set(batch.missing)
    returned = {trace.get("Id") for trace in batch.traces if isinstance(trace, dict)}
    missing.update(trace_id for trace_id in wanted if trace_id not in returned)
    return Fetched(
        traces=list(batch.traces),
        missing_asked=[trace_id for trace_id in asked if trace_id in missing],
        missing_found=[trace_id for trace_id in found if trace_id in missing and trace_id not in asked],
        pending=[trace_id for trace_id in batch.pending if trace_id in missing],
        cost=describe_cost(source),
    )


def describe_cost(source: "TraceSource") -> str:
    """One line on what fetching cost: API calls by operation and traces read (X-Ray bills traces, not
    calls; Transaction Search's retrievals are counted at the same price, which AWS does not list apart)."""
    stats = source.stats
    read = stats.traces_retrieved + stats.traces_scanned
    operations = ", ".join(f"{name} {count}" for name, count in sorted(stats.calls_by_operation.items()))
    return (
        f"{getattr(source, 'name', 'X-Ray')}: {stats.api_calls} API calls"
        + (f" ({operations})" if operations else "")
        + f", {stats.traces_retrieved} traces retrieved, {stats.traces_scanned} scanned "
        f"(about ${read * PRICE_PER_TRACE_READ:.6f} beyond the free tier)"
    )
