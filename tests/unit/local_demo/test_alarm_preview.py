from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.emf import MetricsDetail
from common.errors import UserError
from demo.alarm_evaluation import AlarmRule, State, silence_bound
from demo.alarm_preview import (
    AlarmSpec,
    alarm_specs,
    evaluate,
    evaluate_timeline,
    metric_samples,
    preview_lines,
    published_after,
    published_by_record,
)
from demo.template import load_template
from reporter.emf import window_emf_lines
from reporter.figures import TransactionFigure, WindowFigures
from reporter.windows import Window

START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
# The demo's windows are a minute long and closed once the pipeline is drained (lag 0).
NAMES = {
    "AWS::StackName": "demo",
    "PipelineFunction": "demo-pipeline",
    "ReporterFunction": "demo-reporter",
    "ReportPeriodMinutes": "1",
}
PUBLISHED = published_after(MINUTE)  # a window's lines are put when the window ends
TRACE_ID = "1-6745a1b0-0123456789abcdef01234567"


def invocation(index: int) -> dict[str, Any]:
    cold = index == 0
    return {
        "trace_id": TRACE_ID,
        "function": "demo-pipeline",
        "cold_start": cold,
        "init_ms": 300.0 if cold else None,
        "dwell_ms": 20.0,
        "invocation_ms": 40.0,
        "overhead_ms": 1.0,
        "calls": [{"service": "DynamoDB", "operation": "PutItem", "duration_ms": 10.0}],
        "function_error": False,
    }


def window(
    index: int, detail: MetricsDetail = MetricsDetail.STANDARD, **figures: Any
) -> tuple[datetime, list[dict[str, Any]]]:
    start = START + timedelta(minutes=index)
    data = WindowFigures(Window(start, start + timedelta(minutes=1)), **figures)
    slowest = 5000.0 if figures.get("lost") else 450.0
    for number, end_to_end in enumerate([400.0] * 9 + [slowest]):
        data.transactions.append(TransactionFigure(f"synthetic/{number}", TRACE_ID, "complete", end_to_end))
        data.add_invocation(invocation(number))
    return start, window_emf_lines(data, "TraceCanary", "demo", detail)


