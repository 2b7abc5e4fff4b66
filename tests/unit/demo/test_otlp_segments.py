"""OTLP spans as X-Ray segment documents, on hand-worked export requests with the documents written out.

The rules are the OpenTelemetry collector's X-Ray exporter's (`exporter/awsxrayexporter/internal/translator/`
in open-telemetry/opentelemetry-collector-contrib): `segment.go` for ids, times, segment or subsegment, names
and namespaces; `aws.go` for the `aws` block; `cause.go` for error, throttle, fault and the cause.
Times below: T0 = 1732616624 s, the epoch in the trace id (0x6745a1b0); span times are ms after it.
"""

import re
from typing import Any

import pytest

from demo.otlp_segments import InvalidSpanError, segment_documents, xray_trace_id
from demo.xray_daemon import SegmentAssembler
from tests.unit.demo.otlp_spans import (
    CLIENT_KIND,
    DYNAMODB_PUT_ITEM,
    ERROR,
    FUNCTION,
    INTERNAL_KIND,
    PUT_ITEM,
    SERVER,
    W3C_TRACE,
    XRAY_TRACE,
    exception_event,
    put_item_span,
    request,
    server_span,
    span,
)
from traces.analysis import analyze

RESOURCE_METADATA = {
    "otel.resource.service.name": "tc-pipeline-otel",
    "otel.resource.cloud.provider": "aws",
    "otel.resource.cloud.platform": "aws_lambda",
    "otel.resource.telemetry.sdk.name": "opentelemetry",
    "otel.resource.telemetry.sdk.language": "python",
    "otel.resource.telemetry.sdk.version": "1.44.0",
}
XRAY_SDK = {"auto_instrumentation": False, "sdk": "opentelemetry for python", "sdk_version": "1.44.0"}


def expected_put_item() -> dict[str, Any]:
    """The PutItem subsegment as nested in its segment: 300 ms -> 450 ms."""
    return {
        "id": PUT_ITEM,
        "name": "DynamoDB",  # rpc.service: X-Ray names an AWS call after the service
        "start_time": 1732616624.3,
        "end_time": 1732616624.45,
        "namespace": "aws",  # rpc.system aws-api
        "error": False,
        "throttle": False,
        "fault": False,
        "http": {"response": {"status": 200}},
        "aws": {
            "operation": "PutItem",  # rpc.method, there being no aws.operation
            "region": "us-east-1",
            "request_id": "QWERTYUIOP0123456789ASDFGHJKLZXCVBNMQWERTYUIOP01",
            "table_name": "items",  # aws.dynamodb.table_names with one table
        },
        "annotations": {"span.kind": "CLIENT"},
        "metadata": {
            "default": {
                "rpc.system": "aws-api",
                "rpc.service": "DynamoDB",
                "aws.dynamodb.table_names": ["items"],
            }
        },
    }


def test_the_handlers_span_is_a_segment_under_the_function_segment_holding_its_call() -> None:
    [document] = segment_documents(request(server_span(), put_item_span()))
    assert document == {
        "id": SERVER,
        "trace_id": XRAY_TRACE,
        "name": "tc-pipeline-otel",  # the resource's service.name, not the span name
        "start_time": 1732616624.25,
        "end_time": 1732616624.5,
        "parent_id": FUNCTION,  # the remote parent: Lambda's function segment
        "error": False,
        "throttle": False,
        "fault": False,
        "aws": {"xray": XRAY_SDK},
        "annotations": {"span.kind": "SERVER"},
        "metadata": {"default": {**RESOURCE_METADATA, "faas.invocation_id": "8c3c5b0a-request"}},
        "subsegments": [expected_put_item()],
    }
    assert "origin" not in document  # the exporter sets none for aws_lambda, and the engine needs none


def test_a_call_exported_without_its_parent_is_a_standalone_subsegment_naming_it() -> None:
    # With one export per span (SimpleSpanProcessor), the call ends and is sent before the handler's span.
    [document] = segment_documents(request(put_item_span()))
    assert document == {
        **expected_put_item(),
        "trace_id": XRAY_TRACE,
        "type": "subsegment",
        "parent_id": SERVER,
    }


def test_the_trace_id_is_split_after_the_epoch() -> None:
    assert xray_trace_id(bytes.fromhex(W3C_TRACE)) == XRAY_TRACE
    assert xray_trace_id(bytes.fromhex("0" * 31 + "1")) == "1-00000000-000000000000000000000001"


