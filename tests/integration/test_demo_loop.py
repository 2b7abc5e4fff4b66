"""`tracecanary demo` end to end: generator, local S3, local Lambda runtime, X-Ray daemon, reporter."""

import json
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from traces.analysis import analyze


def run_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[dict[str, Any], str]:
    assert main(["demo", "--output-dir", str(tmp_path), "--rate", "20", *options]) == 0
    summary: dict[str, Any] = json.loads((tmp_path / "summary.json").read_text())
    return summary, capsys.readouterr().out


def emf_sum(tmp_path: Path, metric: str) -> float:
    """A figure summed over the run's record lines, whether a declared metric or a plain field."""
    lines = [json.loads(line) for line in (tmp_path / "emf.jsonl").read_text().splitlines()]
    return sum(float(line[metric]) for line in lines if metric in line)


@pytest.mark.parametrize("trace_format", ["v1", "v2"])
def test_a_small_run_is_complete_and_consistent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trace_format: str
) -> None:
    summary, printed = run_demo(
        tmp_path, capsys, "--count", "8", "--concurrency", "2", "--lambda-trace-format", trace_format
    )

    style = {"v1": "old", "v2": "new"}[trace_format]
    assert (
        printed.splitlines()[2]
        == f"local Lambda: trace format {trace_format} ({style}-style function segments)"
    )
    assert summary["options"]["lambda_trace_format"] == trace_format
    assert summary["transactions"] == {
        "generated": 8,
        "complete": 8,
        "lost": 0,
        "error": 0,
        "incomplete": 0,
        "untraced": 0,
        "success_rate": 100.0,
    }
    assert "transactions  generated 8  complete 8  lost 0  untraced 0  success rate 100.0 %" in printed
    assert summary["xray_api_calls"] == {"BatchGetTraces": 2}  # 8 ids, 5 a call
    assert "alarm preview" in printed
    # The same numbers in the EMF CloudWatch would read and in the traces `tracecanary analyze` reads.
    assert emf_sum(tmp_path, "TransactionsGenerated") == 8
    assert emf_sum(tmp_path, "ObjectsUploaded") == 8
    traces = json.loads((tmp_path / "traces.json").read_text())
    result = analyze(traces)
    assert result.traces == 8
    assert len(result.transactions) == 8
    assert all(transaction.complete and not transaction.error for transaction in result.transactions)
    invocations = result.invocations
    assert len(invocations) == summary["counts"]["Invocations"] == 8
    runtime = summary["runtime"]["tracecanary-demo-pipeline"]
    # A cold start exactly on each execution environment's first use.
    assert sum(invocation.cold_start for invocation in invocations) == runtime["cold_starts"]
    assert 1 <= runtime["cold_starts"] <= 2
    assert all(invocation.init_ms is not None for invocation in invocations if invocation.cold_start)
    assert summary["counts"]["ColdStarts"] == runtime["cold_starts"]
    for invocation in invocations:
        assert invocation.format == trace_format
        assert invocation.complete
        assert invocation.invocation_ms is not None
        assert invocation.dwell_ms is not None
        assert invocation.attempts == 1
        assert invocation.s3_notification_ms is not None
        assert [(call.service, call.operation) for call in invocation.calls] == [("DynamoDB", "PutItem")]


@pytest.mark.parametrize(("detail", "metrics"), [("standard", 9), ("full", 29)])
def test_the_metrics_detail_decides_what_is_a_metric_and_the_figures_stay_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], detail: str, metrics: int
) -> None:
    summary, printed = run_demo(tmp_path, capsys, "--count", "6", "--metrics-detail", detail)

    assert summary["metrics"]["detail"] == detail
    assert len(summary["metrics"]["declared"]) == metrics  # what `tracecanary cost` counts at this level
    assert f"metrics       {metrics} custom metrics declared (MetricsDetail {detail})" in printed
    assert summary["transactions"]["complete"] == 6
    # Plain field or metric, the figures come from the same lines: every part has its six values.
    for label in ("end to end", "S3 notification", "dwell time", "invocation", "DynamoDB PutItem"):
        assert summary["figures_ms"][label]["count"] == 6, label
    assert summary["counts"]["Invocations"] == 6
    assert emf_sum(tmp_path, "ObjectsUploaded") == 6
    assert emf_sum(tmp_path, "ItemsWritten") == 6
    # The latency alarms depend on this machine's speed (a cold start here compiles the package's modules,
    # as Lambda does); the ones that read the outcome must be OK at both levels.
    for alarm in ("SuccessRateAlarm", "UntracedAlarm", "FunctionErrorsAlarm", "ReporterErrorsAlarm"):
        assert summary["alarms"][alarm]["state"] == "OK", alarm
    lines = [json.loads(line) for line in (tmp_path / "emf.jsonl").read_text().splitlines()]
    declared = {
        metric["Name"]
        for line in lines
        for d in line.get("_aws", {}).get("CloudWatchMetrics", [])
        for metric in d["Metrics"]
    }
    assert ("ScheduleLag" in declared) is (detail == "full")