def results(*windows: tuple[datetime, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each alarm at the end of the run: when the last window's lines are published."""
    specs = alarm_specs(load_template(), NAMES)
    lines = [line for _, emitted in windows for line in emitted]
    until = max(start for start, _ in windows) + MINUTE
    return {result.spec.name: result for result in evaluate_timeline(specs, lines, PUBLISHED, until=until)}


def states(*windows: tuple[datetime, list[dict[str, Any]]]) -> dict[str, State]:
    return {name: result.state for name, result in results(*windows).items()}


def window_alarms() -> list[str]:
    """The alarms on a metric the window lines declare when every figure is a metric."""
    _, lines = window(0, MetricsDetail.FULL, generated=10, complete=10)
    declared = metric_samples(lines, PUBLISHED)
    return [spec.name for spec in alarm_specs(load_template(), NAMES) if spec.key in declared]


def test_the_alarms_take_their_period_from_the_report_period() -> None:
    demo = {spec.name: spec.rule.period for spec in alarm_specs(load_template(), NAMES)}
    assert set(demo.values()) == {MINUTE}
    defaults = alarm_specs(
        load_template(), {key: NAMES[key] for key in NAMES if key != "ReportPeriodMinutes"}
    )
    default_minutes = load_template()["Parameters"]["ReportPeriodMinutes"]["Default"]
    assert {spec.rule.period for spec in defaults} == {timedelta(minutes=int(default_minutes))}


@pytest.mark.parametrize("detail", list(MetricsDetail))
def test_a_healthy_run_leaves_every_window_alarm_ok_with_data_at_both_levels(detail: MetricsDetail) -> None:
    found = results(
        window(0, detail, generated=10, complete=10), window(1, detail, generated=10, complete=10)
    )
    assert window_alarms()
    for name in window_alarms():
        assert found[name].state is State.OK, name
        assert found[name].values, f"{name} has no data at {detail}"
        assert None not in found[name].values, f"{name} misses a window at {detail}"


@pytest.mark.parametrize("detail", list(MetricsDetail))
def test_losses_in_two_windows_in_a_row_raise_the_success_rate_alarm(detail: MetricsDetail) -> None:
    result = states(
        window(0, detail, generated=10, complete=9, lost=1),
        window(1, detail, generated=10, complete=9, lost=1),
    )
    assert result["SuccessRateAlarm"] is State.ALARM
    assert (
        result["EndToEndLatencyAlarm"] is State.ALARM
    )  # p99 of ten values is the 5000 ms one: above 3000 ms
    assert result["DwellTimeAlarm"] is State.OK


def test_one_bad_window_then_a_good_one_ends_ok() -> None:
    result = states(window(0, generated=10, complete=9, lost=1), window(1, generated=10, complete=10))
    assert result["SuccessRateAlarm"] is State.OK


def test_function_errors_sum_over_the_window() -> None:
    start, lines = window(0, generated=10, complete=10)
    erring = [line for line in lines if line["record"] == "invocation"][:2]
    for line in erring:
        line["FunctionErrors"] = 1
    assert states((start, lines))["FunctionErrorsAlarm"] is State.ALARM


def lost_alarm() -> AlarmSpec:
    rule = AlarmRule("Sum", 0, "GreaterThanThreshold", MINUTE, 1, 1, "notBreaching")
    return AlarmSpec("LostAlarm", "TraceCanary", "TransactionsLost", {"Pipeline": "demo"}, rule)


def test_a_plain_field_makes_no_datapoint() -> None:
    # At standard TransactionsLost is on the window's line but not declared: CloudWatch has no metric.
    start, lines = window(0, generated=10, complete=9, lost=1)
    [plain] = evaluate_timeline([lost_alarm()], lines, PUBLISHED, until=start + MINUTE)
    assert plain.values == []
    assert plain.state is State.OK
    _, full_lines = window(0, MetricsDetail.FULL, generated=10, complete=9, lost=1)
    [full] = evaluate_timeline([lost_alarm()], full_lines, PUBLISHED, until=start + MINUTE)
    assert full.values == [1.0]
    assert full.state is State.ALARM


def test_a_window_counts_from_the_minute_it_is_published() -> None:
    start, lines = window(0, MetricsDetail.FULL, generated=10, complete=9, lost=1)
    three_minutes_late = published_after(3 * MINUTE)
    [result] = evaluate_timeline([lost_alarm()], lines, three_minutes_late, until=start + 3 * MINUTE)
    assert [change.state for change in result.changes] == [State.OK, State.ALARM]
    assert result.changes[-1].at == start + 3 * MINUTE


# --- a heartbeat-shaped alarm on hand-written lines -----------------------------------------------------


def heartbeat_line(at: datetime, objects: int) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": int(at.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": "TraceCanary",
                    "Dimensions": [["Pipeline"]],
                    "Metrics": [{"Name": "ObjectsReported", "Unit": "Count"}],
                }
            ],
        },
        "Pipeline": "demo",
        "record": "run",
        "ObjectsReported": objects,
    }


def heartbeat_alarm() -> AlarmSpec:
    rule = AlarmRule("Sum", 1, "LessThanThreshold", timedelta(minutes=5), 3, 3, "breaching")
    return AlarmSpec("HeartbeatAlarm", "TraceCanary", "ObjectsReported", {"Pipeline": "demo"}, rule)


def test_each_record_kind_is_published_by_its_own_rule() -> None:
    _, lines = window(0, generated=10, complete=10)
    run = heartbeat_line(START + 6 * MINUTE, 10)
    published = published_by_record(
        {"run": published_after(timedelta(seconds=5))}, default=published_after(MINUTE + 3 * MINUTE)
    )
    samples = metric_samples([*lines, run], published)
    [beat] = samples[heartbeat_alarm().key]
    assert beat.visible_at == START + 6 * MINUTE + timedelta(seconds=5)
    rates = samples[("TraceCanary", "SuccessRate", (("Pipeline", "demo"),))]
    assert [sample.visible_at for sample in rates] == [START + 4 * MINUTE]


def test_the_preview_says_when_the_heartbeat_fires_after_the_reporter_stops() -> None:
    spec = heartbeat_alarm()
    period = spec.rule.period
    runs = [START + index * period for index in range(4)]
    stop = runs[-1] + period  # the run that did not happen
    [result] = evaluate_timeline(
        [spec],
        [heartbeat_line(at, 10) for at in runs],
        published_after(timedelta(seconds=5)),
        until=stop + silence_bound(spec.rule),
        stop=stop,
    )
    alarm_at = runs[-1] + silence_bound(spec.rule)
    after_stop = int((alarm_at - stop) / MINUTE)
    offset = int((alarm_at - START) / MINUTE)
    assert result.state is State.ALARM
    assert result.describe() == (
        "ALARM HeartbeatAlarm: Sum(ObjectsReported) < 1  OK at +0:01, "
        f"ALARM at +{offset // 60}:{offset % 60:02d} ({after_stop} min after the stop)  "
        "[10.0, 10.0, 10.0, 10.0]"
    )
    assert result.to_dict()["changes"][-1] == {
        "state": "ALARM",
        "at": alarm_at.isoformat(),
        "minutes": offset,
        "minutes_after_stop": after_stop,
    }


