from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.emf import MetricsDetail
from demo.alarm_preview import AlarmSpec, alarm_specs, evaluate
from demo.template import load_template
from reporter.emf import window_emf_lines
from reporter.figures import TransactionFigure, WindowFigures
from reporter.windows import Window

START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
NAMES = {"AWS::StackName": "demo", "PipelineFunction": "demo-pipeline", "ReporterFunction": "demo-reporter"}
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
) -> tuple[int, list[dict[str, Any]]]:
    start = START + timedelta(minutes=index)
    data = WindowFigures(Window(start, start + timedelta(minutes=1)), **figures)
    slowest = 5000.0 if figures.get("lost") else 450.0
    for number, end_to_end in enumerate([400.0] * 9 + [slowest]):
        data.transactions.append(TransactionFigure(f"synthetic/{number}", TRACE_ID, "complete", end_to_end))
        data.add_invocation(invocation(number))
    return int(start.timestamp() * 1000), window_emf_lines(data, "TraceCanary", "demo", detail)


def states(*windows: tuple[int, list[dict[str, Any]]]) -> dict[str, str]:
    specs = alarm_specs(load_template(), NAMES)
    lines = [line for _, emitted in windows for line in emitted]
    return {
        result.spec.name: result.state for result in evaluate(specs, lines, [start for start, _ in windows])
    }


@pytest.mark.parametrize("detail", list(MetricsDetail))
def test_a_healthy_run_leaves_every_alarm_ok_with_data_at_both_levels(detail: MetricsDetail) -> None:
    windows = [window(0, detail, generated=10, complete=10), window(1, detail, generated=10, complete=10)]
    result = states(*windows)
    assert set(result.values()) == {"OK"}
    assert len(result) == 8
    specs = alarm_specs(load_template(), NAMES)
    lines = [line for _, emitted in windows for line in emitted]
    for alarm in evaluate(specs, lines, [start for start, _ in windows]):
        if alarm.spec.namespace != "AWS/Lambda":  # the reporter's errors are Lambda's own metric
            assert None not in alarm.values, f"{alarm.spec.name} has no data at {detail}"


@pytest.mark.parametrize("detail", list(MetricsDetail))
def test_losses_in_two_windows_in_a_row_raise_the_success_rate_alarm(detail: MetricsDetail) -> None:
    result = states(
        window(0, detail, generated=10, complete=9, lost=1),
        window(1, detail, generated=10, complete=9, lost=1),
    )
    assert result["SuccessRateAlarm"] == "ALARM"
    assert result["EndToEndLatencyAlarm"] == "ALARM"  # p99 of ten values is the 5000 ms one: above 3000 ms
    assert result["DwellTimeAlarm"] == "OK"


def test_one_bad_window_of_two_is_not_enough_for_two_of_two() -> None:
    result = states(window(0, generated=10, complete=9, lost=1), window(1, generated=10, complete=10))
    assert result["SuccessRateAlarm"] == "OK"


def test_a_single_window_run_decides_on_that_window() -> None:
    assert states(window(0, generated=10, complete=9, lost=1))["SuccessRateAlarm"] == "ALARM"


def test_a_window_with_no_success_rate_counts_as_breaching() -> None:
    # Nothing generated: no SuccessRate datapoint, and the alarm treats missing data as breaching.
    result = states(window(0), window(1))
    assert result["SuccessRateAlarm"] == "ALARM"
    assert result["FunctionErrorsAlarm"] == "OK"


def test_function_errors_sum_over_the_window() -> None:
    start, lines = window(0, generated=10, complete=10)
    erring = [line for line in lines if line["record"] == "invocation"][:2]
    for line in erring:
        line["FunctionErrors"] = 1
    assert states((start, lines))["FunctionErrorsAlarm"] == "ALARM"


def test_a_plain_field_makes_no_datapoint() -> None:
    # At standard TransactionsLost is on the window's line but not declared: CloudWatch has no metric.
    start, lines = window(0, generated=10, complete=9, lost=1)
    spec = AlarmSpec(
        name="LostAlarm",
        namespace="TraceCanary",
        metric="TransactionsLost",
        dimensions={"Pipeline": "demo"},
        statistic="Sum",
        threshold=0,
        comparison="GreaterThanThreshold",
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data="notBreaching",
    )
    [plain] = evaluate([spec], lines, [start])
    assert plain.values == [None]
    [full] = evaluate([spec], window(0, MetricsDetail.FULL, generated=10, complete=9, lost=1)[1], [start])
    assert full.values == [1.0]