def call_flags(**changes: Any) -> tuple[bool, bool, bool]:
    [document] = segment_documents(request(put_item_span(**changes)))
    return document["error"], document["throttle"], document["fault"]


@pytest.mark.parametrize(
    ("status_attributes", "status", "flags"),
    [
        ({"http.status_code": 200}, None, (False, False, False)),
        ({"http.status_code": 400}, None, (True, False, False)),  # 4xx: error
        ({"http.status_code": 429}, None, (True, True, False)),  # 429: error and throttle
        ({"http.status_code": 500}, None, (False, False, True)),  # 5xx: fault
        ({"http.response.status_code": 503}, None, (False, False, True)),  # the newer attribute name
        ({}, ERROR, (False, False, True)),  # status ERROR without a code: fault
        ({"http.status_code": 200}, ERROR, (False, False, True)),  # no 4xx/5xx code: the status decides
        ({"http.status_code": 404}, ERROR, (True, False, False)),  # a 4xx code wins over the status
    ],
)
def test_error_throttle_and_fault_come_from_the_http_code_then_the_status(
    status_attributes: dict[str, int], status: Any, flags: tuple[bool, bool, bool]
) -> None:
    attributes = {key: item for key, item in DYNAMODB_PUT_ITEM.items() if key != "http.status_code"}
    changes: dict[str, Any] = {"attributes": {**attributes, **status_attributes}}
    if status is not None:
        changes["status"] = status
    assert call_flags(**changes) == flags


PYTHON_TRACEBACK = """Traceback (most recent call last):
  File "/var/task/pipeline/items.py", line 41, in put
    self._table.put_item(Item=item)
  File "/var/task/botocore/client.py", line 1023, in _make_api_call
    raise error_class(parsed_response, operation_name)
botocore.exceptions.ClientError: An error occurred (ConditionalCheckFailedException) when calling PutItem
"""


def test_an_exception_event_is_the_cause_with_its_python_frames_innermost_first() -> None:
    event = exception_event("ClientError", "ConditionalCheckFailedException", PYTHON_TRACEBACK)
    attributes = {**DYNAMODB_PUT_ITEM, "http.status_code": 400}
    [document] = segment_documents(
        request(put_item_span(attributes=attributes, events=[event], status=ERROR))
    )
    [exception] = document["cause"]["exceptions"]
    assert re.fullmatch(r"[0-9a-f]{16}", exception.pop("id"))
    assert exception == {
        "type": "ClientError",
        "message": "ConditionalCheckFailedException",
        "remote": True,  # a CLIENT span's exception came from the other side
        "stack": [
            {"path": "/var/task/botocore/client.py", "line": 1023, "label": "_make_api_call"},
            {"path": "/var/task/pipeline/items.py", "line": 41, "label": "put"},
        ],
    }
    assert (document["error"], document["fault"]) == (True, False)  # the 400 decides, not the status


def test_only_the_last_exception_of_a_chained_traceback_gives_frames() -> None:
    chained = (
        'Traceback (most recent call last):\n  File "/var/task/a.py", line 3, in first\n    x()\n'
        "KeyError: 'k'\n\nDuring handling of the above exception, another exception occurred:\n\n"
        'Traceback (most recent call last):\n  File "/var/task/b.py", line 9, in second\n    y()\n'
        "ValueError: v\n"
    )
    handler = server_span(events=[exception_event("ValueError", "v", chained)], status=ERROR)
    [document] = segment_documents(request(handler))
    [exception] = document["cause"]["exceptions"]
    assert exception["stack"] == [{"path": "/var/task/b.py", "line": 9, "label": "second"}]
    assert exception["remote"] is False  # raised in the handler itself
    assert document["fault"] is True


def test_an_error_status_without_an_exception_gives_its_message_as_the_cause() -> None:
    [document] = segment_documents(request(server_span(status=ERROR, status_message="handler timed out")))
    [exception] = document["cause"]["exceptions"]
    assert exception["message"] == "handler timed out"
    assert document["fault"] is True
    [quiet] = segment_documents(request(server_span(status=ERROR)))
    assert "cause" not in quiet  # no message, no cause: only the fault flag
    assert quiet["fault"] is True


def test_an_internal_span_is_a_subsegment_without_namespace() -> None:
    step = span("1000000000000001", "parse event", INTERNAL_KIND, 260, 270, parent=SERVER)
    [document] = segment_documents(request(server_span(), step))
    [nested] = document["subsegments"]
    assert nested == {
        "id": "1000000000000001",
        "name": "parse event",
        "start_time": 1732616624.26,
        "end_time": 1732616624.27,
        "error": False,
        "throttle": False,
        "fault": False,
        "annotations": {"span.kind": "INTERNAL"},
    }


