"""A window's figures as CloudWatch EMF lines, through Powertools Metrics.

Distributions go out as raw values, so CloudWatch computes true percentiles over any period. Powertools
writes a line whenever a metric reaches 100 values (the EMF limit) and carries on in the next; each
dimension set gets its own EphemeralMetrics, since one EMF object has one set of dimensions.
"""

import contextlib
import io
import json
import warnings
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from reporter.figures import WindowFigures

Metric = tuple[str, MetricUnit, Iterable[float]]


def window_emf_lines(figures: WindowFigures, namespace: str, pipeline: str) -> list[dict[str, Any]]:
    """The EMF objects for one window, timestamped with the window's start."""
    lines: list[dict[str, Any]] = []
    base = {"Pipeline": pipeline}
    count, milliseconds = MetricUnit.Count, MetricUnit.Milliseconds
    pipeline_metrics: list[Metric] = [
        ("TransactionsGenerated", count, [figures.generated]),
        ("TransactionsComplete", count, [figures.complete]),
        ("TransactionsLost", count, [figures.lost]),
        ("EndToEndLatency", milliseconds, figures.end_to_end_ms),
        ("S3NotificationLatency", milliseconds, figures.s3_notification_ms),
        ("TracesRetrieved", count, [figures.traces_retrieved]),
        ("XRayApiCalls", count, [figures.xray_api_calls]),
    ]
    if figures.success_rate is not None:
        pipeline_metrics.append(("SuccessRate", MetricUnit.Percent, [figures.success_rate]))
    lines += _emit(namespace, base, pipeline_metrics, figures)

    for function, function_figures in sorted(figures.functions.items()):
        lines += _emit(
            namespace,
            {**base, "FunctionName": function},
            [
                ("Invocations", count, [function_figures.invocations]),
                ("ColdStarts", count, [function_figures.cold_starts]),
                ("FunctionErrors", count, [function_figures.function_errors]),
                ("InitDuration", milliseconds, function_figures.init_ms),
                ("DwellTime", milliseconds, function_figures.dwell_ms),
                ("InvocationDuration", milliseconds, function_figures.invocation_ms),
                ("OverheadDuration", milliseconds, function_figures.overhead_ms),
                # No values, no metric: only functions with a Lambda extension have this one (and cost it).
                ("ExtensionOverhead", milliseconds, function_figures.extension_overhead_ms),
            ],
            figures,
        )
    for (function, service, operation), call_figures in sorted(figures.calls.items()):
        lines += _emit(
            namespace,
            {**base, "FunctionName": function, "Service": service, "Operation": operation},
            [
                ("CallLatency", milliseconds, call_figures.latency_ms),
                ("CallErrors", count, [call_figures.errors]),
                ("CallThrottles", count, [call_figures.throttles]),
                ("CallFaults", count, [call_figures.faults]),
            ],
            figures,
        )
    return lines


def _emit(
    namespace: str, dimensions: dict[str, str], metrics: list[Metric], figures: WindowFigures
) -> list[dict[str, Any]]:
    # service="" keeps Powertools from adding a `service` dimension the alarms would not match.
    emitter = EphemeralMetrics(namespace=namespace, service="")
    for dimension, dimension_value in dimensions.items():
        emitter.add_dimension(name=dimension, value=dimension_value)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        # A window older than 14 days would be dropped by CloudWatch; the planner never sends one.
        warnings.simplefilter("ignore")
        emitter.set_timestamp(figures.window.start)
        added = False
        for metric, unit, values in metrics:
            for value in values:
                emitter.add_metric(name=metric, unit=unit, value=value)
                added = True
        if added:
            emitter.flush_metrics()
    return [json.loads(line) for line in printed.getvalue().splitlines() if line.strip()]
