"""The alarms and the dashboard of template.yaml against the record lines the functions really emit."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.emf import METRIC_PLAN, MetricsDetail, declared_metrics
from generator.manifest import ManifestRecord, Outcome
from generator.metrics import run_record_lines
from pipeline.metrics import event_record_line
from pipeline.processor import EventOutcome
from pipeline.settings import PipelineSettings
from reporter.emf import run_emf_line, window_emf_lines
from reporter.figures import TransactionFigure, WindowFigures
from reporter.windows import Window

CONTRACT_METRICS = {
    "TransactionsGenerated", "TransactionsComplete", "TransactionsLost", "SuccessRate", "EndToEndLatency",
    "S3NotificationLatency", "Invocations", "ColdStarts", "FunctionErrors", "InitDuration", "DwellTime",
    "InvocationDuration", "OverheadDuration", "ExtensionOverhead", "CallLatency", "CallErrors",
    "CallThrottles", "CallFaults", "ObjectsUploaded", "UploadFailures", "ScheduleLag", "PutLatency",
    "TracesRetrieved", "XRayApiCalls",
}  # fmt: skip
PIPELINE_OWN_METRICS = {"ItemsWritten", "DuplicatesSkipped", "RecordsFailed"}
LEVELS = list(MetricsDetail)
# The log group each kind of record line is printed to.
LOG_GROUPS = {
    "ReporterLogGroup": {"window", "transaction", "invocation", "call", "run"},
    "GeneratorLogGroup": {"generator_object", "generator_run"},
    "PipelineLogGroup": {"pipeline_event"},
    "PipelineOtelLogGroup": {"pipeline_event"},
}
TWIN = "DeployOpenTelemetryTwin"
# Each MetricsDetail, with and without the OpenTelemetry twin.
RENDERINGS = [(detail, twin) for detail in LEVELS for twin in (False, True)]


def emitted_lines(detail: MetricsDetail) -> list[dict[str, Any]]:
    """Record lines of every kind, as the functions print them: a window with every part, a generator
    run and a pipeline event."""
    start = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
    figures = WindowFigures(Window(start, start + timedelta(minutes=5)), generated=2, complete=1, lost=1)
    trace_id = "1-6745a1b0-0123456789abcdef01234567"
    figures.transactions += [
        TransactionFigure(
            "synthetic/powertools/a", trace_id, "complete", 300.0, 90.0, 30.0, variant="powertools"
        ),
        TransactionFigure(
            "synthetic/opentelemetry/b",
            trace_id,
            "lost",
            missing=("no item in the table",),
            variant="opentelemetry",
        ),
    ]
    call = {"service": "DynamoDB", "operation": "PutItem", "duration_ms": 12.0}
    figures.add_invocation(
        {
            "function": "fn",
            "trace_id": trace_id,
            "cold_start": True,
            "init_ms": 200.0,
            "dwell_ms": 30.0,
            "invocation_ms": 40.0,
            "overhead_ms": 1.0,
            "extension_overhead_ms": 8.0,
            "calls": [call],
        }
    )
    planned = 1795608301.0
    record = ManifestRecord(
        "run", 0, "b", "synthetic/a", trace_id, "s", "p", planned, Outcome.SENT, 1, "text/plain", planned, 20
    )  # fmt: skip
    settings = PipelineSettings("items", "stack", service_name="pipeline", metrics_detail=detail)
    return [
        *window_emf_lines(figures, "TraceCanary", "stack", detail),
        run_emf_line(
            start + timedelta(minutes=8),
            windows=[figures.window.label()],
            objects=2,
            deferred=None,
            namespace="TraceCanary",
            pipeline="stack",
            detail=detail,
        ),
        *run_record_lines([record], run_id="run", pipeline="stack", namespace="TraceCanary", detail=detail),
        event_record_line(EventOutcome(total=1, written=["synthetic/a"]), settings, trace_id),
    ]


def emitted_metrics(detail: MetricsDetail) -> dict[str, set[str]]:
    """Metric name -> its dimension names, as the lines declare them."""
    return {
        name: {dimension for dimension, _ in values}
        for name, values in declared_metrics(emitted_lines(detail))
    }


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


@pytest.mark.parametrize("detail", LEVELS)
def test_every_alarm_watches_a_metric_emitted_with_exactly_its_dimensions(
    template: dict[str, Any], detail: MetricsDetail
) -> None:
    emitted = emitted_metrics(detail)
    for name, alarm in alarms(template).items():
        if alarm["Namespace"] == "AWS/Lambda":
            continue  # Lambda's own metrics (the reporter failing)
        assert alarm["Namespace"] == {"Ref": "MetricsNamespace"}, name
        dimensions = {dimension["Name"] for dimension in alarm["Dimensions"]}
        assert alarm["MetricName"] in emitted, (
            f"{name} watches {alarm['MetricName']}, not a metric at {detail}"
        )
        assert dimensions == emitted[alarm["MetricName"]], name
        pipeline = next(d["Value"] for d in alarm["Dimensions"] if d["Name"] == "Pipeline")
        assert pipeline == {"Ref": "AWS::StackName"}, name
        assert METRIC_PLAN[alarm["MetricName"]].standard, f"{name}: its metric must be one at standard"


def test_the_alarms_design_md_asks_for(template: dict[str, Any]) -> None:
    by_metric = {
        (alarm["MetricName"], alarm.get("ExtendedStatistic", alarm.get("Statistic"))): alarm
        for alarm in alarms(template).values()
    }
    success = by_metric[("SuccessRate", "Minimum")]
    # Its newest periods are always unpublished: missing is not a failure; silence is the heartbeat's.
    assert success["TreatMissingData"] == "notBreaching"
    heartbeat = by_metric[("ObjectsReported", "Sum")]
    assert heartbeat["TreatMissingData"] == "breaching"  # a stopped reporter alarms
    assert (heartbeat["Threshold"], heartbeat["ComparisonOperator"]) == (1, "LessThanThreshold")
    assert heartbeat["EvaluationPeriods"] == heartbeat["DatapointsToAlarm"] == 4  # 3 deferrals + 1
    window_alarms = [a for a in alarms(template).values() if a["MetricName"] != "ObjectsReported"]
    assert all(alarm["TreatMissingData"] != "breaching" for alarm in window_alarms)
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


def test_the_full_level_is_a_condition_on_the_parameter(template: dict[str, Any]) -> None:
    assert template["Parameters"]["MetricsDetail"]["AllowedValues"] == ["standard", "full"]
    assert template["Parameters"]["MetricsDetail"]["Default"] == "standard"
    assert template["Conditions"]["FullMetrics"] == {"Fn::Equals": [{"Ref": "MetricsDetail"}, "full"]}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["METRICS_DETAIL"] == {"Ref": "MetricsDetail"}


def _chosen(variables: dict[str, Any], name: str, condition: str, true: bool) -> str:
    """A `!If [condition, a, b]` variable's text: a's or b's (a `!Sub` one's template)."""
    found, when_true, when_false = variables[name]["Fn::If"]
    assert found == condition, name
    chosen = when_true if true else when_false
    if isinstance(chosen, str):
        return chosen
    sub = chosen["Fn::Sub"]
    return sub if isinstance(sub, str) else str(sub[0])


def _twin_variables(text: str, variables: dict[str, Any], twin: bool) -> str:
    for name in [name for name in variables if name.startswith("Twin")]:
        text = text.replace(f"${{{name}}}", _chosen(variables, name, TWIN, twin))
    return text


def dashboard(template: dict[str, Any], detail: MetricsDetail, twin: bool = False) -> dict[str, Any]:
    """The dashboard as CloudFormation renders it at `detail`, with or without the OpenTelemetry twin: the
    conditions' widgets and names put in, names kept as <Name> and the period as 300 s."""
    body, variables = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    condition, full, standard = variables["DetailWidgets"]["Fn::If"]
    assert condition == "FullMetrics"
    chosen, detail_variables = (full if detail is MetricsDetail.FULL else standard)["Fn::Sub"]
    text = body.replace("${DetailWidgets}", _twin_variables(chosen, detail_variables, twin))
    text = _twin_variables(text, variables, twin)
    text = re.sub(
        r"\$\{([^}]+)\}", lambda name: "300" if name[1] == "PeriodSeconds" else f"<{name[1]}>", text
    )
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def graphed_metrics(widget: dict[str, Any]) -> set[str]:
    names = set()
    for entry in widget["properties"]["metrics"]:
        if isinstance(entry, list):
            names.add(entry[1])
        else:
            names.update(re.findall(r'MetricName="(\w+)"', entry["expression"]))
    return names