def test_any_span_whose_parent_is_remote_is_a_segment_of_its_own() -> None:
    # The handler's span as an INTERNAL one (no Lambda instrumentation), its parent from the trace header.
    handler = span(SERVER, "handler", INTERNAL_KIND, 250, 500, parent=FUNCTION, remote_parent=True)
    [document] = segment_documents(request(handler))
    assert (document["name"], document["parent_id"]) == ("tc-pipeline-otel", FUNCTION)
    assert {"type", "namespace"}.isdisjoint(document)
    # The same span with a local parent that did not come in this export waits as a subsegment instead.
    [waiting] = segment_documents(request(span(SERVER, "handler", INTERNAL_KIND, 250, 500, parent=FUNCTION)))
    assert (waiting["type"], waiting["parent_id"]) == ("subsegment", FUNCTION)


def test_a_call_that_is_a_local_root_gets_a_service_segment_around_it() -> None:
    # botocore without a handler span: the call's parent is the trace header's.
    call = put_item_span(parent=FUNCTION, remote_parent=True)
    [service] = segment_documents(request(call))
    [nested] = service.pop("subsegments")
    assert re.fullmatch(r"[0-9a-f]{16}", service.pop("id"))
    assert service == {
        "trace_id": XRAY_TRACE,
        "name": "tc-pipeline-otel",
        "start_time": 1732616624.3,
        "end_time": 1732616624.45,
        "parent_id": FUNCTION,
        "error": False,
        "throttle": False,
        "fault": False,
        "aws": {"xray": XRAY_SDK},  # no call fields: they belong to the call
        "annotations": {"span.kind": "CLIENT"},
        "metadata": {"default": RESOURCE_METADATA},
    }
    assert nested == expected_put_item()


def test_the_aws_block_names_tables_buckets_and_queues() -> None:
    s3 = {
        "rpc.system": "aws-api",
        "rpc.service": "S3",
        "rpc.method": "GetObject",
        "aws.s3.bucket": "tc-bucket",
        "aws.remote.service": "AWS::S3",  # the distro's Application Signals attribute: names the call
    }
    sqs = {"rpc.system": "aws-api", "rpc.service": "SQS", "aws.operation": "SendMessage"}
    sqs["aws.sqs.queue_url"] = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
    batch = {"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": "BatchWriteItem"}
    batch["aws.dynamodb.table_names"] = ["items", "manifest"]
    spans = [
        span(f"c00000000000000{index}", "call", CLIENT_KIND, 300, 310, parent=SERVER, attributes=attributes)
        for index, attributes in enumerate((s3, sqs, batch), start=2)
    ]
    [document] = segment_documents(request(server_span(), *spans))
    calls = document["subsegments"]
    assert [(call["name"], call["namespace"]) for call in calls] == [
        ("S3", "aws"),
        ("SQS", "aws"),
        ("DynamoDB", "aws"),
    ]
    assert [call["aws"] for call in calls] == [
        {"operation": "GetObject", "bucket_name": "tc-bucket"},
        {"operation": "SendMessage", "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/q"},
        {"operation": "BatchWriteItem", "table_names": ["items", "manifest"]},  # several: no table_name
    ]


def test_a_client_span_of_no_aws_sdk_is_remote() -> None:
    call = span(
        "c000000000000009", "GET", CLIENT_KIND, 300, 310, parent=SERVER, attributes={"http.method": "GET"}
    )
    [document] = segment_documents(request(call))
    assert (document["name"], document["namespace"]) == ("GET", "remote")
    assert document["http"] == {"request": {"method": "GET"}}


def test_only_the_keys_the_span_lists_become_annotations() -> None:
    attributes = {"tc.run": "r-1", "tc.sequence": 7, "aws.xray.annotations": ["tc.run"]}
    [document] = segment_documents(request(server_span(attributes=attributes)))
    assert document["annotations"] == {"tc.run": "r-1", "span.kind": "SERVER"}
    assert document["metadata"]["default"]["tc.sequence"] == 7
    assert "aws.xray.annotations" not in document["metadata"]["default"]


def test_an_unfinished_span_is_in_progress() -> None:
    [document] = segment_documents(request(server_span(end_ms=None)))
    assert document["in_progress"] is True
    assert "end_time" not in document


