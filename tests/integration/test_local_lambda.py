"""The local X-Ray daemon and Lambda runtime against moto: the real pipeline handler, traced as on AWS.

S3 events come from moto's S3 -> SQS notifications; each object's trace starts with a generator segment
(its PutObject subsegment is the Parent of the header S3 passes on), as the generator sends it. The function
segments come in both of Lambda's formats (v2 by default); the real X-Ray SDK in the handler attaches its
subsegments under `Invocation` (v1) or directly under the function segment (v2).
"""

import json
import socket
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from demo.lambda_runtime import LocalLambda, local_lambda
from demo.local_stack import LocalStack, create_local_stack
from demo.moto_server import LocalAws
from demo.runtime_config import FaultInjection, FunctionConfig, TraceFormat
from demo.s3_notifications import receive_s3_events
from demo.xray_daemon import XRayDaemon, send_document, xray_daemon
from demo.xray_datagrams import encode_datagram
from generator.segments import PutCall, TraceContext, put_object_segment
from traces.analysis import AnalysisResult, analyze

FUNCTION = "tc-ll-pipeline"
SAMPLE_FUNCTION = Path(__file__).parent / "sample_function"
BOTH_FORMATS = pytest.mark.parametrize("trace_format", ["v1", "v2"])


@pytest.fixture
def stack(local_aws: LocalAws) -> LocalStack:
    return create_local_stack("tc-ll")


@pytest.fixture
def daemon(local_aws: LocalAws) -> Iterator[XRayDaemon]:
    with xray_daemon(local_aws.endpoint_url, settle_seconds=0.2) as running:
        yield running


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, function_name: str, line: str) -> None:
        assert function_name == FUNCTION
        self.lines.append(line)


def pipeline(local_aws: LocalAws, stack: LocalStack, **settings: Any) -> FunctionConfig:
    return FunctionConfig(
        name=FUNCTION,
        handler="handlers.pipeline.lambda_handler",
        environment={**local_aws.environment(), **stack.pipeline_environment()},
        retry_delay_seconds=0.05,
        on_failure_queue_url=stack.failure_queue_url,
        **settings,
    )


@dataclass(frozen=True)
class Upload:
    key: str
    context: TraceContext
    event: dict[str, Any]


def upload_traced(stack: LocalStack, daemon: XRayDaemon, count: int) -> list[Upload]:
    """Put objects as the generator does: each its own trace, its root segment sent to the daemon."""
    s3 = boto3.client("s3")
    contexts: dict[str, TraceContext] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for number in range(count):
            key = f"{stack.synthetic_prefix}local-lambda/{number:03d}.json"
            context = TraceContext.new(time.time())
            started = time.time()
            response = s3.put_object(Bucket=stack.bucket, Key=key, Body=b'{"n": %d}' % number)
            call = PutCall(
                stack.bucket,
                key,
                "us-east-1",
                started,
                time.time(),
                8,
                200,
                request_id=response["ResponseMetadata"]["RequestId"],
            )
            send_document(sock, daemon.address, put_object_segment(context, call))
            contexts[key] = context
    events = receive_s3_events(boto3.client("sqs"), stack.notifications_queue_url)
    uploads = [Upload(key, contexts[key], event) for event in events for key in [event_key(event)]]
    assert sorted(upload.key for upload in uploads) == sorted(contexts)
    return uploads


def event_key(event: dict[str, Any]) -> str:
    key: str = event["Records"][0]["s3"]["object"]["key"]
    return urllib.parse.unquote_plus(key)  # S3 URL-encodes keys in events


def traces(trace_ids: list[str]) -> tuple[dict[str, Any], AnalysisResult]:
    xray: Any = boto3.client("xray")
    found: list[dict[str, Any]] = []
    for start in range(0, len(trace_ids), 5):  # BatchGetTraces takes at most 5 ids a call
        found += xray.batch_get_traces(TraceIds=trace_ids[start : start + 5])["Traces"]
    response = {"Traces": found, "UnprocessedTraceIds": []}
    return response, analyze(response)


def items(stack: LocalStack) -> set[str]:
    table = boto3.resource("dynamodb").Table(stack.items_table)
    return {str(item["itemID"]) for item in table.scan(ConsistentRead=True)["Items"]}


def failure_records(stack: LocalStack) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=stack.failure_queue_url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def run(runtime: LocalLambda, daemon: XRayDaemon, uploads: list[Upload]) -> None:
    for upload in uploads:
        runtime.invoke_async(FUNCTION, upload.event, upload.context.header)
    assert runtime.drain(timeout=120)
    assert daemon.flush()