def test_an_emulated_extension_is_traced_and_summed_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, printed = run_demo(tmp_path, capsys, "--count", "4", "--extension-overhead-ms", "25")

    assert printed.splitlines()[2] == (
        "local Lambda: trace format v2 (new-style function segments); "
        "the pipeline's extension works 25 ms after each response"
    )
    assert summary["options"]["extension_overhead_ms"] == 25
    assert summary["transactions"]["complete"] == 4
    invocations = analyze(json.loads((tmp_path / "traces.json").read_text())).invocations
    assert len(invocations) == 4  # the pipeline's: the transactions' traces
    for invocation in invocations:
        assert invocation.format == "v2"
        assert invocation.extension_overhead_ms is not None
        assert invocation.extension_overhead_ms >= 25
        assert [(call.service, call.operation) for call in invocation.calls] == [("DynamoDB", "PutItem")]


def test_injected_faults_are_counted_and_raise_the_matching_alarms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, printed = run_demo(
        tmp_path, capsys, "--count", "20", "--inject", "error=0.3,drop=0.2", "--seed", "3"
    )

    transactions = summary["transactions"]
    assert transactions["lost"] >= 1  # dropped events: never invoked
    assert transactions["complete"] + transactions["lost"] <= transactions["generated"] == 20
    assert summary["counts"]["FunctionErrors"] >= 1
    runtime = summary["runtime"]["tracecanary-demo-pipeline"]
    assert runtime["dropped"] == transactions["lost"] - runtime["sent_to_destination"]
    # One window: the alarms that need one bad window fire; SuccessRateAlarm needs two in a row (its
    # breaching value is shown, its state stays OK, as CloudWatch's would).
    assert summary["alarms"]["FunctionErrorsAlarm"]["state"] == "ALARM"
    success = summary["alarms"]["SuccessRateAlarm"]
    assert success["state"] == "OK"
    assert [value for value in success["values"] if value is not None][-1] < 100
    assert "not complete" in printed
    lost_keys = [item for item in summary["not_complete"] if item["verdict"] == "lost"]
    assert len(lost_keys) == transactions["lost"]
    assert all(item["trace_id"].startswith("1-") for item in lost_keys)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("--lambda-trace-format", "v0"), "argument --lambda-trace-format: invalid choice: 'v0'"),
        (("--extension-overhead-ms", "-1"), "argument --extension-overhead-ms: must be 0 or more"),
    ],
)
def test_bad_lambda_settings_stop_the_demo_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], words: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--output-dir", str(tmp_path), *words])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "summary.json").exists()


def test_a_bad_inject_spec_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--output-dir", str(tmp_path), "--inject", "explode=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tracecanary demo: --inject:")
    assert "Traceback" not in err


def test_on_a_transaction_search_account_every_trace_is_retrieved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, printed = run_demo(tmp_path, capsys, "--count", "6", "--transaction-search")
    assert "spans go to CloudWatch Transaction Search" in printed.splitlines()[1]
    transactions = summary["transactions"]
    assert (transactions["complete"], transactions["untraced"], transactions["lost"]) == (6, 0, 0)
    calls = summary["xray_api_calls"]
    assert calls["StartTraceRetrieval"] == 1
    assert calls["ListRetrievedTraces"] >= 2  # polled until COMPLETE
    assert "BatchGetTraces" not in calls
    assert summary["alarms"]["UntracedAlarm"]["state"] == "OK"
    result = analyze(json.loads((tmp_path / "traces.json").read_text()))  # saved through the retrieval too
    assert len(result.transactions) == 6


