"""`tracecanary demo --stop generator|reporter`: the preview's timeline past the real run, as a deployed
stack's schedule would go on, and the heartbeat alarm's answer to the stop.

The real run here is what the demo's real run is: one one-minute window with its objects, then one reporter
run at the window's end whose heartbeat reports them. The stop is that run's time (the end of the window).
"""

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cli.main import main
from common.emf import MetricsDetail
from common.errors import UserError
from demo.alarm_evaluation import MINUTE, AlarmRule, State, silence_bound
from demo.alarm_preview import AlarmResult, alarm_specs
from demo.stopped_schedule import DEMO_LAG, DEMO_WINDOW, model_stop
from demo.summary import build_summary, preview, render
from demo.template import load_template
from reporter.emf import run_emf_line, window_emf_lines
from reporter.figures import WindowFigures
from reporter.runner import Reporter, ReporterConfig
from reporter.windows import Window
from tests.unit.reporter.fakes import (
    FakeItems,
    FakeManifest,
    FakeTraceSource,
    InMemoryCheckpoints,
    RecordingLog,
)

START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)  # the real run's window
STOP = START + DEMO_WINDOW  # its end: the real reporter run's scheduled time
STACK = "demo"  # the heartbeat's Pipeline dimension is the stack's name
NAMESPACE = "TraceCanary"
OBJECTS = 5
NAMES = {  # the substitutions build_summary gives the template
    "AWS::StackName": STACK,
    "PipelineFunction": f"{STACK}-pipeline",
    "ReporterFunction": f"{STACK}-reporter",
    "ReportPeriodMinutes": "1",
}


def real_run(detail: MetricsDetail = MetricsDetail.STANDARD) -> tuple[list[dict[str, Any]], list[int]]:
    """The reporter's lines of a healthy one-window run, and the run's window starts in ms."""
    window = Window(START, STOP)
    figures = WindowFigures(window, generated=OBJECTS, complete=OBJECTS)
    lines = window_emf_lines(figures, NAMESPACE, STACK, detail)
    lines.append(
        run_emf_line(
            STOP,
            windows=[window.label()],
            objects=OBJECTS,
            deferred=None,
            namespace=NAMESPACE,
            pipeline=STACK,
            detail=detail,
        )
    )
    return lines, [int(START.timestamp() * 1000)]


def summarize(
    stop: str | None, detail: MetricsDetail = MetricsDetail.STANDARD
) -> tuple[dict[str, Any], list[AlarmResult]]:
    emf, windows = real_run(detail)
    return build_summary(emf, windows, STACK, f"{STACK}-pipeline", {}, metrics_detail=detail.value, stop=stop)


def heartbeat(alarms: list[AlarmResult]) -> AlarmResult:
    [found] = [result for result in alarms if result.spec.name == "HeartbeatAlarm"]
    return found


def heartbeat_rule() -> AlarmRule:
    return heartbeat(summarize(None)[1]).spec.rule


def last_alarm(result: AlarmResult) -> datetime:
    """When the alarm went into the ALARM it ends in."""
    assert result.state is State.ALARM
    return result.changes[-1].at


def test_the_template_heartbeat_is_what_these_tests_derive_from() -> None:
    rule = heartbeat_rule()
    # Sum(ObjectsReported) < 1, M of N, missing breaching, one demo window a period: the figures below
    # follow from these, not from numbers written into the tests.
    assert (rule.statistic, rule.comparison, rule.threshold) == ("Sum", "LessThanThreshold", 1.0)
    assert rule.treat_missing_data == "breaching"
    assert rule.period == DEMO_WINDOW


def earlier_runs(alarms: list[AlarmResult]) -> int:
    """The runs before the real one the stop model adds: the longest warm-up, then a full range."""
    warm_up = max(result.spec.rule.warm_up or timedelta(0) for result in alarms)
    return math.ceil(warm_up / MINUTE) + max(result.spec.rule.evaluation_range for result in alarms)


def test_a_stopped_reporter_adds_no_line_and_the_heartbeat_fires_at_its_silence_bound() -> None:
    summary, alarms = summarize("reporter")
    rule = heartbeat_rule()
    result = heartbeat(alarms)

    # The last heartbeat is the real run's, stamped at the stop: a `breaching` alarm is in ALARM once that
    # datapoint's period has left the N + 2 period range, `silence_bound` after it, and not before.
    assert last_alarm(result) == STOP + silence_bound(rule)
    assert [change.state for change in result.changes if change.at > STOP] == [State.ALARM]
    # The earlier runs carry the stack past its warm-up: no ALARM before the stop, the deploy's included.
    assert State.ALARM not in [change.state for change in result.changes if change.at <= STOP]
    assert result.values[-1] == OBJECTS  # no datapoint after the real one
    minutes = int(silence_bound(rule) / MINUTE)
    assert summary["stop"] == {
        "component": "reporter",
        "at": STOP.isoformat(),
        "minutes": int((STOP - result.origin) / MINUTE),  # from the timeline's origin
        "until": result.evaluations[-1].at.isoformat(),
        "modelled_runs": 0,
        "modelled_lines": 0,
        "modelled_earlier_runs": earlier_runs(alarms),
        "heartbeat": {"HeartbeatAlarm": {"state": "ALARM", "minutes_after_stop": minutes}},
    }
    assert summary["alarms"]["HeartbeatAlarm"]["changes"][-1]["minutes_after_stop"] == minutes
    # The timeline is long enough for every alarm that fills missing data in as breaching.
    assert result.evaluations[-1].at >= STOP + max(silence_bound(r.spec.rule) for r in alarms)


