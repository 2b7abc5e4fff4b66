"""The OpenTelemetry twin's spans, caught by an in-memory exporter in place of the UDP one.

The twin's `tracing` is swapped for one built the same way (`LambdaTracing`, the same resource) over an
`InMemorySpanExporter`; DynamoDB is a real botocore client under botocore's Stubber, so the botocore
instrumentation makes its CLIENT span as it would against DynamoDB, without a network.
"""

import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from common.errors import SettingsError
from demo.lambda_context import LocalLambdaContext
from instrumentation.otel import LambdaTracing, daemon_address, lambda_resource, trigger_attributes
from pipeline.items import DynamoDbItemStore
from pipeline.processor import RecordsFailedError
from tests.conftest import PROJECT_ROOT, CurrentStdout, load_event
from tests.fresh_process import run_fresh

FUNCTION = "tracecanary-pipeline-otel"
REQUEST_ID = "6f1c3f0e-2b5e-4a8c-9d0e-1f2a3b4c5d6e"
# The conftest's header: Root=1-6745a1b0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1
TRACE_ID = "1-6745a1b0-0123456789abcdef01234567"
OTEL_TRACE_ID = int("6745a1b00123456789abcdef01234567", 16)  # the X-Ray id without `1-` and dashes
FUNCTION_SEGMENT_ID = int("53995c3f42cd8ad8", 16)
TABLE = "items-test"
# What Lambda sets in every execution environment, read by the resource detector.
LAMBDA_VARIABLES = {
    "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/25/[$LATEST]0123456789abcdef",
    "AWS_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "testing",  # the client never signs (the Stubber answers first), but resolves
    "AWS_SECRET_ACCESS_KEY": "testing",
}


def context() -> LocalLambdaContext:
    return LocalLambdaContext(function_name=FUNCTION, aws_request_id=REQUEST_ID)


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """The twin traced into memory; its own import-time tracing (UDP) stops instrumenting botocore."""
    from handlers import pipeline_otel

    pipeline_otel.tracing.uninstrument()
    exporter = InMemorySpanExporter()
    tracing = LambdaTracing(exporter, lambda_resource(os.environ))
    tracing.instrument()
    monkeypatch.setattr(pipeline_otel, "tracing", tracing)
    pipeline_otel.settings.cache_clear()
    yield exporter
    tracing.shutdown()
    pipeline_otel.settings.cache_clear()


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter) -> Iterator[Stubber]:
    """The twin's item store over a stubbed client; every stubbed response must have been asked for."""
    from handlers import pipeline_otel

    client = boto3.client("dynamodb", region_name="eu-central-1")
    store = DynamoDbItemStore(client, TABLE)
    monkeypatch.setattr(pipeline_otel, "item_store", lambda: store)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture(autouse=True)
