"""`tracecanary analyze --format table`: one row per invocation, then the distributions.

In the seed blog's spirit: for each invocation, where its time went (cold or warm, init, dwell, the handler,
each downstream call); then, over all of them, count and p50/p90/p99/max per function and per call.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from traces.analysis import AnalysisResult
from traces.calls import Call
from traces.invocations import Invocation
from traces.stats import Distribution, distribution, per_call, per_function

_FIELD_LABELS = {
    "s3_notification_ms": "S3 notification",
    "dwell_ms": "dwell",
    "init_ms": "init",
    "invocation_ms": "invocation",
    "overhead_ms": "overhead",
    "runtime_overhead_ms": "runtime overhead",
    "extension_overhead_ms": "extension overhead",
    "response_duration_ms": "response",
}
# The new-style (v2) timings, each a column of the invocations table only where some invocation has it.
_V2_COLUMNS = (
    ("runtime_overhead_ms", "runtime ovh"),
    ("extension_overhead_ms", "ext ovh"),
    ("response_duration_ms", "response"),
)
_DISTRIBUTION_HEADERS = ("count", "p50 ms", "p90 ms", "p99 ms", "max ms")


def render_report(result: AnalysisResult) -> str:
    """The whole report as text (no trailing newline)."""
    sections = [
        _summary(result),
        _invocations_table(result.invocations),
        _per_function(result.invocations),
        _per_call(result.invocations),
        _transactions(result),
        _skipped(result),
    ]
    return "\n\n".join(section for section in sections if section)


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """Columns padded to their widest cell; `right` says which columns are right-aligned (numbers)."""
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = []
    for row in (headers, *rows):
        cells = [
            cell.rjust(width) if align_right else cell.ljust(width)
            for cell, width, align_right in zip(row, widths, right, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _summary(result: AnalysisResult) -> str:
    parts = [_plural(result.traces, "trace"), _plural(len(result.invocations), "invocation")]
    if result.transactions:
        parts.append(_plural(len(result.transactions), "transaction"))
    if result.skipped:
        parts.append(f"{len(result.skipped)} skipped")
    return ", ".join(parts)


def _invocations_table(invocations: Sequence[Invocation]) -> str:
    if not invocations:
        return "No Lambda invocations found."
    extra = [
        (field, header)
        for field, header in _V2_COLUMNS
        if any(getattr(invocation, field) is not None for invocation in invocations)
    ]
    headers = (
        *("trace id", "function", "start (UTC)", "format", "cold/warm"),
        *("init", "S3 notif", "dwell", "invocation", "overhead"),
        *(header for _, header in extra),
        "calls (ms)",
    )
    rows: list[tuple[str, ...]] = []
    for invocation in invocations:
        state = "cold" if invocation.cold_start else "warm"
        if invocation.function_error:
            state += " ERROR"
        if not invocation.complete:
            state += " (in progress)"
        calls = ", ".join(_call_text(call) for call in invocation.calls) or "-"
        rows.append(
            (
                invocation.trace_id or "-",
                invocation.function or "?",
                _clock(invocation.start),
                invocation.format,
                state,
                ms(invocation.init_ms),
                ms(invocation.s3_notification_ms),
                ms(invocation.dwell_ms),
                ms(invocation.invocation_ms),
                ms(invocation.overhead_ms),
                *(ms(getattr(invocation, field)) for field, _ in extra),
                calls,
            )
        )
    right = (False, False, False, False, False, *([True] * (5 + len(extra))), False)
    return "Invocations\n" + table(headers, rows, right)


def _call_text(call: Call) -> str:
    flags = [
        name for name, on in (("error", call.error), ("fault", call.fault), ("throttle", call.throttle)) if on
    ]
    marks = f" [{' '.join(flags)}]" if flags else ""
    return f"{call.service} {call.operation or '?'} {ms(call.duration_ms)}{marks}"


def _flags(call: Call) -> tuple[bool, bool, bool]:
    return call.error, call.fault, call.throttle


def _clock(start: float | None) -> str:
    """The start as UTC wall-clock time with milliseconds."""
    if start is None:
        return "-"
    try:
        return datetime.fromtimestamp(start, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except (OverflowError, OSError, ValueError):  # a time far outside the calendar
        return f"{start:.3f}"


def _distribution_cells(values: Distribution) -> tuple[str, ...]:
    return (str(values.count), ms(values.p50), ms(values.p90), ms(values.p99), ms(values.max))


def _per_function(invocations: Sequence[Invocation]) -> str:
    if not invocations:
        return ""
    blocks = []
    for stats in per_function(invocations).values():
        title = (
            f"{stats.function or '?'}: {_plural(stats.invocations, 'invocation')}, {stats.cold_starts} cold, "
            f"{stats.function_errors} with errors, {stats.incomplete} in progress"
        )
        rows = [
            (label, *_distribution_cells(stats.durations[name]))
            for name, label in _FIELD_LABELS.items()
            if stats.durations[name].count
        ]
        body = table(("part", *_DISTRIBUTION_HEADERS), rows, (False, True, True, True, True, True))
        blocks.append(title + "\n" + _indent(body))
    return "Per function\n" + "\n".join(blocks)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _per_call(invocations: Sequence[Invocation]) -> str:
    calls = per_call(invocations)
    if not calls:
        return ""
    headers = ("service", "operation", "errors", "faults", "throttles", *_DISTRIBUTION_HEADERS)
    rows = [
        (
            stats.service,
            stats.operation or "?",
            str(stats.errors),
            str(stats.faults),
            str(stats.throttles),
            *_distribution_cells(stats.duration),
        )
        for stats in calls.values()
    ]
    right = (False, False, True, True, True, True, True, True, True, True)
    return "Per call\n" + table(headers, rows, right)


def _transactions(result: AnalysisResult) -> str:
    transactions = result.transactions
    if not transactions:
        return ""
    complete = sum(1 for transaction in transactions if transaction.complete)
    failed = sum(1 for transaction in transactions if transaction.error)
    headers = ("part", *_DISTRIBUTION_HEADERS)
    rows = [
        ("end to end", *_distribution_cells(distribution(t.end_to_end_ms for t in transactions))),
        ("PutObject", *_distribution_cells(distribution(t.put_object_ms for t in transactions))),
        ("S3 notification", *_distribution_cells(distribution(t.s3_notification_ms for t in transactions))),
    ]
    right = (False, True, True, True, True, True)
    title = f"Transactions: {len(transactions)}, {complete} complete, {failed} with errors"
    return title + "\n" + table(headers, rows, right)


def _skipped(result: AnalysisResult) -> str:
    if not result.skipped:
        return ""
    return "Skipped\n" + "\n".join(f"  {skipped.file}: {skipped.reason}" for skipped in result.skipped)