def function_documents(response: dict[str, Any]) -> list[dict[str, Any]]:
    documents = [
        json.loads(segment["Document"]) for trace in response["Traces"] for segment in trace["Segments"]
    ]
    return [document for document in documents if document.get("origin") == "AWS::Lambda::Function"]


@BOTH_FORMATS
def test_the_pipeline_runs_and_traces_as_on_lambda(
    local_aws: LocalAws, stack: LocalStack, daemon: XRayDaemon, trace_format: TraceFormat
) -> None:
    uploads = upload_traced(stack, daemon, 5)
    log = Lines()
    config = pipeline(local_aws, stack, concurrency=2, trace_format=trace_format)
    with local_lambda(daemon.address, config, log=log) as runtime:
        run(runtime, daemon, uploads)
        outcomes = runtime.outcomes()
        stats = runtime.stats()[FUNCTION]

    assert items(stack) == {upload.key for upload in uploads}
    assert [outcome.status for outcome in outcomes] == ["succeeded"] * 5
    assert 1 <= stats.environments <= 2
    response, result = traces([upload.context.trace_id for upload in uploads])
    assert not response["UnprocessedTraceIds"]
    assert len(result.invocations) == 5
    for invocation in result.invocations:
        assert invocation.function == FUNCTION
        assert invocation.format == trace_format
        assert invocation.dwell_ms is not None
        assert invocation.attempts == 1
        assert invocation.s3_notification_ms is not None
        assert invocation.invocation_ms is not None
        assert invocation.overhead_ms is not None
        assert (invocation.init_ms is not None) == invocation.cold_start
        assert not invocation.function_error
        assert invocation.complete
        [call] = invocation.calls  # the handler's PutItem: under Invocation (v1), the segment (v2)
        assert (call.service, call.operation, call.resource) == ("DynamoDB", "PutItem", stack.items_table)
        assert (call.error, call.fault, call.throttle) == (False, False, False)
        assert invocation.extension_overhead_ms is None  # no extension
        if trace_format == "v2":
            assert invocation.runtime_overhead_ms is not None
            assert invocation.response_duration_ms is not None
        else:
            assert (invocation.runtime_overhead_ms, invocation.response_duration_ms) == (None, None)
    # Where the real X-Ray SDK's subsegments landed, through the daemon.
    for function in function_documents(response):
        phases = {part["name"]: part for part in function["subsegments"]}
        holder = phases["Invocation"] if trace_format == "v1" else function
        assert "## lambda_handler" in [part["name"] for part in holder["subsegments"]]
        assert ("Invocation" in phases) == (trace_format == "v1")
    # Cold exactly on each environment's first use.
    by_trace = {invocation.trace_id: invocation for invocation in result.invocations}
    first_use: dict[int, float] = {}
    for outcome in outcomes:
        [environment] = outcome.environments
        start = by_trace[outcome.trace_id].start
        assert start is not None
        first_use[environment] = min(first_use.get(environment, start), start)
    for outcome in outcomes:
        invocation = by_trace[outcome.trace_id]
        assert invocation.cold_start == (invocation.start == first_use[outcome.environments[0]])
    assert sum(invocation.cold_start for invocation in result.invocations) == stats.environments
    # One transaction per object: the generator's PutObject, then the invocation.
    assert sorted(transaction.trace_id or "" for transaction in result.transactions) == sorted(
        upload.context.trace_id for upload in uploads
    )
    assert all(transaction.complete and not transaction.error for transaction in result.transactions)

    # The handler's own output, as CloudWatch Logs would hold it.
    handler_logs = [json.loads(line) for line in log.lines if line.startswith('{"level"')]
    assert {entry["xray_trace_id"] for entry in handler_logs} == {
        upload.context.trace_id for upload in uploads
    }
    assert sum(entry["cold_start"] for entry in handler_logs) == stats.environments
    # Its record line per event: EMF at MetricsDetail full, plain fields at standard.
    records = [json.loads(line) for line in log.lines if '"record":"pipeline_event"' in line]
    assert sum(entry["ItemsWritten"] for entry in records) == 5
    reports = [line for line in log.lines if line.startswith("REPORT RequestId: ")]
    assert len(reports) == 5
    assert sum("Init Duration: " in line for line in reports) == stats.environments


@BOTH_FORMATS
def test_a_failing_event_is_retried_then_sent_to_the_failure_queue(
    local_aws: LocalAws, stack: LocalStack, daemon: XRayDaemon, trace_format: TraceFormat
) -> None:
    [upload] = upload_traced(stack, daemon, 1)
    config = pipeline(
        local_aws, stack, concurrency=2, faults=FaultInjection(error=1.0), trace_format=trace_format
    )
    with local_lambda(daemon.address, config) as runtime:
        run(runtime, daemon, [upload])
        [outcome] = runtime.outcomes()

    assert (outcome.status, outcome.attempts) == ("failed", 3)
    _, result = traces([upload.context.trace_id])
    assert len(result.invocations) == 3
    for invocation in result.invocations:
        assert invocation.attempts == 3
        assert invocation.function_error
        assert invocation.calls == ()  # the injected error came before the handler
    [record] = failure_records(stack)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"] == outcome.request_id
    assert record["requestPayload"] == upload.event
    assert record["responsePayload"]["errorType"] == "InjectedFunctionError"
    assert items(stack) == set()