def test_a_stopped_reporter_leaves_the_window_alarms_ok() -> None:
    _, alarms = summarize("reporter")
    for result in alarms:
        if result.spec.name != "HeartbeatAlarm":
            assert result.state is State.OK, result.spec.name


def test_a_stopped_generator_alarms_once_m_runs_in_a_row_reported_zero_objects() -> None:
    summary, alarms = summarize("generator")
    rule = heartbeat_rule()
    result = heartbeat(alarms)

    # The reporter runs on at the stop + 1, 2, ... periods, each heartbeat 0 in its own period; the M-th
    # such run's period ends at the stop + (M + 1) periods, and that evaluation sees M zeros in a row.
    assert last_alarm(result) == STOP + (rule.datapoints_to_alarm + 1) * rule.period
    assert last_alarm(result) < STOP + silence_bound(rule)  # sooner than a silent reporter
    real = earlier_runs(alarms)  # the earlier runs' heartbeats, like the real one's, then the real run's
    assert result.values[: real + 1] == [OBJECTS] * (real + 1)
    assert set(result.values[real + 1 :]) == {0.0}
    assert summary["stop"]["heartbeat"] == {
        "HeartbeatAlarm": {
            "state": "ALARM",
            "minutes_after_stop": int((rule.datapoints_to_alarm + 1) * rule.period / MINUTE),
        }
    }
    assert summary["stop"]["modelled_runs"] == len(result.values) - real - 1


def test_the_modelled_runs_are_what_the_reporter_prints_for_windows_without_objects() -> None:
    emf, windows = real_run(MetricsDetail.FULL)
    specs = alarm_specs(load_template(), NAMES)
    stop = model_stop("generator", specs, emf, windows, MetricsDetail.FULL)

    assert stop.at == STOP
    assert stop.runs == [STOP + index * DEMO_WINDOW for index in range(1, len(stop.runs) + 1)]
    assert stop.runs[-1] == stop.until
    # The real reporter, on an empty manifest, checkpointed at the real run's window, run on that schedule.
    config = ReporterConfig(
        pipeline=STACK,
        namespace=NAMESPACE,
        period=DEMO_WINDOW,
        lag=DEMO_LAG,
        metrics_detail=MetricsDetail.FULL,
    )
    printed: list[dict[str, Any]] = []
    reporter = Reporter(
        config,
        manifest=FakeManifest(),
        traces=FakeTraceSource(),
        items=FakeItems(),
        checkpoints=InMemoryCheckpoints(last=START),
        log=RecordingLog(),
        emit=printed.append,
    )
    for scheduled in stop.runs:
        reporter.run(scheduled)
    assert stop.lines == printed
    heartbeats = [line for line in stop.lines if line["record"] == "run"]
    assert [line["ObjectsReported"] for line in heartbeats] == [0] * len(stop.runs)
    windows_lines = [line for line in stop.lines if line["record"] == "window"]
    assert [line["TransactionsGenerated"] for line in windows_lines] == [0] * len(stop.runs)
    assert all("SuccessRate" not in line for line in windows_lines)  # no rate of nothing: missing


def test_without_stop_the_preview_is_the_real_run_alone() -> None:
    summary, alarms = summarize(None)
    emf, windows = real_run()
    specs = alarm_specs(load_template(), NAMES)
    assert "stop" not in summary
    # The timeline ends a minute after the real heartbeat is visible, with no "after the stop" figures.
    assert [r.evaluations for r in preview(specs, emf, windows)] == [r.evaluations for r in alarms]
    # The heartbeat is put 5 s after the stop; the last whole minute within a minute of that is STOP + 1.
    assert heartbeat(alarms).evaluations[-1].at == STOP + MINUTE
    # A fresh stack (the demo's): the heartbeat is still in its warm-up, with no ALARM and no action.
    assert heartbeat(alarms).state is State.INSUFFICIENT_DATA
    assert heartbeat(alarms).changes == []
    assert all(result.stop is None for result in alarms)
    assert "--stop" not in render(summary, alarms)


@pytest.mark.parametrize("component", ["generator", "reporter"])
def test_the_output_says_what_is_modelled_and_when_the_stop_is(component: str) -> None:
    summary, alarms = summarize(component)
    printed = render(summary, alarms)
    minutes = summary["stop"]["heartbeat"]["HeartbeatAlarm"]["minutes_after_stop"]
    assert "everything after the stop is modelled, not produced by a real run" in printed
    offset = summary["stop"]["minutes"]
    assert f"at {STOP:%H:%M} UTC (+{offset // 60}:{offset % 60:02d}, the end of the run's window)" in printed
    assert f"before it, {earlier_runs(alarms)} earlier runs like the real one (modelled)" in printed
    assert f"  HeartbeatAlarm: ALARM {minutes} min after the stop" in printed
    assert f"({minutes} min after the stop)" in heartbeat(alarms).describe()
    if component == "generator":
        runs = summary["stop"]["modelled_runs"]
        assert f"{runs} runs through" in printed
        assert "a heartbeat with ObjectsReported 0" in printed
    else:
        assert "no run and no line after it" in printed


def test_an_unknown_component_is_refused_by_argparse_in_one_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--stop", "foo"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --stop: invalid choice: 'foo'" in err
    assert "Traceback" not in err


def test_a_run_without_a_heartbeat_cannot_be_modelled() -> None:
    emf, windows = real_run()
    without_heartbeat = [line for line in emf if line["record"] != "run"]
    with pytest.raises(UserError, match="no heartbeat line"):
        model_stop("generator", [], without_heartbeat, windows, MetricsDetail.STANDARD)
