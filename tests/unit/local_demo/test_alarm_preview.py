from datetime import UTC, datetime, timedelta
from typing import Any

from demo.alarm_preview import alarm_specs, evaluate
from demo.template import load_template
from reporter.emf import window_emf_lines
from reporter.figures import CallFigures, FunctionFigures, WindowFigures
from reporter.windows import Window

START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
NAMES = {"AWS::StackName": "demo", "PipelineFunction": "demo-pipeline", "ReporterFunction": "demo-reporter"}


def window(index: int, **figures: Any) -> tuple[int, list[dict[str, Any]]]:
    start = START + timedelta(minutes=index)
    data = WindowFigures(Window(start, start + timedelta(minutes=1)), **figures)
    data.end_to_end_ms += [400.0] * 9 + [5000.0 if figures.get("lost") else 450.0]
    data.functions["demo-pipeline"] = FunctionFigures(10, 1, 0, [300.0], [20.0] * 10, [40.0] * 10, [1.0] * 10)
    data.calls[("demo-pipeline", "DynamoDB", "PutItem")] = CallFigures([10.0] * 10, 0, 0, 0)
    return int(start.timestamp() * 1000), window_emf_lines(data, "TraceCanary", "demo")


def states(*windows: tuple[int, list[dict[str, Any]]]) -> dict[str, str]:
    specs = alarm_specs(load_template(), NAMES)
    lines = [line for _, emitted in windows for line in emitted]
    return {
        result.spec.name: result.state for result in evaluate(specs, lines, [start for start, _ in windows])
    }


def test_a_healthy_run_leaves_every_alarm_ok() -> None:
    result = states(window(0, generated=10, complete=10), window(1, generated=10, complete=10))
    assert set(result.values()) == {"OK"}
    assert len(result) == 7


def test_losses_in_two_windows_in_a_row_raise_the_success_rate_alarm() -> None:
    result = states(window(0, generated=10, complete=9, lost=1), window(1, generated=10, complete=9, lost=1))
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
    for line in lines:
        if "FunctionErrors" in line:
            line["FunctionErrors"] = [2.0]
    assert states((start, lines))["FunctionErrorsAlarm"] == "ALARM"
