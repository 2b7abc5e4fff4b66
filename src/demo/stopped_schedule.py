"""The demo's schedule as a deployed stack's would run: its windows, and what the schedule adds after the
real run once `tracecanary demo --stop` stops the generator or the reporter (modelled, and said so).
"""

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from common.emf import MetricsDetail, declared_metrics
from common.errors import UserError
from demo.alarm_evaluation import MINUTE, State, silence_bound
from demo.alarm_preview import AlarmResult, AlarmSpec
from reporter.emf import run_emf_line, window_emf_lines
from reporter.reconcile import reconcile
from reporter.runner import ReporterConfig
from reporter.windows import Window, plan_windows

MILLISECOND = timedelta(milliseconds=1)
DEMO_WINDOW = timedelta(minutes=1)  # the demo's windows (and so its alarm periods); its lag is 0
DEMO_LAG = timedelta(0)  # loop.py's REPORT_LAG_MINUTES: a window is closed once the pipeline is drained
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
    # Heartbeats of the runs before the real one, like it: the stack is taken as running past its alarms'
    # warm-up, so the stop, not the deploy, is what the alarms answer.
    history: list[dict[str, Any]] = field(default_factory=list)

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
            "modelled_earlier_runs": len(self.history),
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
    history = _earlier_runs(last_run, specs)
    if component == "reporter":
        return ModelledStop(component, at, until, [], [], heartbeat_metrics, history)
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
    return ModelledStop(component, at, until, runs, lines, heartbeat_metrics, history)


def _earlier_runs(last_run: dict[str, Any], specs: list[AlarmSpec]) -> list[dict[str, Any]]:
    """Copies of the real run's heartbeat, one a period before it, for as long as the longest warm-up
    and evaluation range: by the real run every alarm is past its warm-up and has a full range."""
    warm_up = max((spec.rule.warm_up or timedelta(0) for spec in specs), default=timedelta(0))
    ranges = max((spec.rule.evaluation_range for spec in specs), default=0)
    count = math.ceil(warm_up / DEMO_WINDOW) + ranges
    earlier = []
    for periods in range(count, 0, -1):
        line = copy.deepcopy(last_run)
        line["_aws"]["Timestamp"] = int(last_run["_aws"]["Timestamp"]) - periods * int(
            DEMO_WINDOW / MILLISECOND
        )
        earlier.append(line)
    return earlier


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


def stop_lines(stop: Mapping[str, Any]) -> list[str]:
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
        f"  before it, {stop['modelled_earlier_runs']} earlier runs like the real one (modelled): the stack "
        "has run past its alarms' warm-up, so they answer the stop, not the deploy",
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
