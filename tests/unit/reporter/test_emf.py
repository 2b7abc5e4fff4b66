from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.emf import METRIC_PLAN, MetricsDetail, declared_metrics
from reporter.emf import window_emf_lines
from reporter.figures import TransactionFigure, WindowFigures
from reporter.windows import Window

START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(minutes=5))
START_MS = 1795608300000  # 2026-11-25T12:05:00Z in epoch milliseconds
TRACE_ID = "1-6745a1b0-0123456789abcdef01234567"
STANDARD, FULL = MetricsDetail.STANDARD, MetricsDetail.FULL


def invocation(function: str = "tc-pipeline", **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "trace_id": TRACE_ID,
        "function": function,
        "start": 1795608301.5,
        "format": "v1",
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


def sample_window() -> WindowFigures:
    """Three objects: two complete (one of them cold, one with a throttled call), one lost."""
    figures = WindowFigures(WINDOW, generated=3, complete=2, lost=1, traces_retrieved=2, xray_api_calls=1)
    figures.transactions += [
        TransactionFigure("synthetic/a", TRACE_ID, "complete", 200.0, 120.0, 35.0),
        TransactionFigure("synthetic/b", TRACE_ID, "complete", 260.0, 120.0, 30.0),
        TransactionFigure("synthetic/c", "1-6745a1b0-ffffffffffffffffffffffff", "lost", missing=("no item",)),
    ]
    figures.add_invocation(invocation(cold_start=True, init_ms=250.0))
    throttled = {**invocation()["calls"][0], "duration_ms": 30.0, "error": True, "throttle": True}
    figures.add_invocation(invocation(calls=[throttled]))
    return figures


def by_record(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        grouped.setdefault(line["record"], []).append(line)
    return grouped


def test_one_line_for_the_window_then_one_per_object_invocation_and_call() -> None:
    grouped = by_record(window_emf_lines(sample_window(), "TraceCanary", "tc", FULL))
    assert {name: len(lines) for name, lines in grouped.items()} == {
        "window": 1,
        "transaction": 3,
        "invocation": 2,
        "call": 2,
    }
    [window] = grouped["window"]
    assert {key: value for key, value in window.items() if key != "_aws"} == {
        "Pipeline": "tc",
        "record": "window",
        "window": "2026-11-25T12:05:00Z",
        "window_end": "2026-11-25T12:10:00Z",
        "TransactionsGenerated": 3,
        "TransactionsComplete": 2,
        "TransactionsLost": 1,
        "TransactionsError": 0,
        "TransactionsIncomplete": 0,
        "TransactionsUntraced": 0,
        "SuccessRate": pytest.approx(200 / 3),
        "UntracedShare": 0.0,
        "TracesRetrieved": 2,
        "XRayApiCalls": 1,
    }
    lost = grouped["transaction"][2]
    assert (lost["key"], lost["verdict"], lost["missing"]) == ("synthetic/c", "lost", "no item")
    assert "EndToEndLatency" not in lost  # nothing measured,
    assert "_aws" not in lost  # so nothing declared
    cold, warm = grouped["invocation"]
    assert (cold["FunctionName"], cold["trace_id"]) == ("tc-pipeline", TRACE_ID)
    assert (cold["Invocations"], cold["ColdStarts"], cold["FunctionErrors"]) == (1, 1, 0)
    assert (cold["InitDuration"], cold["DwellTime"], cold["InvocationDuration"]) == (250.0, 30.0, 40.0)
    assert "InitDuration" not in warm
    calls = grouped["call"]
    assert [(c["Service"], c["Operation"], c["CallLatency"]) for c in calls] == [
        ("DynamoDB", "PutItem", 12.0),
        ("DynamoDB", "PutItem", 30.0),
    ]
    assert (calls[1]["CallErrors"], calls[1]["CallThrottles"], calls[1]["CallFaults"]) == (1, 1, 0)


@pytest.mark.parametrize("detail", [STANDARD, FULL])
def test_every_line_is_timestamped_with_the_windows_start(detail: MetricsDetail) -> None:
    lines = window_emf_lines(sample_window(), "TraceCanary", "tc", detail)
    assert {line["_aws"]["Timestamp"] for line in lines if "_aws" in line} == {START_MS}
    assert {line["window"] for line in lines} == {"2026-11-25T12:05:00Z"}


def test_standard_declares_only_what_alarms_and_headline_graphs_need() -> None:
    lines = window_emf_lines(sample_window(), "TraceCanary", "tc", STANDARD)
    pipeline = (("Pipeline", "tc"),)
    function = (*pipeline, ("FunctionName", "tc-pipeline"))
    call = (*function, ("Service", "DynamoDB"), ("Operation", "PutItem"))
    assert declared_metrics(lines) == {
        ("SuccessRate", pipeline),
        ("TransactionsGenerated", pipeline),
        ("EndToEndLatency", pipeline),
        ("DwellTime", function),
        ("InitDuration", function),
        ("FunctionErrors", function),
        ("CallLatency", call),
        ("UntracedShare", pipeline),
    }
    # The rest is still on the lines, as plain fields: the same values, not billed.
    window = by_record(lines)["window"][0]
    assert window["TransactionsComplete"] == 2
    [directive] = window["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Pipeline"]]
    assert directive["Metrics"] == [
        {"Name": "TransactionsGenerated", "Unit": "Count"},
        {"Name": "SuccessRate", "Unit": "Percent"},
        {"Name": "UntracedShare", "Unit": "Percent"},
    ]


def test_full_declares_every_figure_of_the_contract_with_its_dimensions() -> None:
    figures = sample_window()
    figures.add_invocation(invocation(format="v2", extension_overhead_ms=30.0))
    lines = window_emf_lines(figures, "TraceCanary", "tc", FULL)
    declared = {name: dict(dimensions) for name, dimensions in declared_metrics(lines)}
    reporter_metrics = {
        name for name, planned in METRIC_PLAN.items() if planned.dimensions != ("Pipeline", "service")
    } - {"ObjectsUploaded", "UploadFailures", "ScheduleLag", "PutLatency", "ObjectsReported"}
    assert set(declared) == reporter_metrics  # ObjectsReported is on the run's line, not a window's
    for name, dimensions in declared.items():
        assert tuple(dimensions) == METRIC_PLAN[name].dimensions, name
    [transaction] = [line for line in lines if line["record"] == "transaction"][:1]
    directive = transaction["_aws"]["CloudWatchMetrics"][0]
    assert directive["Metrics"] == [
        {"Name": "EndToEndLatency", "Unit": "Milliseconds"},
        {"Name": "S3NotificationLatency", "Unit": "Milliseconds"},
    ]


def test_no_success_rate_when_nothing_was_generated() -> None:
    [line] = window_emf_lines(WindowFigures(WINDOW), "TraceCanary", "tc")
    assert "SuccessRate" not in line
    assert line["TransactionsGenerated"] == 0
    assert line["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "TransactionsGenerated", "Unit": "Count"}
    ]


def test_no_service_dimension_sneaks_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "reporter")
    [line] = window_emf_lines(WindowFigures(WINDOW, generated=1), "TraceCanary", "tc", FULL)
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Pipeline"]]
    assert "service" not in line


