"""`tracecanary report --stack` against a stack whose outputs point at moto's tables."""

import json
from datetime import UTC, datetime

import boto3
import pytest

from cli.main import main
from demo.local_stack import LocalStack, create_local_stack
from demo.moto_server import LocalAws
from reporter.checkpoints import DynamoDbCheckpointStore
from tests.integration.test_reporter import seed


@pytest.fixture
def stack(local_aws: LocalAws) -> LocalStack:
    created = create_local_stack("tc-rep")
    outputs = {
        "ManifestTableName": created.tables["ManifestTable"],
        "ItemsTableName": created.items_table,
        "ReporterStateTableName": created.tables["ReporterStateTable"],
        "ReportPeriodMinutes": "5",
        "ReportLagMinutes": "3",
        "MetricsNamespace": "TraceCanary",
        "ReporterLogGroupName": "/aws/lambda/tc-rep-reporter",
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName="tc-rep", TemplateBody=json.dumps(template))
    boto3.client("logs").create_log_group(logGroupName="/aws/lambda/tc-rep-reporter")
    return created


def test_report_prints_the_window_and_emits_once(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_ids = seed(stack, [{}, {}, {"written": False}])

    assert main(["report", "--stack", "tc-rep", "--window", "2026-11-25T12:07:00Z", "--emit"]) == 0
    out = capsys.readouterr().out
    assert "window 2026-11-25T12:05:00Z" in out
    assert "generated 3  complete 2  lost 1" in out
    assert f"lost       synthetic/002  {trace_ids[2]}  no item in the table" in out
    assert "X-Ray: 3 traces retrieved in 1 API calls" in out

    events = boto3.client("logs").filter_log_events(logGroupName="/aws/lambda/tc-rep-reporter")["events"]
    emf = [json.loads(event["message"]) for event in events]
    assert {line["_aws"]["Timestamp"] for line in emf} == {
        int(datetime(2026, 11, 25, 12, 5, tzinfo=UTC).timestamp() * 1000)
    }
    state = DynamoDbCheckpointStore(boto3.client("dynamodb"), stack.tables["ReporterStateTable"], "tc-rep")
    assert state.last_emitted() == datetime(2026, 11, 25, 12, 5, tzinfo=UTC)

    assert main(["report", "--stack", "tc-rep", "--window", "2026-11-25T12:07:00Z", "--emit"]) == 2
    assert "was already emitted; nothing sent" in capsys.readouterr().err


def test_an_unknown_stack_is_one_clear_line(local_aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--stack", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tracecanary report: cannot read stack 'nope':")
    assert "Traceback" not in err