def test_spans_under_a_span_of_the_same_export_nest_at_any_depth_in_any_order() -> None:
    step = span("1000000000000001", "store", INTERNAL_KIND, 290, 460, parent=SERVER)
    call = put_item_span(parent="1000000000000001")
    [document] = segment_documents(request(call, step, server_span()))  # children end, and come, first
    [nested_step] = document["subsegments"]
    assert [part["id"] for part in nested_step["subsegments"]] == [PUT_ITEM]


def test_spans_whose_parents_form_a_loop_go_out_on_their_own() -> None:
    first = span("1000000000000001", "a", INTERNAL_KIND, 1, 2, parent="1000000000000002")
    second = span("1000000000000002", "b", INTERNAL_KIND, 1, 2, parent="1000000000000001")
    documents = segment_documents(request(first, second))
    assert [(document["id"], document["type"]) for document in documents] == [
        ("1000000000000001", "subsegment"),
        ("1000000000000002", "subsegment"),
    ]


@pytest.mark.parametrize(
    ("field", "raw", "reason"),
    [
        ("trace_id", b"", "trace_id is empty"),
        ("trace_id", bytes(16), "trace_id is all zeros"),
        ("span_id", b"", "span_id is empty, not 8 bytes"),
        ("span_id", b"\x01\x02", "span_id is 0102, not 8 bytes"),
        ("parent_span_id", b"\x01\x02", "parent_span_id is 0102, not 8 bytes"),
    ],
)
def test_a_span_without_valid_ids_is_refused_by_name(field: str, raw: bytes, reason: str) -> None:
    bad = put_item_span()
    setattr(bad, field, raw)
    with pytest.raises(InvalidSpanError, match=f"span 'DynamoDB.PutItem': {reason}"):
        segment_documents(request(server_span(), bad))


def test_a_parent_id_of_zeros_means_no_parent() -> None:
    root = span(SERVER, "handler", INTERNAL_KIND, 250, 500)
    root.parent_span_id = bytes(8)  # what some encoders write for a root span
    [document] = segment_documents(request(root))
    assert "parent_id" not in document
    assert "type" not in document


def lambda_function_segment() -> dict[str, Any]:
    """Lambda's new-style function segment for the invocation: 200 ms -> 560 ms, Init before it."""
    return {
        "id": FUNCTION,
        "trace_id": XRAY_TRACE,
        "name": "tc-pipeline-otel",
        "origin": "AWS::Lambda::Function",
        "start_time": 1732616624.2,
        "end_time": 1732616624.56,
        "annotations": {
            "aws:responseLatency": 310.0,
            "aws:runtimeOverhead": 49.5,
            "aws:responseDuration": 0.5,
        },
        "subsegments": [
            {"id": "1000000000000009", "name": "Init", "start_time": 1732616623.9, "end_time": 1732616624.19},
            {
                "id": "0000000000000009",
                "name": "Overhead",
                "start_time": 1732616624.51,
                "end_time": 1732616624.56,
            },
        ],
    }


def test_the_engine_finds_the_put_item_through_the_attached_segment() -> None:
    # What the local daemon stores: the handler's span in one datagram, its call in a later one (the
    # assembler nests it), and Lambda's function segment, which the runtime sends last.
    assembler = SegmentAssembler()
    for now, export in enumerate((request(server_span()), request(put_item_span())), start=1):
        for document in segment_documents(export):
            assert assembler.add(document, now=float(now)) == []
    assembler.add(lambda_function_segment(), now=3.0)
    stored = assembler.take_all(orphans=True)
    [server_segment] = [document for document in stored if document["id"] == SERVER]
    assert [part["id"] for part in server_segment["subsegments"]] == [PUT_ITEM]
    [function] = [document for document in stored if document["id"] == FUNCTION]
    assert [part["name"] for part in function["subsegments"]] == ["Init", "Overhead"]  # no call under it

    result = analyze(stored)
    assert len(result.invocations) == 1  # the SERVER-span segment is attached, not an invocation
    [invocation] = result.invocations
    assert (invocation.function, invocation.format, invocation.cold_start) == ("tc-pipeline-otel", "v2", True)
    assert [(call.service, call.operation, call.resource) for call in invocation.calls] == [
        ("DynamoDB", "PutItem", "items")
    ]
    [call] = invocation.calls
    assert call.duration_ms == pytest.approx(150.0)  # 300 ms -> 450 ms
    assert (call.error, call.fault, call.throttle) == (False, False, False)
    assert invocation.function_error is False
    assert invocation.complete is True
