"""The demo's summary: the run's figures from its record lines, and the alarm preview.

The figures are read from the record lines whether a figure is a declared metric or a plain field (what
Logs Insights would read at `standard`); the alarm preview reads declared metrics only, as CloudWatch does.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common.emf import MetricsDetail, declared_metrics
from common.errors import UserError
from demo.alarm_evaluation import MINUTE, State, silence_bound
from demo.alarm_preview import (
    AlarmResult,
    AlarmSpec,
    alarm_specs,
    evaluate_timeline,
    preview_lines,
    published_after,
    published_by_record,
)
from demo.template import load_template
from reporter.emf import run_emf_line, window_emf_lines
from reporter.reconcile import reconcile
from reporter.runner import ReporterConfig
from reporter.windows import Window, plan_windows
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


DEMO_WINDOW = timedelta(minutes=1)  # the demo's windows (and so its alarm periods); its lag is 0
DEMO_LAG = timedelta(0)  # loop.py's REPORT_LAG_MINUTES: a window is closed once the pipeline is drained
HEARTBEAT_VISIBLE_AFTER = timedelta(seconds=5)  # a run's line, stamped at its scheduled time, is put at once
STOPPABLE = ("generator", "reporter")  # what `tracecanary demo --stop` can stop after the run's window


@dataclass(frozen=True)
class ModelledStop:
    """The schedule past the real run, as a deployed stack's would go on once `component` stopped.

    `at` is the stop: the end of the run's last window, which is also the time the real reporter run was
    scheduled for. A stopped reporter runs no more, so nothing is added; with a stopped generator the
    reporter runs on once a window and `lines` are what those runs print (built by the reporter's own code).
    """

    component: str  # "generator" or "reporter"
    at: datetime
    until: datetime  # the timeline's end: every alarm has seen the silence by then
    runs: list[datetime]  # the modelled reporter runs' scheduled times
    lines: list[dict[str, Any]] = field(default_factory=list)
    heartbeat_metrics: frozenset[str] = frozenset()  # the metrics the reporter's run line declares

    def to_dict(self, alarms: list[AlarmResult]) -> dict[str, Any]:
        """For summary.json: the stop (and its offset from the timeline's origin, as the alarms' changes
        have it), what was modelled, and how many minutes after the stop each heartbeat alarm fired."""
        origin = alarms[0].origin if alarms else self.at
        return {
            "component": self.component,
            "at": self.at.isoformat(),
            "minutes": int((self.at - origin) // MINUTE),
            "until": self.until.isoformat(),
            "modelled_runs": len(self.runs),
            "modelled_lines": len(self.lines),
            "heartbeat": {
                result.spec.name: {
                    "state": result.state.value,
                    "minutes_after_stop": _minutes_to_alarm(result, self.at),
                }
                for result in alarms
                if result.spec.metric in self.heartbeat_metrics
            },
        }


def model_stop(
    component: str,
    specs: list[AlarmSpec],
    emf: list[dict[str, Any]],
    windows: list[int],
    detail: MetricsDetail,
) -> ModelledStop:
    """What the schedule adds after the real run once `component` stops after the run's window(s)."""
    if component not in STOPPABLE:
        raise UserError(f"--stop must be one of {', '.join(STOPPABLE)}, got {component!r}")
    real_runs = [line for line in emf if line.get("record") == "run" and "_aws" in line]
    if not real_runs or not windows:
        raise UserError("--stop: the reporter's run printed no heartbeat line to model its next runs on")
    last_run = max(real_runs, key=lambda line: int(line["_aws"]["Timestamp"]))
    at = datetime.fromtimestamp(int(last_run["_aws"]["Timestamp"]) / 1000, UTC)
    # A `breaching` alarm is in ALARM by its silence bound after its last datapoint, and a heartbeat of
    # zeros fires sooner (M runs after the stop): the longest bound shows every alarm's answer to the stop.
    # AlarmRule refuses alarms over more than a day, so this stays bounded.
    until = at + max((silence_bound(spec.rule) for spec in specs), default=DEMO_WINDOW)
    heartbeat_metrics = frozenset(name for name, _ in declared_metrics([last_run]))
    if component == "reporter":
        return ModelledStop(component, at, until, [], [], heartbeat_metrics)
    config = ReporterConfig(
        pipeline=str(last_run["Pipeline"]),
        namespace=str(last_run["_aws"]["CloudWatchMetrics"][0]["Namespace"]),
        period=DEMO_WINDOW,
        lag=DEMO_LAG,
        metrics_detail=detail,
    )
    last_emitted = datetime.fromtimestamp(max(windows) / 1000, UTC)
    runs: list[datetime] = []
    lines: list[dict[str, Any]] = []
    scheduled = at + DEMO_WINDOW
    while scheduled <= until:
        emitted, last_emitted = _run_without_objects(config, scheduled, last_emitted)
        lines += emitted
        runs.append(scheduled)
        scheduled += DEMO_WINDOW
    return ModelledStop(component, at, until, runs, lines, heartbeat_metrics)


def _run_without_objects(
    config: ReporterConfig, scheduled: datetime, last_emitted: datetime
) -> tuple[list[dict[str, Any]], datetime]:
    """One reporter run after the generator stopped, as `Reporter.run` composes it: its due windows, each
    reconciled with no planned object, then its heartbeat; and the newest window it emitted."""
    plan = plan_windows(
        scheduled,
        period=config.period,
        lag=config.lag,
        last_emitted_start=last_emitted,
        max_windows_per_run=config.max_windows_per_run,
        max_age=config.max_age,
    )
    figures = [reconcile(window, [], [], {}, []).figures for window in plan.due]
    lines = [
        line
        for figure in figures
        for line in window_emf_lines(figure, config.namespace, config.pipeline, config.metrics_detail)
    ]
    lines.append(
        run_emf_line(
            scheduled,
            windows=[window.label() for window in plan.due],
            objects=sum(figure.generated for figure in figures),
            deferred=None,
            namespace=config.namespace,
            pipeline=config.pipeline,
            detail=config.metrics_detail,
        )
    )
    newest: Window | None = max(plan.due, default=None)
    return lines, last_emitted if newest is None else newest.start


def _minutes_to_alarm(result: AlarmResult, stop: datetime) -> int | None:
    """Minutes from the stop to the change that put the alarm in the ALARM it ends in; None if it does
    not end in ALARM or was there already. A fresh stack's ALARM before the first run (the heartbeat's,
    at the run's own minute) is not the stop's."""
    if result.state is not State.ALARM or not result.changes or result.changes[-1].at < stop:
        return None
    return int((result.changes[-1].at - stop) // MINUTE)


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
        specs, [*emf, *stop.lines], published, until=max(until, stop.until), stop=stop.at
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
) -> tuple[dict[str, Any], list[AlarmResult]]:
    """`emf`: the reporter's record lines; `function_records`: the generator's and the pipeline's; `stop`:
    the component (generator or reporter) the preview stops after the run's window(s), None for none."""
    counts = {name: int(sum(values_of(emf, name, {}))) for name in COUNTS}
    generated = counts["TransactionsGenerated"]
    figures = {
        label: distribution(values_of(emf, metric, {**dimensions})).to_dict()
        for label, metric, dimensions in FIGURES
    }
    names = {
        "AWS::StackName": stack_name,
        "PipelineFunction": pipeline_function,
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
        lines += _stop_lines(summary["stop"])
    lines += preview_lines(alarms)
    return "\n".join(lines)


def _stop_lines(stop: Mapping[str, Any]) -> list[str]:
    """Which part of the timeline is modelled and when the stop is, so no one takes it for a real run."""
    at = datetime.fromisoformat(stop["at"])
    until = datetime.fromisoformat(stop["until"])
    when = f"{at:%H:%M} UTC ({_offset(stop['minutes'])}, the end of the run's window)"
    through = f"through {until:%H:%M} UTC ({_offset(stop['minutes'] + int((until - at) // MINUTE))})"
    if stop["component"] == "reporter":
        what = f"the reporter stops after its run at {when}: no run and no line after it, {through}"
    else:
        what = (
            f"the generator stops after the run's window, at {when}; the reporter runs on once a minute: "
            f"{stop['modelled_runs']} runs {through}, each printing its empty window's line and a heartbeat "
            f"with ObjectsReported 0 ({stop['modelled_lines']} lines, built by the reporter's own code)"
        )
    lines = [
        f"  --stop {stop['component']}: the timeline goes on past the real run as a deployed stack's "
        "schedule would; everything after the stop is modelled, not produced by a real run",
        f"  {what}",
    ]
    for name, heartbeat in stop["heartbeat"].items():
        minutes = heartbeat["minutes_after_stop"]
        fired = (
            f"{heartbeat['state']} at the end, no change to ALARM after the stop"
            if minutes is None
            else f"ALARM {minutes} min after the stop"
        )
        lines.append(f"  {name}: {fired}")
    return lines


def _offset(minutes: int) -> str:
    """`+0:07`: minutes from the timeline's origin, as the alarm lines count them."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"


def _operations(calls: Mapping[str, int]) -> str:
    listed = ", ".join(f"{name} {count}" for name, count in calls.items())
    return f" ({listed})" if listed else ""


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def write_summary(summary: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(summary, indent=2) + "\n")
