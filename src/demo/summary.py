"""The demo's summary: the run's figures from its record lines, and the alarm preview.

The figures are read from the record lines whether a figure is a declared metric or a plain field (what
Logs Insights would read at `standard`); the alarm preview reads declared metrics only, as CloudWatch does.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common.emf import MetricsDetail, declared_metrics
from common.variants import DEFAULT_VARIANTS, PipelineVariant, function_name
from demo.alarm_preview import (
    AlarmResult,
    alarm_specs,
    evaluate_timeline,
    preview_lines,
    published_after,
    published_by_record,
)
from demo.stopped_schedule import DEMO_WINDOW, ModelledStop, model_stop, stop_lines
from demo.template import load_template
from traces.stats import distribution

# (label, metric, extra dimension values to match) for the distributions the summary shows.
FIGURES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("end to end", "EndToEndLatency", {}),
    ("S3 notification", "S3NotificationLatency", {}),
    ("dwell time", "DwellTime", {}),
    ("init (cold starts)", "InitDuration", {}),
    ("invocation", "InvocationDuration", {}),
    ("DynamoDB PutItem", "CallLatency", {"Service": "DynamoDB", "Operation": "PutItem"}),
)
COUNTS = (
    "TransactionsGenerated",
    "TransactionsComplete",
    "TransactionsLost",
    "TransactionsError",
    "TransactionsIncomplete",
    "TransactionsUntraced",
    "Invocations",
    "ColdStarts",
    "FunctionErrors",
    "CallErrors",
    "CallThrottles",
    "CallFaults",
    "TracesRetrieved",
    "XRayApiCalls",
)


def values_of(emf: Iterable[Mapping[str, Any]], metric: str, dimensions: Mapping[str, str]) -> list[float]:
    found: list[float] = []
    for line in emf:
        if metric in line and all(line.get(name) == value for name, value in dimensions.items()):
            raw = line[metric]
            found.extend(float(value) for value in (raw if isinstance(raw, list) else [raw]))
    return found


HEARTBEAT_VISIBLE_AFTER = timedelta(seconds=5)  # a run's line, stamped at its scheduled time, is put at once


def preview(
    specs: list[Any], emf: list[dict[str, Any]], windows: list[int], stop: ModelledStop | None = None
) -> list[AlarmResult]:
    """The alarms minute by minute from the first window's start (the stack's creation, for the preview):
    a window's lines are put when the window ends (the demo's lag is 0), each run's heartbeat at once; the
    timeline ends a minute after the last line is visible. With a `stop`, the timeline goes on to
    `stop.until` with the modelled lines, published by the same rules, and counts minutes after the stop."""
    published = published_by_record(
        {"run": published_after(HEARTBEAT_VISIBLE_AFTER)}, default=published_after(DEMO_WINDOW)
    )
    stamps = [datetime.fromtimestamp(start / 1000, UTC) + DEMO_WINDOW for start in windows]
    stamps += [
        datetime.fromtimestamp(line["_aws"]["Timestamp"] / 1000, UTC) + HEARTBEAT_VISIBLE_AFTER
        for line in emf
        if line.get("record") == "run" and "_aws" in line
    ]
    until = max(stamps) + timedelta(minutes=1)
    if stop is None:
        return evaluate_timeline(specs, emf, published, until=until)
    return evaluate_timeline(
        specs, [*stop.history, *emf, *stop.lines], published, until=max(until, stop.until), stop=stop.at
    )


def build_summary(
    emf: list[dict[str, Any]],
    windows: list[int],
    stack_name: str,
    pipeline_function: str,
    extra: Mapping[str, Any],
    *,
    metrics_detail: str,
    function_records: Iterable[Mapping[str, Any]] = (),
    stop: str | None = None,
    variants: Sequence[PipelineVariant] = DEFAULT_VARIANTS,
) -> tuple[dict[str, Any], list[AlarmResult]]:
    """`emf`: the reporter's record lines; `function_records`: the generator's and the pipeline's; `stop`:
    the component (generator or reporter) the preview stops after the run's window(s), None for none;
    `variants`: the pipeline twins the run had (the first is `pipeline_function`)."""
    counts = {name: int(sum(values_of(emf, name, {}))) for name in COUNTS}
    generated = counts["TransactionsGenerated"]
    figures = {
        label: distribution(values_of(emf, metric, {**dimensions})).to_dict()
        for label, metric, dimensions in FIGURES
    }
    names = {
        "AWS::StackName": stack_name,
        "PipelineFunction": pipeline_function,
        # The twins deployed: their alarms are the stack's, each on its own function's name.
        "PipelineVariants": ",".join(variants),
        **{variant.logical_id: function_name(stack_name, variant) for variant in variants[1:]},
        "ReporterFunction": f"{stack_name}-reporter",
        "ReportPeriodMinutes": str(int(DEMO_WINDOW.total_seconds() // 60)),
    }
    specs = alarm_specs(load_template(), names)
    modelled = None if stop is None else model_stop(stop, specs, emf, windows, MetricsDetail(metrics_detail))
    alarms = preview(specs, emf, windows, modelled)
    declared = sorted(declared_metrics([*emf, *function_records]))
    summary = {
        **extra,
        "windows": len(windows),
        "transactions": {
            "generated": generated,
            "complete": counts["TransactionsComplete"],
            "lost": counts["TransactionsLost"],
            "error": counts["TransactionsError"],
            "incomplete": counts["TransactionsIncomplete"],
            "untraced": counts["TransactionsUntraced"],
            # Untraced objects were delivered (their item is written): only the monitor could not see them.
            "success_rate": (
                100.0 * (counts["TransactionsComplete"] + counts["TransactionsUntraced"]) / generated
                if generated
                else None
            ),
        },
        "xray_api_calls": calls_by_operation(emf),
        "counts": counts,
        "metrics": {
            "detail": metrics_detail,
            "record_lines": len(emf),
            "declared": [{"name": name, "dimensions": dict(dimensions)} for name, dimensions in declared],
        },
        "figures_ms": figures,
        "alarms": {result.spec.name: result.to_dict() for result in alarms},
        **({} if modelled is None else {"stop": modelled.to_dict(alarms)}),
    }
    return summary, alarms


def calls_by_operation(emf: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The reporter's X-Ray calls by operation name, summed over its window lines."""
    calls: dict[str, int] = {}
    for line in emf:
        if line.get("record") != "window":
            continue
        for key, value in line.items():
            if key.startswith("XRayApiCalls.") and isinstance(value, int | float):
                operation = key.removeprefix("XRayApiCalls.")
                calls[operation] = calls.get(operation, 0) + int(value)
    return dict(sorted(calls.items()))


