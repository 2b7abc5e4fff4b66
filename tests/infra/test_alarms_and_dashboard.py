"""The alarms and the dashboard of template.yaml against the metrics the reporter really emits."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reporter.emf import window_emf_lines
from reporter.figures import CallFigures, FunctionFigures, WindowFigures
from reporter.windows import Window

CONTRACT_METRICS = {
    "TransactionsGenerated", "TransactionsComplete", "TransactionsLost", "SuccessRate", "EndToEndLatency",
    "S3NotificationLatency", "Invocations", "ColdStarts", "FunctionErrors", "InitDuration", "DwellTime",
    "InvocationDuration", "OverheadDuration", "ExtensionOverhead", "CallLatency", "CallErrors",
    "CallThrottles", "CallFaults", "ObjectsUploaded", "UploadFailures", "ScheduleLag", "PutLatency",
    "TracesRetrieved", "XRayApiCalls",
}  # fmt: skip


def emitted_metrics() -> dict[str, set[str]]:
    """Metric name -> its dimension names, from EMF the reporter prints for a window with every part."""
    start = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
    figures = WindowFigures(Window(start, start + timedelta(minutes=5)), generated=2, complete=1, lost=1)
    figures.end_to_end_ms.append(300.0)
    figures.s3_notification_ms.append(90.0)
    figures.functions["fn"] = FunctionFigures(1, 1, 0, [200.0], [30.0], [40.0], [1.0], [8.0])
    figures.calls[("fn", "DynamoDB", "PutItem")] = CallFigures([12.0], 0, 0, 0)
    found: dict[str, set[str]] = {}
    for line in window_emf_lines(figures, "TraceCanary", "stack"):
        directive = line["_aws"]["CloudWatchMetrics"][0]
        for metric in directive["Metrics"]:
            found[metric["Name"]] = set(directive["Dimensions"][0])
    return found


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_every_alarm_watches_a_metric_emitted_with_exactly_its_dimensions(template: dict[str, Any]) -> None:
    emitted = emitted_metrics()
    for name, alarm in alarms(template).items():
        if alarm["Namespace"] == "AWS/Lambda":
            continue  # Lambda's own metrics (the reporter failing)
        assert alarm["Namespace"] == {"Ref": "MetricsNamespace"}, name
        dimensions = {dimension["Name"] for dimension in alarm["Dimensions"]}
        assert alarm["MetricName"] in emitted, f"{name} watches {alarm['MetricName']}, which nothing emits"
        assert dimensions == emitted[alarm["MetricName"]], name
        pipeline = next(d["Value"] for d in alarm["Dimensions"] if d["Name"] == "Pipeline")
        assert pipeline == {"Ref": "AWS::StackName"}, name


def test_the_alarms_design_md_asks_for(template: dict[str, Any]) -> None:
    by_metric = {
        (alarm["MetricName"], alarm.get("ExtendedStatistic", alarm.get("Statistic"))): alarm
        for alarm in alarms(template).values()
    }
    success = by_metric[("SuccessRate", "Minimum")]
    assert success["TreatMissingData"] == "breaching"  # a silent generator or reporter alarms too
    assert (success["EvaluationPeriods"], success["DatapointsToAlarm"]) == (2, 2)
    assert success["ComparisonOperator"] == "LessThanThreshold"
    for metric in ("EndToEndLatency", "DwellTime", "InitDuration", "CallLatency"):
        assert by_metric[(metric, "p99")]["ComparisonOperator"] == "GreaterThanThreshold", metric
    dynamodb = by_metric[("CallLatency", "p99")]["Dimensions"]
    assert {"Name": "Service", "Value": "DynamoDB"} in dynamodb
    assert {"Name": "Operation", "Value": "PutItem"} in dynamodb
    assert by_metric[("FunctionErrors", "Sum")]["Threshold"] == 0
    assert ("Errors", "Sum") in by_metric  # the reporter failing
    for name, alarm in alarms(template).items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["Period"] == {
            "Fn::FindInMap": ["PeriodSeconds", {"Ref": "ReportPeriodMinutes"}, "Seconds"]
        }


@pytest.fixture
def dashboard(template: dict[str, Any]) -> dict[str, Any]:
    body, _variables = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    substituted = re.sub(r"\$\{[^}]+\}", "1", body)  # every ${...} CloudFormation fills in
    parsed: dict[str, Any] = json.loads(substituted)
    return parsed


def test_the_dashboard_shows_every_contract_metric_and_every_alarm(
    dashboard: dict[str, Any], template: dict[str, Any]
) -> None:
    text = json.dumps(dashboard)
    for metric in CONTRACT_METRICS:
        assert f'"{metric}"' in text or f'\\"{metric}\\"' in text, f"{metric} is not on the dashboard"
    [alarm_widget] = [widget for widget in dashboard["widgets"] if widget["type"] == "alarm"]
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    for name in alarms(template):
        assert f"${{{name}.Arn}}" in body, f"{name} is not on the dashboard"
    assert len(alarm_widget["properties"]["alarms"]) == len(alarms(template))