def queried_fields(query: str) -> tuple[str, set[str]]:
    """The record kind a Logs Insights query filters on and every field it reads."""
    [record] = re.findall(r"record = '(\w+)'", query)
    fields = set(re.findall(r"(?:sum|pct|ispresent)\((\w+)", query))
    fields |= set(re.findall(r"sort (\w+)", query)) - {"@timestamp"}
    for display in re.findall(r"display ([\w, ]+)", query):
        fields |= {name.strip() for name in display.split(",")}
    fields |= set(re.findall(r"and (\w+) !=", query))
    return record, fields


@pytest.mark.parametrize("detail", LEVELS)
def test_the_dashboard_shows_every_figure_as_a_metric_or_a_logs_insights_query(
    template: dict[str, Any], detail: MetricsDetail
) -> None:
    widgets = dashboard(template, detail)["widgets"]
    declared = set(emitted_metrics(detail)) | (
        {"ExtensionOverhead"} if detail is MetricsDetail.FULL else set()
    )
    graphed = set().union(*(graphed_metrics(w) for w in widgets if w["type"] == "metric"))
    assert graphed <= declared, f"metric widgets for what is no metric at {detail}: {graphed - declared}"
    queries = [w["properties"]["query"] for w in widgets if w["type"] == "log"]
    queried = set().union(*(queried_fields(query)[1] for query in queries))
    for metric in CONTRACT_METRICS | PIPELINE_OWN_METRICS:
        assert metric in graphed or metric in queried, f"{metric} is not on the dashboard at {detail}"
        if metric not in declared:
            assert metric in queried, (
                f"{metric} is a plain field at {detail}: it needs a Logs Insights widget"
            )