@BOTH_FORMATS
def test_throttled_dynamodb_calls_fail_for_real(
    local_aws: LocalAws, stack: LocalStack, daemon: XRayDaemon, trace_format: TraceFormat
) -> None:
    [upload] = upload_traced(stack, daemon, 1)
    config = pipeline(
        local_aws,
        stack,
        faults=FaultInjection(throttle=1.0),
        max_retry_attempts=0,
        trace_format=trace_format,
    )
    with local_lambda(daemon.address, config) as runtime:
        run(runtime, daemon, [upload])
        [outcome] = runtime.outcomes()

    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error.error_type == "RecordsFailedError"
    assert "ThrottlingException" in outcome.error.message
    _, result = traces([upload.context.trace_id])
    [invocation] = result.invocations
    assert invocation.function_error
    [call] = invocation.calls
    # What the X-Ray SDK records for DynamoDB's HTTP 400 ThrottlingException.
    assert (call.operation, call.error) == ("PutItem", True)
    [record] = failure_records(stack)
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert items(stack) == set()


def test_an_extension_keeps_the_environment_busy_and_is_traced(
    local_aws: LocalAws, stack: LocalStack, daemon: XRayDaemon
) -> None:
    uploads = upload_traced(stack, daemon, 2)
    config = pipeline(local_aws, stack, concurrency=1, extension_overhead_ms=40.0)
    with local_lambda(daemon.address, config) as runtime:
        run(runtime, daemon, uploads)
    assert items(stack) == {upload.key for upload in uploads}
    response, result = traces([upload.context.trace_id for upload in uploads])
    for invocation in result.invocations:
        assert invocation.format == "v2"
        assert invocation.extension_overhead_ms is not None
        assert invocation.extension_overhead_ms >= 40.0
        assert invocation.overhead_ms is not None
        assert invocation.overhead_ms >= 40.0  # Overhead: the runtime's work, then the extension's
    # With real workers, each function segment (the extension's work included) lies within its attempt.
    documents = [
        json.loads(segment["Document"]) for trace in response["Traces"] for segment in trace["Segments"]
    ]
    attempts = {
        part["id"]: part
        for document in documents
        if document.get("origin") == "AWS::Lambda"
        for part in document["subsegments"]
        if part["name"].startswith("Attempt #")
    }
    for function in function_documents(response):
        attempt = attempts[function["parent_id"]]
        assert attempt["start_time"] <= function["start_time"] <= function["end_time"] <= attempt["end_time"]
        assert function["annotations"]["aws:responseDuration"] >= 0


def test_a_package_without_aws_xray_sdk_fails_as_the_seeds_did(
    local_aws: LocalAws, stack: LocalStack, daemon: XRayDaemon
) -> None:
    """The seed's deployed function: `Runtime.ImportModuleError: Unable to import module 'app': No module
    named 'aws_xray_sdk'`, every try of every event, then the on-failure queue; nothing written."""
    uploads = upload_traced(stack, daemon, 2)
    log = Lines()
    config = pipeline(local_aws, stack, concurrency=2, package_without=("aws_xray_sdk",))
    with local_lambda(daemon.address, config, log=log) as runtime:
        [built] = runtime.package_builds()
        assert not (built.path / "aws_xray_sdk").exists()
        assert (built.path / "aws_lambda_powertools").is_dir()  # only the one module is missing
        run(runtime, daemon, uploads)
        outcomes = runtime.outcomes()
        stats = runtime.stats()[FUNCTION]

    message = "Unable to import module 'handlers.pipeline': No module named 'aws_xray_sdk'"
    assert [(outcome.status, outcome.attempts) for outcome in outcomes] == [("failed", 3)] * 2
    assert {(outcome.error.error_type, outcome.error.message) for outcome in outcomes if outcome.error} == {
        ("Runtime.ImportModuleError", message)
    }
    assert (stats.invocations, stats.cold_starts, stats.function_errors) == (6, 6, 6)  # each try a new Init
    assert (stats.error_types, stats.error_messages) == (
        {"Runtime.ImportModuleError": 6},
        {"Runtime.ImportModuleError": message},
    )
    assert items(stack) == set()
    records = failure_records(stack)
    assert sorted(record["requestContext"]["requestId"] for record in records) == sorted(
        outcome.request_id for outcome in outcomes
    )
    assert {record["responsePayload"]["errorType"] for record in records} == {"Runtime.ImportModuleError"}
    # The log holds the lines the seed's author found in CloudWatch, module name aside.
    assert log.lines.count(f"[ERROR] Runtime.ImportModuleError: {message}") == 6
    errors = [number for number, line in enumerate(log.lines) if line.startswith("[ERROR] Runtime.Import")]
    assert all(log.lines[number + 1] == "Traceback (most recent call last):" for number in errors)
    assert sum(line.startswith("INIT_REPORT ") and "Status: error" in line for line in log.lines) == 6
    _, result = traces([upload.context.trace_id for upload in uploads])
    assert len(result.invocations) == 6
    for invocation in result.invocations:
        assert (invocation.cold_start, invocation.function_error, invocation.attempts) == (True, True, 3)
        assert invocation.calls == ()
    assert all(transaction.error for transaction in result.transactions)


