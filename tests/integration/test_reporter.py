"""The reporter handler for one window against moto: manifest, items and real-shaped traces seeded."""

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from common.emf import declared_metrics
from demo.lambda_context import LocalLambdaContext
from demo.local_stack import LocalStack, create_local_stack
from demo.moto_server import LocalAws
from generator.manifest import DynamoDbManifest
from reporter.checkpoints import DynamoDbCheckpointStore
from reporter.items_lookup import DynamoDbItemLookup
from reporter.runner import Reporter, ReporterConfig
from tests.conftest import CurrentStdout, load_event
from tests.unit.reporter.fakes import RecordingLog
from tests.unit.reporter.traces import FUNCTION, transaction
from traces.sources.xray import XRayTraceSource, default_xray_client

WINDOW_START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)  # due at the schedule event's time, 12:14


@pytest.fixture
def stack(local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    created = create_local_stack("tc-rep")
    environment = {
        "PIPELINE_NAME": "tc-rep",
        "POWERTOOLS_SERVICE_NAME": "reporter",
        "POWERTOOLS_METRICS_NAMESPACE": "TraceCanary",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "MANIFEST_TABLE_NAME": created.tables["ManifestTable"],
        "ITEMS_TABLE_NAME": created.items_table,
        "REPORTER_STATE_TABLE_NAME": created.tables["ReporterStateTable"],
        "REPORT_PERIOD_MINUTES": "5",
        "REPORT_LAG_MINUTES": "3",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    from handlers import reporter

    reporter.reporter.cache_clear()
    handler = reporter.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", CurrentStdout())
    yield created
    reporter.reporter.cache_clear()


def seed(stack: LocalStack, cases: list[dict[str, Any]]) -> list[str]:
    """Manifest records, their traces through PutTraceSegments, and the items of the written ones."""
    records, documents = [], []
    dynamodb = boto3.client("dynamodb")
    for index, case in enumerate(cases):
        written = case.pop("written", True)
        record, segments = transaction(WINDOW_START.timestamp() + 5 + index, f"synthetic/{index:03d}", **case)
        records.append(record)
        documents += [json.dumps(segment) for segment in segments]
        if written:
            dynamodb.put_item(
                TableName=stack.items_table,
                Item={"itemID": {"S": record.key}, "traceId": {"S": record.trace_id}},
            )
    DynamoDbManifest(dynamodb, stack.tables["ManifestTable"]).write(records)
    xray = boto3.client("xray")
    for start in range(0, len(documents), 50):
        xray.put_trace_segments(TraceSegmentDocuments=documents[start : start + 50])
    return [record.trace_id for record in records]


def run_handler(capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The run's record lines (EMF where they declare metrics) and its log lines."""
    from handlers.reporter import lambda_handler

    lambda_handler(load_event("reporter-schedule.json"), LocalLambdaContext(function_name="tc-rep-reporter"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if "record" in line], [line for line in lines if "message" in line]


@pytest.mark.parametrize(("detail", "metrics"), [("standard", 9), ("full", 22)])
def test_a_window_becomes_record_lines_and_log_lines(
    stack: LocalStack,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    detail: str,
    metrics: int,
) -> None:
    monkeypatch.setenv("METRICS_DETAIL", detail)
    trace_ids = seed(stack, [{"cold": True}, {}, {}, {}, {}, {}, {"written": False}])

    records, logs = run_handler(capsys)

    timestamp = int(WINDOW_START.timestamp() * 1000)
    windows = [line for line in records if line["record"] != "run"]
    assert {line["_aws"]["Timestamp"] for line in windows if "_aws" in line} == {timestamp}
    # The run's heartbeat is stamped at the run's scheduled time (the event's), and counts the window's 7.
    [heartbeat] = [line for line in records if line["record"] == "run"]
    scheduled = load_event("reporter-schedule.json")["time"].replace("Z", "+00:00")
    assert heartbeat["_aws"]["Timestamp"] == int(datetime.fromisoformat(scheduled).timestamp() * 1000)
    assert (heartbeat["ObjectsReported"], heartbeat["WindowsEmitted"]) == (7, 1)
    # The reporter's 22 at full: 9 for the pipeline, 7 for its function, 4 for its DynamoDB PutItem.
    assert len(declared_metrics(records)) == metrics
    [window] = [line for line in records if line["record"] == "window"]
    assert window["Pipeline"] == "tc-rep"
    assert (window["TransactionsGenerated"], window["TransactionsComplete"]) == (7, 6)
    assert window["TransactionsLost"] == 1
    assert window["SuccessRate"] == pytest.approx(600 / 7)
    assert window["TracesRetrieved"] == 7
    assert window["XRayApiCalls"] == 2  # 7 ids: two BatchGetTraces calls
    transactions = [line for line in records if line["record"] == "transaction"]
    assert len([line for line in transactions if "EndToEndLatency" in line]) == 7
    invocations = [line for line in records if line["record"] == "invocation"]
    assert {line["FunctionName"] for line in invocations} == {FUNCTION}
    assert (
        sum(line["Invocations"] for line in invocations),
        sum(line["ColdStarts"] for line in invocations),
    ) == (7, 1)
    assert [line["InitDuration"] for line in invocations if "InitDuration" in line] == [
        pytest.approx(200.0, abs=0.01)
    ]
    calls = [line for line in records if line["record"] == "call"]
    assert {(line["Service"], line["Operation"]) for line in calls} == {("DynamoDB", "PutItem")}
    assert len(calls) == 7

    [summary] = [line for line in logs if line["message"] == "window reported"]
    assert (summary["generated"], summary["complete"], summary["lost"]) == (7, 6, 1)
    [lost] = [line for line in logs if line["message"] == "object lost"]
    assert (lost["key"], lost["trace_id"], lost["missing"]) == (
        "synthetic/006",
        trace_ids[6],
        ["no item in the table"],
    )
    [lost_record] = [line for line in transactions if line["verdict"] == "lost"]
    assert (lost_record["key"], lost_record["missing"]) == ("synthetic/006", "no item in the table")

    records_again, _ = run_handler(capsys)  # the same schedule event, retried: nothing but its heartbeat
    [again] = records_again
    assert (again["record"], again["ObjectsReported"], again["WindowsEmitted"]) == ("run", 0, 0)


def test_x_ray_throttling_is_survived(stack: LocalStack) -> None:
    seed(stack, [{}, {}, {}])
    xray = default_xray_client()  # one attempt per call: the source does the retrying, and counts it
    throttled: list[str] = []

    def throttle_twice(request: Any, **_: Any) -> AWSResponse | None:
        if len(throttled) < 2:
            throttled.append(request.url)
            body = b'{"__type": "ThrottledException", "message": "Rate exceeded"}'
            return AWSResponse(request.url, 429, {"x-amzn-ErrorType": "ThrottledException"}, _Raw(body))
        return None

    xray.meta.events.register("before-send.xray.BatchGetTraces", throttle_twice)
    dynamodb = boto3.client("dynamodb")
    emitted: list[dict[str, Any]] = []
    reporter = Reporter(
        ReporterConfig(
            pipeline="tc-rep", namespace="TraceCanary", period=timedelta(minutes=5), lag=timedelta(minutes=3)
        ),
        manifest=DynamoDbManifest(dynamodb, stack.tables["ManifestTable"]),
        traces=XRayTraceSource(xray, sleep=lambda _: None),
        items=DynamoDbItemLookup(dynamodb, stack.items_table),
        checkpoints=DynamoDbCheckpointStore(dynamodb, stack.tables["ReporterStateTable"], "tc-rep"),
        log=RecordingLog(),
        emit=emitted.append,
    )
    [report] = reporter.run(datetime(2026, 11, 25, 12, 14, tzinfo=UTC)).reports
    assert len(throttled) == 2
    assert report.reconciliation.figures.complete == 3
    assert report.reconciliation.figures.xray_api_calls == 3  # two throttled tries, then the call that worked


class _Raw:
    """The minimal raw body botocore reads from an AWSResponse."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body