def test_reading_a_transaction_search_account_through_x_ray_is_untraced_not_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, _printed = run_demo(
        tmp_path,
        capsys,
        "--count",
        "20",
        "--transaction-search",
        "--indexing-percent",
        "10",
        "--trace-source",
        "xray",
    )
    transactions = summary["transactions"]
    assert transactions["lost"] == 0
    assert transactions["untraced"] >= 10  # about 90 %: only the indexed share is found
    assert transactions["complete"] + transactions["untraced"] == 20
    assert transactions["success_rate"] == 100.0
    # The untraced share breaches the threshold; the alarm wants two such windows in a row, the run has one.
    untraced = summary["alarms"]["UntracedAlarm"]
    assert [value for value in untraced["values"] if value is not None][-1] > 10
    assert untraced["state"] == "OK"
    assert summary["alarms"]["SuccessRateAlarm"]["state"] == "OK"
    assert "untraced" in {item["verdict"] for item in summary["not_complete"]}


def test_a_package_without_the_x_ray_sdk_fails_as_the_seed_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, printed = run_demo(tmp_path, capsys, "--count", "3", "--package-without", "aws_xray_sdk")
    assert "the pipeline's package lacks aws_xray_sdk" in printed
    transactions = summary["transactions"]
    assert (transactions["complete"], transactions["lost"]) == (0, 3)
    runtime = summary["runtime"]["tracecanary-demo-pipeline"]
    assert set(runtime["error_types"]) == {"Runtime.ImportModuleError"}
    log = (tmp_path / "logs" / "tracecanary-demo-pipeline.log").read_text()
    seed_error = "Unable to import module 'handlers.pipeline': No module named 'aws_xray_sdk'"
    assert f"Runtime.ImportModuleError: {seed_error}" in log
    # One window: the alarms that need one bad window fire; SuccessRateAlarm needs two in a row (its
    # breaching value is shown, its state stays OK, as CloudWatch's would).
    assert summary["alarms"]["FunctionErrorsAlarm"]["state"] == "ALARM"
    success = summary["alarms"]["SuccessRateAlarm"]
    assert success["state"] == "OK"
    assert [value for value in success["values"] if value is not None][-1] < 100


def test_a_package_without_boto3_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--package-without", "boto3"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("tracecanary demo: ")
    assert "\n" not in error


def test_a_stopped_reporter_fires_the_heartbeat_alarm_at_its_silence_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from demo.alarm_evaluation import MINUTE, silence_bound
    from demo.alarm_preview import alarm_specs
    from demo.template import load_template

    summary, printed = run_demo(tmp_path, capsys, "--count", "3", "--stop", "reporter")

    assert summary["options"]["stop"] == "reporter"
    assert summary["transactions"]["complete"] == 3  # the real run is the same as without --stop
    lines = [json.loads(line) for line in (tmp_path / "emf.jsonl").read_text().splitlines()]
    [real_run] = [line for line in lines if line.get("record") == "run" and "_aws" in line]  # none modelled
    stop = summary["stop"]
    assert stop["component"] == "reporter"
    assert datetime.fromisoformat(stop["at"]) == datetime.fromtimestamp(
        real_run["_aws"]["Timestamp"] / 1000, UTC
    )
    assert (stop["modelled_runs"], stop["modelled_lines"]) == (0, 0)
    # The heartbeat's last datapoint is the real run's, stamped at the stop: a `breaching` alarm is in ALARM
    # by its silence bound after it, (N + 2) periods and a minute, at the demo's one-minute period.
    stack = "tracecanary-demo"
    names = {
        "AWS::StackName": stack,
        "PipelineFunction": f"{stack}-pipeline",
        "ReporterFunction": f"{stack}-reporter",
        "ReportPeriodMinutes": "1",  # the demo's windows
    }
    [rule] = [spec.rule for spec in alarm_specs(load_template(), names) if spec.name == "HeartbeatAlarm"]
    bound = int(silence_bound(rule) / MINUTE)
    heartbeat = summary["alarms"]["HeartbeatAlarm"]
    assert heartbeat["state"] == "ALARM"
    assert heartbeat["changes"][-1]["minutes_after_stop"] == bound
    assert stop["heartbeat"] == {"HeartbeatAlarm": {"state": "ALARM", "minutes_after_stop": bound}}
    assert "everything after the stop is modelled, not produced by a real run" in printed
    assert f"HeartbeatAlarm: ALARM {bound} min after the stop" in printed
