"""A window's figures as record lines (see `common.emf`): one for the window, then one per planned object,
per invocation and per downstream call, each timestamped with the window's start; and each run's own line
(the heartbeat), timestamped with the run's scheduled time.

At `standard` the lines declare only the metrics the alarms and the headline graphs need; every other
figure rides along as a plain field, so CloudWatch Logs Insights can still compute its percentiles (one
value per line). Identifiers (key, trace id) are plain fields on every level: never dimensions, never billed.
"""

from datetime import datetime
from typing import Any

from common.emf import MetricsDetail, record_line
from reporter.figures import CallFigure, InvocationFigure, TransactionFigure, WindowFigures


def window_emf_lines(
    figures: WindowFigures, namespace: str, pipeline: str, detail: MetricsDetail = MetricsDetail.STANDARD
) -> list[dict[str, Any]]:
    """The record lines of one window, the window's own line first."""
    timestamp_ms = int(figures.window.start.timestamp() * 1000)
    window = figures.window.label()

    def line(record: str, values: dict[str, Any], dimensions: dict[str, str]) -> dict[str, Any]:
        return record_line(
            record,
            {"window": window, **values},
            dimensions={"Pipeline": pipeline, **dimensions},
            namespace=namespace,
            timestamp_ms=timestamp_ms,
            detail=detail,
        )

    lines = [line("window", _window_values(figures), {})]
    lines += [line("transaction", _transaction_values(t), {}) for t in figures.transactions]
    lines += [
        line("invocation", _invocation_values(i), {"FunctionName": i.function}) for i in figures.invocations
    ]
    lines += [
        line(
            "call",
            _call_values(call),
            {"FunctionName": call.function, "Service": call.service, "Operation": call.operation},
        )
        for call in figures.calls
    ]
    return lines


def _window_values(figures: WindowFigures) -> dict[str, Any]:
    return {
        "window_end": figures.window.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "TransactionsGenerated": figures.generated,
        "TransactionsComplete": figures.complete,
        "TransactionsLost": figures.lost,
        "TransactionsError": figures.error,
        "TransactionsIncomplete": figures.incomplete,
        "TransactionsUntraced": figures.untraced,
        "SuccessRate": figures.success_rate,  # None (left out) when nothing was generated
        "UntracedShare": figures.untraced_share,
        "TracesRetrieved": figures.traces_retrieved,
        "XRayApiCalls": figures.xray_api_calls,
        **{f"XRayApiCalls.{name}": count for name, count in sorted(figures.xray_calls_by_operation.items())},
    }


def _transaction_values(transaction: TransactionFigure) -> dict[str, Any]:
    return {
        "key": transaction.key,
        "trace_id": transaction.trace_id,
        "verdict": transaction.verdict,
        "variant": transaction.variant,
        "missing": "; ".join(transaction.missing) or None,
        "EndToEndLatency": transaction.end_to_end_ms,
        "S3NotificationLatency": transaction.s3_notification_ms,
        "PutObjectDuration": transaction.put_object_ms,
    }


def _invocation_values(invocation: InvocationFigure) -> dict[str, Any]:
    # Counts are 1 or 0 per invocation: their Sum over a period is the window's count, in CloudWatch and
    # in Logs Insights alike.
    return {
        "trace_id": invocation.trace_id,
        "format": invocation.format,
        "Invocations": 1,
        "ColdStarts": int(invocation.cold_start),
        "FunctionErrors": int(invocation.function_error),
        "InitDuration": invocation.init_ms,
        "DwellTime": invocation.dwell_ms,
        "InvocationDuration": invocation.invocation_ms,
        "OverheadDuration": invocation.overhead_ms,
        "RuntimeOverhead": invocation.runtime_overhead_ms,
        # No value, no metric: only functions with a Lambda extension have this one (and cost it).
        "ExtensionOverhead": invocation.extension_overhead_ms,
        "ResponseDuration": invocation.response_duration_ms,
        "Attempts": invocation.attempts,
    }


def _call_values(call: CallFigure) -> dict[str, Any]:
    return {
        "trace_id": call.trace_id,
        "resource": call.resource,
        "CallLatency": call.duration_ms,
        "CallErrors": int(call.error),
        "CallThrottles": int(call.throttle),
        "CallFaults": int(call.fault),
    }


def run_emf_line(
    scheduled: datetime,
    *,
    windows: list[str],
    objects: int,
    deferred: str | None,
    namespace: str,
    pipeline: str,
    detail: MetricsDetail = MetricsDetail.STANDARD,
) -> dict[str, Any]:
    """The run's heartbeat: what it emitted, stamped at the time it was scheduled for, so the datapoint is
    visible at once and its alarm needs no guess about how far back CloudWatch looks."""
    return record_line(
        "run",
        {
            "ObjectsReported": objects,  # generated in the windows this run emitted: 0 when it emitted none
            "WindowsEmitted": len(windows),
            "windows": ",".join(windows),
            "deferred_window": deferred,
        },
        dimensions={"Pipeline": pipeline},
        namespace=namespace,
        timestamp_ms=int(scheduled.timestamp() * 1000),
        detail=detail,
    )