def not_complete(reporter_logs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The reporter's line for each object that was not complete: key, trace id and what was missing."""
    return [
        {
            "verdict": str(line["message"]).removeprefix("object "),
            "key": line.get("key"),
            "trace_id": line.get("trace_id"),
            "missing": line.get("missing", []),
        }
        for line in reporter_logs
        if str(line.get("message", "")).startswith("object ")
    ]


def render(summary: Mapping[str, Any], alarms: list[AlarmResult]) -> str:
    transactions = summary["transactions"]
    counts = summary["counts"]
    metrics = summary["metrics"]
    rate = transactions["success_rate"]
    lines = [
        "",
        f"transactions  generated {transactions['generated']}  complete {transactions['complete']}  "
        f"lost {transactions['lost']}  untraced {transactions['untraced']}  "
        f"success rate {'-' if rate is None else f'{rate:.1f} %'}",
        f"invocations   {counts['Invocations']}  cold starts {counts['ColdStarts']}  "
        f"function errors {counts['FunctionErrors']}  DynamoDB errors {counts['CallErrors']} "
        f"(throttles {counts['CallThrottles']}, faults {counts['CallFaults']})",
        f"X-Ray         {counts['TracesRetrieved']} traces read in {counts['XRayApiCalls']} API calls"
        + _operations(summary.get("xray_api_calls", {})),
        f"metrics       {len(metrics['declared'])} custom metrics declared (MetricsDetail "
        f"{metrics['detail']}); the rest plain fields of {metrics['record_lines']} reporter record lines",
        "",
        f"  {'(ms)':<20} {'count':>6} {'p50':>9} {'p90':>9} {'p99':>9}",
    ]
    for label, figure in summary["figures_ms"].items():
        cells = [_ms(figure[name]) for name in ("p50", "p90", "p99")]
        lines.append(f"  {label:<20} {figure['count']:>6} {cells[0]:>9} {cells[1]:>9} {cells[2]:>9}")
    problems = summary.get("not_complete", [])
    if problems:
        lines += ["", f"not complete ({len(problems)}), as the reporter logged them:"]
        lines += [
            f"  {item['verdict']:<10} {item['key']}  {item['trace_id']}  {'; '.join(item['missing'])}"
            for item in problems[:10]
        ]
        if len(problems) > 10:
            lines.append(f"  ... and {len(problems) - 10} more in summary.json")
    lines += [
        "",
        f"alarm preview: template.yaml's alarms on the emitted values ({summary['windows']} window(s))",
    ]
    if "stop" in summary:
        lines += stop_lines(summary["stop"])
    lines += preview_lines(alarms)
    return "\n".join(lines)


def _operations(calls: Mapping[str, int]) -> str:
    listed = ", ".join(f"{name} {count}" for name, count in calls.items())
    return f" ({listed})" if listed else ""


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def write_summary(summary: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(summary, indent=2) + "\n")