def logs_to_captured_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a Lambda environment (the conftest's and LAMBDA_VARIABLES); the Logger writes where capsys reads."""
    for name, value in LAMBDA_VARIABLES.items():
        monkeypatch.setenv(name, value)
    from handlers import pipeline_otel

    monkeypatch.setattr(pipeline_otel.logger.registered_handler, "stream", CurrentStdout())


def expect_put_item(stubber: Stubber) -> None:
    stubber.add_response(
        "put_item",
        {},
        {
            "TableName": TABLE,
            "Item": ANY,
            "ConditionExpression": ANY,
            "ExpressionAttributeValues": ANY,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
    )


def by_kind(finished: tuple[ReadableSpan, ...]) -> dict[SpanKind, list[ReadableSpan]]:
    kinds: dict[SpanKind, list[ReadableSpan]] = {}
    for span in finished:
        kinds.setdefault(span.kind, []).append(span)
    return kinds


def test_the_invocation_is_a_server_span_under_lambdas_function_segment(
    spans: InMemorySpanExporter, dynamodb: Stubber
) -> None:
    from handlers.pipeline_otel import lambda_handler

    expect_put_item(dynamodb)
    lambda_handler(load_event("s3-put.json"), context())

    kinds = by_kind(spans.get_finished_spans())
    assert set(kinds) == {SpanKind.SERVER, SpanKind.CLIENT}
    [server], [client] = kinds[SpanKind.SERVER], kinds[SpanKind.CLIENT]
    assert server.name == FUNCTION
    assert server.context is not None
    assert server.parent is not None
    assert server.context.trace_id == OTEL_TRACE_ID
    assert (server.parent.span_id, server.parent.is_remote) == (FUNCTION_SEGMENT_ID, True)
    assert client.context is not None
    assert client.parent is not None
    assert (client.context.trace_id, client.parent.span_id) == (OTEL_TRACE_ID, server.context.span_id)
    assert server.status.status_code is StatusCode.UNSET
    assert dict(server.attributes or {}) == {
        "faas.invocation_id": REQUEST_ID,
        "faas.coldstart": True,
        "cloud.account.id": "123456789012",  # LocalLambdaContext's function ARN
        "cloud.resource_id": f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}",
        "faas.trigger": "datasource",
        "faas.document.collection": "tracecanary-incomingbucket-1x2y3z4w5v6u",
        "faas.document.operation": "insert",
        "faas.document.time": "2026-11-25T12:00:00.123Z",
        "faas.document.name": "synthetic/powertools/2026-11-25/run-7f3a/000001.json",
    }


def test_the_resource_names_the_function_as_the_service(
    spans: InMemorySpanExporter, dynamodb: Stubber
) -> None:
    from handlers.pipeline_otel import lambda_handler

    expect_put_item(dynamodb)
    lambda_handler(load_event("s3-put.json"), context())

    resources = {span.resource for span in spans.get_finished_spans()}
    assert len(resources) == 1
    attributes = resources.pop().attributes
    assert {name: attributes[name] for name in LAMBDA_RESOURCE} == {
        "service.name": FUNCTION,
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
        "cloud.region": "eu-central-1",
        "faas.name": FUNCTION,
        "faas.version": "$LATEST",
        "faas.instance": "2026/11/25/[$LATEST]0123456789abcdef",
        "faas.max_memory": 256,
    }


LAMBDA_RESOURCE = (
    "service.name",
    "cloud.provider",
    "cloud.platform",
    "cloud.region",
    "faas.name",
    "faas.version",
    "faas.instance",
    "faas.max_memory",
)


def test_the_put_item_call_is_a_client_span_naming_its_table(
    spans: InMemorySpanExporter, dynamodb: Stubber
) -> None:
    from handlers.pipeline_otel import lambda_handler

    expect_put_item(dynamodb)
    lambda_handler(load_event("s3-put.json"), context())

    [client] = by_kind(spans.get_finished_spans())[SpanKind.CLIENT]
    attributes = client.attributes or {}
    assert client.name == "DynamoDB.PutItem"
    assert (attributes["rpc.system"], attributes["rpc.service"], attributes["rpc.method"]) == (
        "aws-api",
        "DynamoDB",
        "PutItem",
    )
    assert attributes["aws.dynamodb.table_names"] == (TABLE,)
    assert client.status.status_code is StatusCode.UNSET


def test_every_span_is_sent_before_the_handler_returns(
    spans: InMemorySpanExporter, dynamodb: Stubber
) -> None:
    """The batch processor would wait 5 s or for 10 spans; the invocation flushes it instead."""
    from handlers.pipeline_otel import lambda_handler

    expect_put_item(dynamodb)
    expect_put_item(dynamodb)
    expect_put_item(dynamodb)
    result = lambda_handler(load_event("s3-put-multi.json"), context())

    assert result["written"] == 3
    kinds = by_kind(spans.get_finished_spans())  # read right after the return, nothing flushed by the test
    assert (len(kinds[SpanKind.SERVER]), len(kinds[SpanKind.CLIENT])) == (1, 3)
    [server] = kinds[SpanKind.SERVER]
    assert (server.attributes or {})["faas.trigger"] == "datasource"
    assert "faas.document.name" not in (server.attributes or {})  # three objects: none is the document


def test_a_failed_record_fails_the_span_with_the_exception_and_is_raised(
    spans: InMemorySpanExporter, dynamodb: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.pipeline_otel import lambda_handler

    dynamodb.add_client_error(
        "put_item", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
    )
    with pytest.raises(RecordsFailedError, match=r"1 of 1 records failed"):
        lambda_handler(load_event("s3-put.json"), context())

    kinds = by_kind(spans.get_finished_spans())  # sent although the handler raised
    [server], [client] = kinds[SpanKind.SERVER], kinds[SpanKind.CLIENT]
    assert server.status.status_code is StatusCode.ERROR
    assert server.status.description is not None
    assert server.status.description.startswith("RecordsFailedError: 1 of 1 records failed")
    [event] = server.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"] == "pipeline.processor.RecordsFailedError"
    assert client.status.status_code is StatusCode.ERROR  # the instrumentation's, from the ClientError
    record = next(line for line in printed_lines(capsys.readouterr().out) if line.get("record"))
    assert (record["ItemsWritten"], record["RecordsFailed"]) == (0, 1)  # the record line still printed


def test_only_the_first_invocation_of_an_environment_is_cold(
    spans: InMemorySpanExporter, dynamodb: Stubber
) -> None:
    from handlers.pipeline_otel import lambda_handler

    expect_put_item(dynamodb)
    expect_put_item(dynamodb)
    lambda_handler(load_event("s3-put.json"), context())
    lambda_handler(load_event("s3-put.json"), context())

    servers = by_kind(spans.get_finished_spans())[SpanKind.SERVER]
    assert [(span.attributes or {})["faas.coldstart"] for span in servers] == [True, False]


def test_an_unsampled_invocation_sends_no_span_and_still_writes(
    spans: InMemorySpanExporter, dynamodb: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.pipeline_otel import lambda_handler

    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=0")
    expect_put_item(dynamodb)
    assert lambda_handler(load_event("s3-put.json"), context())["written"] == 1
    assert spans.get_finished_spans() == ()


def test_without_a_trace_header_the_server_span_starts_an_x_ray_trace(
    spans: InMemorySpanExporter, dynamodb: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.pipeline_otel import lambda_handler

    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    expect_put_item(dynamodb)
    before = int(time.time())
    lambda_handler(load_event("s3-put.json"), context())

    [server] = by_kind(spans.get_finished_spans())[SpanKind.SERVER]
    assert server.parent is None
    assert server.context is not None
    # AwsXRayIdGenerator: the first 32 bits are the epoch second the trace started, as X-Ray requires.
    assert before <= server.context.trace_id >> 96 <= int(time.time())


def test_logs_and_the_record_line_are_the_first_pipelines(
    spans: InMemorySpanExporter, dynamodb: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.pipeline_otel import lambda_handler

    expect_put_item(dynamodb)
    lambda_handler(load_event("s3-put.json"), context())

    lines = printed_lines(capsys.readouterr().out)
    assert next(line for line in lines if line.get("record") == "pipeline_event") == {
        "Pipeline": "tracecanary-test",
        "service": "pipeline",
        "record": "pipeline_event",
        "trace_id": TRACE_ID,
        "ItemsWritten": 1,
        "DuplicatesSkipped": 0,
        "RecordsFailed": 0,
    }
    processed = next(line for line in lines if line.get("message") == "event processed")
    assert (processed["xray_trace_id"], processed["function_request_id"]) == (TRACE_ID, REQUEST_ID)


def printed_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (load_event("s3-test-event.json"), {"faas.trigger": "datasource"}),
        ({"Records": [{"eventSource": "aws:sqs"}]}, {"faas.trigger": "other"}),
        ({"Records": []}, {"faas.trigger": "other"}),
        (["not", "an", "object"], {"faas.trigger": "other"}),
        (
            {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete", "s3": "?"}]},
            {"faas.trigger": "datasource", "faas.document.operation": "delete"},
        ),
        (
            load_event("s3-put-encoded-key.json"),
            {
                "faas.trigger": "datasource",
                "faas.document.collection": "tracecanary-incomingbucket-1x2y3z4w5v6u",
                "faas.document.operation": "insert",
                "faas.document.time": "2026-11-25T12:00:01.456Z",
                "faas.document.name": "synthetic/powertools/reports/Q3 summary + notes été.txt",  # decoded
            },
        ),
    ],
)
def test_the_trigger_is_read_from_the_event(event: object, expected: dict[str, object]) -> None:
    assert trigger_attributes(event) == expected


@pytest.mark.parametrize("address", ["nowhere", "127.0.0.1:", ":2000", "127.0.0.1:port", "127.0.0.1:70000"])
def test_a_bad_daemon_address_is_named(address: str) -> None:
    with pytest.raises(
        SettingsError, match=rf"^AWS_XRAY_DAEMON_ADDRESS \(got '{address}'\): expected host:port"
    ):
        daemon_address({"AWS_XRAY_DAEMON_ADDRESS": address})


def test_the_daemon_address_defaults_to_the_distros() -> None:
    assert daemon_address({}) == "127.0.0.1:2000"
    assert daemon_address({"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}) == "169.254.79.129:2000"


# Imports the twin as Lambda does and builds its client as the first call does; prints the X-Ray SDK's and
# pydantic's modules that got loaded, and which OpenTelemetry instrumentations (each has a `version` module).
PROBE = """
import sys
import handlers.pipeline_otel
handlers.pipeline_otel.item_store()
top = {name.partition(".")[0] for name in sys.modules}
print(sorted(name for name in top if name == "aws_xray_sdk" or name.startswith("pydantic")))
prefix, suffix = "opentelemetry.instrumentation.", ".version"
print(sorted(n[len(prefix):-len(suffix)] for n in sys.modules if n.startswith(prefix) and n.endswith(suffix)))
"""


def test_the_twins_cold_path_loads_botocores_instrumentation_only_and_no_x_ray_sdk() -> None:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(PROJECT_ROOT / "src"),
        "LAMBDA_TASK_ROOT": str(PROJECT_ROOT / "src"),
        "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "ITEMS_TABLE_NAME": TABLE,
        "POWERTOOLS_SERVICE_NAME": "pipeline",
        **LAMBDA_VARIABLES,
    }
    printed = run_fresh([sys.executable, "-c", PROBE], environment)
    xray_and_pydantic, instrumentations = printed.strip().splitlines()[-2:]
    assert xray_and_pydantic == "[]"
    assert instrumentations == "['botocore']"
