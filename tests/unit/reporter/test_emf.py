from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reporter.emf import window_emf_lines
from reporter.figures import WindowFigures
from reporter.windows import Window

START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(minutes=5))
START_MS = 1795608300000  # 2026-11-25T12:05:00Z in epoch milliseconds


def invocation(function: str = "tc-pipeline", **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "trace_id": "1-6745a1b0-0123456789abcdef01234567",
        "function": function,
        "start": 1795608301.5,
        "cold_start": False,
        "init_ms": None,
        "invocation_ms": 40.0,
        "overhead_ms": 1.5,
        "dwell_ms": 30.0,
        "attempts": 1,
        "s3_notification_ms": 120.0,
        "calls": [
            {
                "service": "DynamoDB",
                "operation": "PutItem",
                "resource": "items",
                "duration_ms": 12.0,
                "error": False,
                "fault": False,
                "throttle": False,
            }
        ],
        "function_error": False,
        "complete": True,
    }
    record.update(overrides)
    return record


def by_dimensions(lines: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    grouped: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for line in lines:
        [dimensions] = line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        grouped.setdefault(tuple(dimensions), []).append(line)
    return grouped


def test_the_window_becomes_contract_metrics_with_the_windows_timestamp() -> None:
    figures = WindowFigures(WINDOW, generated=3, complete=2, lost=1, traces_retrieved=2, xray_api_calls=1)
    figures.end_to_end_ms += [200.0, 260.0]
    figures.add_invocation(invocation(cold_start=True, init_ms=250.0))
    figures.add_invocation(
        invocation(
            calls=[
                {
                    "service": "DynamoDB",
                    "operation": "PutItem",
                    "resource": "items",
                    "duration_ms": 30.0,
                    "error": True,
                    "fault": False,
                    "throttle": True,
                }
            ]
        )
    )

    lines = window_emf_lines(figures, "TraceCanary", "tc")
    assert {line["_aws"]["Timestamp"] for line in lines} == {START_MS}
    grouped = by_dimensions(lines)
    assert set(grouped) == {
        ("Pipeline",),
        ("Pipeline", "FunctionName"),
        ("Pipeline", "FunctionName", "Service", "Operation"),
    }
    [pipeline] = grouped[("Pipeline",)]
    assert pipeline["Pipeline"] == "tc"
    assert pipeline["TransactionsGenerated"] == [3.0]
    assert pipeline["TransactionsComplete"] == [2.0]
    assert pipeline["TransactionsLost"] == [1.0]
    assert pipeline["SuccessRate"] == [pytest.approx(200 / 3)]
    assert pipeline["EndToEndLatency"] == [200.0, 260.0]
    assert pipeline["S3NotificationLatency"] == [120.0, 120.0]
    assert (pipeline["TracesRetrieved"], pipeline["XRayApiCalls"]) == ([2.0], [1.0])
    units = {metric["Name"]: metric["Unit"] for metric in pipeline["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["SuccessRate"] == "Percent"
    assert units["EndToEndLatency"] == "Milliseconds"

    [function] = grouped[("Pipeline", "FunctionName")]
    assert function["FunctionName"] == "tc-pipeline"
    assert (function["Invocations"], function["ColdStarts"], function["FunctionErrors"]) == (
        [2.0],
        [1.0],
        [0.0],
    )
    assert function["InitDuration"] == [250.0]
    assert function["DwellTime"] == [30.0, 30.0]

    [call] = grouped[("Pipeline", "FunctionName", "Service", "Operation")]
    assert (call["Service"], call["Operation"]) == ("DynamoDB", "PutItem")
    assert call["CallLatency"] == [12.0, 30.0]
    assert (call["CallErrors"], call["CallThrottles"], call["CallFaults"]) == ([1.0], [1.0], [0.0])


def test_no_success_rate_when_nothing_was_generated() -> None:
    [line] = window_emf_lines(WindowFigures(WINDOW), "TraceCanary", "tc")
    assert "SuccessRate" not in line
    assert line["TransactionsGenerated"] == [0.0]


def test_no_service_dimension_sneaks_in(monkeypatch: Any) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "reporter")
    [line] = window_emf_lines(WindowFigures(WINDOW, generated=1), "TraceCanary", "tc")
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Pipeline"]]
    assert "service" not in line


def test_more_than_100_values_spill_into_more_lines_and_lose_none() -> None:
    figures = WindowFigures(WINDOW, generated=250, complete=250)
    figures.end_to_end_ms += [float(value) for value in range(250)]
    lines = by_dimensions(window_emf_lines(figures, "TraceCanary", "tc"))[("Pipeline",)]
    chunks = [line["EndToEndLatency"] for line in lines if "EndToEndLatency" in line]
    assert all(len(chunk) <= 100 for chunk in chunks)
    assert [value for chunk in chunks for value in chunk] == [float(value) for value in range(250)]
    assert sum(line.get("TransactionsGenerated", [0.0])[0] for line in lines) == 250.0  # counted once


def test_extension_overhead_is_a_metric_only_where_traces_carry_it() -> None:
    without = WindowFigures(WINDOW, generated=1, complete=1)
    without.add_invocation(invocation(format="v2", runtime_overhead_ms=1.2, extension_overhead_ms=None))
    names = {
        metric["Name"]
        for line in window_emf_lines(without, "TraceCanary", "tc")
        for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    assert "ExtensionOverhead" not in names  # no metric, so nothing to pay for
    assert "OverheadDuration" in names

    with_extension = WindowFigures(WINDOW, generated=2, complete=2)
    with_extension.add_invocation(invocation(format="v2", extension_overhead_ms=330.277))
    with_extension.add_invocation(invocation(function="tc-other", format="v2", extension_overhead_ms=None))
    [line] = [
        line
        for line in window_emf_lines(with_extension, "TraceCanary", "tc")
        if any(m["Name"] == "ExtensionOverhead" for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"])
    ]
    assert line["FunctionName"] == "tc-pipeline"
    assert line["ExtensionOverhead"] == [330.277]
    unit = next(
        m for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"] if m["Name"] == "ExtensionOverhead"
    )
    assert unit["Unit"] == "Milliseconds"
    assert line["_aws"]["Timestamp"] == START_MS