def test_a_large_window_is_one_value_per_figure_per_line_and_loses_none() -> None:
    figures = WindowFigures(WINDOW, generated=250, complete=250)
    figures.transactions += [
        TransactionFigure(f"synthetic/{i}", TRACE_ID, "complete", float(i)) for i in range(250)
    ]
    lines = window_emf_lines(figures, "TraceCanary", "tc", FULL)
    for line in lines:
        assert not any(isinstance(value, list) for value in line.values()), line
    assert [line["EndToEndLatency"] for line in lines if "EndToEndLatency" in line] == [
        float(i) for i in range(250)
    ]
    assert sum(line.get("TransactionsGenerated", 0) for line in lines) == 250  # counted once


@pytest.mark.parametrize("detail", [STANDARD, FULL])
def test_extension_overhead_is_a_figure_only_where_traces_carry_it(detail: MetricsDetail) -> None:
    without = WindowFigures(WINDOW, generated=1, complete=1)
    without.add_invocation(invocation(format="v2", runtime_overhead_ms=1.2, extension_overhead_ms=None))
    [line] = [
        line
        for line in window_emf_lines(without, "TraceCanary", "tc", detail)
        if line["record"] == "invocation"
    ]
    assert "ExtensionOverhead" not in line  # no value, so no metric to pay for at either level
    assert line["RuntimeOverhead"] == 1.2

    with_extension = WindowFigures(WINDOW, generated=2, complete=2)
    with_extension.add_invocation(invocation(format="v2", extension_overhead_ms=330.277))
    with_extension.add_invocation(invocation(function="tc-other", format="v2", extension_overhead_ms=None))
    lines = window_emf_lines(with_extension, "TraceCanary", "tc", detail)
    [line] = [line for line in lines if "ExtensionOverhead" in line]
    assert line["FunctionName"] == "tc-pipeline"
    assert line["ExtensionOverhead"] == 330.277
    declared = {name for name, _ in declared_metrics(lines)}
    assert ("ExtensionOverhead" in declared) is (detail is FULL)
    if detail is FULL:
        extension = next(
            directive
            for directive in line["_aws"]["CloudWatchMetrics"]
            if directive["Dimensions"] == [["Pipeline", "FunctionName"]]
        )
        assert {"Name": "ExtensionOverhead", "Unit": "Milliseconds"} in extension["Metrics"]