def test_a_dropped_event_is_never_invoked(local_aws: LocalAws, stack: LocalStack, daemon: XRayDaemon) -> None:
    [upload] = upload_traced(stack, daemon, 1)
    with local_lambda(daemon.address, pipeline(local_aws, stack, faults=FaultInjection(drop=1.0))) as runtime:
        run(runtime, daemon, [upload])
        assert [outcome.status for outcome in runtime.outcomes()] == ["dropped"]
    response, result = traces([upload.context.trace_id])
    assert result.invocations == []
    # The generator's segment alone: a lost object, as the reporter must find it.
    [trace] = response["Traces"]
    assert [json.loads(segment["Document"])["id"] for segment in trace["Segments"]] == [
        upload.context.segment_id
    ]
    assert items(stack) == set()


def test_a_timed_out_invocation_fails_and_its_environment_is_replaced(daemon: XRayDaemon) -> None:
    config = FunctionConfig(
        name="sleeper",
        handler="sample.sleep",
        code_root=SAMPLE_FUNCTION,
        concurrency=1,
        timeout_seconds=1.0,
        max_retry_attempts=0,
    )
    with local_lambda(daemon.address, config) as runtime:
        runtime.invoke_async("sleeper", {"seconds": 60})
        runtime.invoke_async("sleeper", {"seconds": 0})
        assert runtime.drain(timeout=30)
        first, second = sorted(runtime.outcomes(), key=lambda outcome: outcome.sequence)
    assert first.status == "failed"
    assert first.error is not None
    assert first.error.error_type == "Sandbox.Timedout"
    assert (second.status, second.environments, second.cold_starts) == ("succeeded", (2,), 1)


@pytest.mark.parametrize(
    "parent",
    ["a000000000000001", "f000000000000001"],
    ids=["under-a-subsegment-v1", "under-the-segment-v2"],
)
def test_the_daemon_nests_standalone_subsegments_and_skips_garbage(daemon: XRayDaemon, parent: str) -> None:
    trace_id = TraceContext.new(time.time()).trace_id
    now = time.time()
    function = {
        "id": "f000000000000001",
        "trace_id": trace_id,
        "name": "fn",
        "origin": "AWS::Lambda::Function",
        "start_time": now,
        "end_time": now + 0.1,
        "subsegments": [
            {"id": "a000000000000001", "name": "Invocation", "start_time": now, "end_time": now + 0.1}
        ],
    }
    call = {
        "id": "c000000000000001",
        "trace_id": trace_id,
        "parent_id": parent,
        "type": "subsegment",
        "name": "DynamoDB",
        "namespace": "aws",
        "start_time": now + 0.01,
        "end_time": now + 0.02,
        "aws": {"operation": "PutItem", "table_name": "items"},
    }
    host, port = daemon.address.split(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(encode_datagram(call), (host, int(port)))  # the SDK sends before the runtime does
        sock.sendto(b"not the protocol", (host, int(port)))
        sock.sendto(encode_datagram(function), (host, int(port)))
    assert daemon.flush()
    stats = daemon.stats()
    assert (stats.datagrams, stats.malformed, stats.segments, stats.subsegments) == (3, 1, 1, 1)
    assert (stats.attached, stats.forwarded, stats.put_errors) == (1, 1, 0)

    [trace] = boto3.client("xray").batch_get_traces(TraceIds=[trace_id])["Traces"]
    [segment] = trace["Segments"]
    document = json.loads(segment["Document"])
    by_id = {part["id"]: part for part in [document, *document["subsegments"]]}
    assert [part["id"] for part in by_id[parent]["subsegments"] if part["name"] == "DynamoDB"] == [
        "c000000000000001"
    ]