def test_the_preview_states_its_evaluation_range_assumption() -> None:
    spec = heartbeat_alarm()
    [result] = evaluate_timeline([spec], [heartbeat_line(START, 10)], PUBLISHED, until=START + 2 * MINUTE)
    header, line = preview_lines([result])
    assert "N + 2 periods" in header
    assert "AWS documents no figure" in header
    assert line.strip() == result.describe()


# --- what the preview cannot read ----------------------------------------------------------------------


def template_with(**properties: Any) -> dict[str, Any]:
    alarm = {
        "Namespace": "TraceCanary",
        "MetricName": "SuccessRate",
        "Statistic": "Minimum",
        "Period": {"Fn::FindInMap": ["PeriodSeconds", {"Ref": "ReportPeriodMinutes"}, "Seconds"]},
        "EvaluationPeriods": 2,
        "Threshold": 100,
        "ComparisonOperator": "LessThanThreshold",
        "TreatMissingData": "notBreaching",
        **properties,
    }
    return {
        "Parameters": {"ReportPeriodMinutes": {"Default": 5}, "WarmUp": {"Default": "true"}},
        "Mappings": {"PeriodSeconds": {"1": {"Seconds": 60}, "5": {"Seconds": 300}}},
        "Conditions": {"Warms": {"Fn::Equals": [{"Ref": "WarmUp"}, "true"]}},
        "Resources": {"RateAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": alarm}},
    }


def test_a_warm_up_under_a_condition_is_read() -> None:
    warm_up = {
        "Fn::If": ["Warms", {"WarmUpPeriodDurationInMinutes": 20}, {"Ref": "AWS::NoValue"}],
    }
    [warming] = alarm_specs(template_with(WarmUpConfiguration=warm_up), {})
    assert warming.rule.warm_up == timedelta(minutes=20)
    assert not warming.rule.warm_up_to_the_end
    assert warming.rule.datapoints_to_alarm == 2  # DatapointsToAlarm defaults to EvaluationPeriods
    [cold] = alarm_specs(template_with(WarmUpConfiguration=warm_up), {"WarmUp": "false"})
    assert cold.rule.warm_up is None


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"TreatMissingData": "often"}, "alarm RateAlarm: TreatMissingData 'often' is not one of missing"),
        ({"Threshold": {"Fn::Sub": "${Limit}"}}, "alarm RateAlarm: Fn::Sub is not something the preview"),
        ({"MetricName": {"Ref": "Nothing"}}, "alarm RateAlarm: no value for Ref Nothing"),
        ({"DatapointsToAlarm": 3}, "alarm RateAlarm: DatapointsToAlarm 3 must be 1 to EvaluationPeriods"),
    ],
)
def test_an_alarm_the_preview_cannot_read_is_named_in_one_line(
    properties: dict[str, Any], message: str
) -> None:
    with pytest.raises(UserError, match=message.replace("$", r"\$").replace("{", r"\{")) as caught:
        alarm_specs(template_with(**properties), {})
    assert "\n" not in str(caught.value)


def test_a_bad_emf_line_is_named_by_its_number() -> None:
    broken = heartbeat_line(START, 10)
    del broken["_aws"]["Timestamp"]
    with pytest.raises(UserError, match="EMF line 2: no value for Timestamp"):
        metric_samples([heartbeat_line(START, 10), broken], PUBLISHED)


def test_a_runs_windows_are_evaluated_through_the_last_windows_end() -> None:
    windows = [window(0, generated=10, complete=9, lost=1), window(1, generated=10, complete=9, lost=1)]
    lines = [line for _, emitted in windows for line in emitted]
    starts = [int(start.timestamp() * 1000) for start, _ in windows]
    found = {
        result.spec.name: result for result in evaluate(alarm_specs(load_template(), NAMES), lines, starts)
    }
    rate = found["SuccessRateAlarm"]
    assert rate.evaluations[-1].at == windows[-1][0] + MINUTE
    assert rate.state is State.ALARM
    with pytest.raises(UserError, match="at least one window"):
        evaluate(alarm_specs(load_template(), NAMES), lines, [])