@pytest.mark.parametrize("detail", LEVELS)
def test_each_logs_insights_widget_reads_fields_its_records_carry_and_says_its_cost(
    template: dict[str, Any], detail: MetricsDetail
) -> None:
    carried: dict[str, set[str]] = {}
    for line in emitted_lines(MetricsDetail.STANDARD):
        carried.setdefault(line["record"], set()).update(line)
    for widget in dashboard(template, detail)["widgets"]:
        if widget["type"] != "log":
            continue
        properties = widget["properties"]
        assert "$0.005/GB scanned" in properties["title"], properties["title"]
        sources = re.findall(r"SOURCE '<(\w+)>' \|", properties["query"])
        assert properties["query"].startswith("SOURCE '"), properties["title"]
        record, fields = queried_fields(properties["query"])
        for source in sources:
            assert record in LOG_GROUPS[source], f"{properties['title']}: {record} lines are not in {source}"
        assert fields <= carried[record], f"{properties['title']}: {fields - carried[record]} not on {record}"


@pytest.mark.parametrize(("detail", "twin"), RENDERINGS)
def test_the_dashboard_shows_every_alarm(template: dict[str, Any], detail: MetricsDetail, twin: bool) -> None:
    widgets = dashboard(template, detail, twin)["widgets"]
    [alarm_widget] = [widget for widget in widgets if widget["type"] == "alarm"]
    deployed = [
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm" and (twin or resource.get("Condition") != TWIN)
    ]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(f"<{name}.Arn>" for name in deployed)


def test_the_pipeline_widget_reads_both_twins_log_groups_when_both_are_deployed(
    template: dict[str, Any],
) -> None:
    detail = MetricsDetail.STANDARD  # at full it is a metric widget, by the service dimension

    def pipeline_sources(twin: bool) -> list[list[str]]:
        queries = [
            w["properties"]["query"]
            for w in dashboard(template, detail, twin)["widgets"]
            if w["type"] == "log"
        ]
        return [re.findall(r"SOURCE '<(\w+)>'", q) for q in queries if "pipeline_event" in q]

    assert pipeline_sources(twin=False) == [["PipelineLogGroup"]]
    assert pipeline_sources(twin=True) == [["PipelineLogGroup", "PipelineOtelLogGroup"]]


def test_the_twin_has_each_per_function_alarm_of_the_first_on_its_own_function(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    per_function = {
        name: resource
        for name, resource in resources.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        and {"Name": "FunctionName", "Value": {"Ref": "PipelineFunction"}}
        in resource["Properties"]["Dimensions"]
    }
    assert set(per_function) == {
        "DwellTimeAlarm",
        "InitDurationAlarm",
        "DynamoDbLatencyAlarm",
        "FunctionErrorsAlarm",
    }
    for name, first in per_function.items():
        twin = resources[f"Otel{name}"]
        assert twin["Condition"] == TWIN
        mirrored = json.loads(
            json.dumps(first["Properties"]).replace('"PipelineFunction"', '"PipelineOtelFunction"')
        )
        differs = {key for key in mirrored if mirrored[key] != twin["Properties"][key]}
        assert differs == {"AlarmName", "AlarmDescription"}, name


def test_the_heartbeat_warms_up_for_as_long_as_a_new_stacks_first_window_can_take(
    template: dict[str, Any],
) -> None:
    heartbeat = template["Resources"]["HeartbeatAlarm"]["Properties"]
    warm_up = heartbeat["WarmUpConfiguration"]
    assert warm_up["OnlyStartEvaluatingAfterWarmUpPeriodEnds"] is True
    assert warm_up["WarmUpPeriodDurationInMinutes"] == {
        "Fn::FindInMap": ["PeriodSeconds", {"Ref": "ReportPeriodMinutes"}, "HeartbeatWarmUpMinutes"]
    }
    longest_lag = template["Parameters"]["ReportLagMinutes"]["MaxValue"]
    for period in template["Parameters"]["ReportPeriodMinutes"]["AllowedValues"]:
        # a generator period (at most the window), the window, the lag, a reporter period, and a minute
        minutes = template["Mappings"]["PeriodSeconds"][str(period)]["HeartbeatWarmUpMinutes"]
        assert minutes == 3 * int(period) + longest_lag + 1
        assert 1 <= minutes <= 2880  # CloudWatch's range
