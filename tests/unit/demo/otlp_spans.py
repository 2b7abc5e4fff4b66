"""Small builders for OTLP export requests, so each test shows the exact spans it is about.

The trace: Lambda's new-style function segment `FUNCTION` (the `Parent` of `_X_AMZN_TRACE_ID`), the
handler's SERVER span under it (a remote parent), the DynamoDB PutItem CLIENT span under that.
"""

import base64
from typing import Any

from amazon.opentelemetry.distro.otlp_udp_exporter import (
    FORMAT_OTEL_SAMPLED_TRACES_BINARY_PREFIX as SAMPLED,
)
from amazon.opentelemetry.distro.otlp_udp_exporter import PROTOCOL_HEADER
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, SpanFlags, Status

W3C_TRACE = "6745a1b00123456789abcdef01234567"
XRAY_TRACE = "1-6745a1b0-0123456789abcdef01234567"
FUNCTION = "f000000000000002"
SERVER = "5e00000000000001"
PUT_ITEM = "c000000000000001"
SECOND = 1_000_000_000
T0 = 1_732_616_624 * SECOND  # 2024-11-26T10:23:44Z, the trace id's epoch 0x6745a1b0

SERVER_KIND = Span.SpanKind.SPAN_KIND_SERVER
CLIENT_KIND = Span.SpanKind.SPAN_KIND_CLIENT
INTERNAL_KIND = Span.SpanKind.SPAN_KIND_INTERNAL
ERROR = Status.StatusCode.STATUS_CODE_ERROR

LAMBDA_RESOURCE = {
    "service.name": "tc-pipeline-otel",
    "cloud.provider": "aws",
    "cloud.platform": "aws_lambda",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.language": "python",
    "telemetry.sdk.version": "1.44.0",
}
DYNAMODB_PUT_ITEM = {
    "rpc.system": "aws-api",
    "rpc.service": "DynamoDB",
    "rpc.method": "PutItem",
    "aws.region": "us-east-1",
    "aws.request_id": "QWERTYUIOP0123456789ASDFGHJKLZXCVBNMQWERTYUIOP01",
    "aws.dynamodb.table_names": ["items"],
    "http.status_code": 200,
}


def value(plain: Any) -> AnyValue:
    if isinstance(plain, bool):
        return AnyValue(bool_value=plain)
    if isinstance(plain, int):
        return AnyValue(int_value=plain)
    if isinstance(plain, float):
        return AnyValue(double_value=plain)
    if isinstance(plain, list):
        return AnyValue(array_value=ArrayValue(values=[value(item) for item in plain]))
    return AnyValue(string_value=plain)


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=value(plain)) for key, plain in attributes.items()]


def span(
    span_id: str,
    name: str,
    kind: Any,
    start_ms: int,
    end_ms: int | None,
    *,
    parent: str | None = None,
    remote_parent: bool = False,
    attributes: dict[str, Any] | None = None,
    status: Any = Status.StatusCode.STATUS_CODE_UNSET,
    status_message: str = "",
    events: list[Span.Event] | None = None,
    trace: str = W3C_TRACE,
) -> Span:
    """A span as the Python SDK's OTLP encoder writes it; times in ms after T0, `end_ms=None` unfinished."""
    flags = SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
    if remote_parent:
        flags |= SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
    return Span(
        trace_id=bytes.fromhex(trace),
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent) if parent else b"",
        name=name,
        kind=kind,
        start_time_unix_nano=T0 + start_ms * 1_000_000,
        end_time_unix_nano=T0 + end_ms * 1_000_000 if end_ms is not None else 0,
        attributes=key_values(attributes or {}),
        status=Status(code=status, message=status_message),
        events=events or [],
        flags=flags,
    )


def exception_event(exception_type: str, message: str, stacktrace: str) -> Span.Event:
    attributes = {"exception.type": exception_type, "exception.message": message}
    attributes["exception.stacktrace"] = stacktrace
    return Span.Event(name="exception", time_unix_nano=T0, attributes=key_values(attributes))


def request(*spans: Span, resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    resource_attributes = LAMBDA_RESOURCE if resource is None else resource
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=key_values(resource_attributes)),
                scope_spans=[ScopeSpans(spans=list(spans))],
            )
        ]
    )


def server_span(**changes: Any) -> Span:
    """The handler's span, 250 ms -> 500 ms, its parent Lambda's function segment."""
    fields: dict[str, Any] = {
        "start_ms": 250,
        "end_ms": 500,
        "parent": FUNCTION,
        "remote_parent": True,
        "attributes": {"faas.invocation_id": "8c3c5b0a-request"},
    }
    return span(SERVER, "lambda_handler", SERVER_KIND, **{**fields, **changes})


def put_item_span(**changes: Any) -> Span:
    """botocore's span for the PutItem, 300 ms -> 450 ms, under the handler's span."""
    fields: dict[str, Any] = {
        "start_ms": 300,
        "end_ms": 450,
        "parent": SERVER,
        "attributes": DYNAMODB_PUT_ITEM,
    }
    return span(PUT_ITEM, "DynamoDB.PutItem", CLIENT_KIND, **{**fields, **changes})


def otlp_datagram(export: ExportTraceServiceRequest, prefix: str = SAMPLED) -> bytes:
    """A datagram laid out as the distro's UdpExporter lays it out, from the distro's own constants."""
    payload = base64.b64encode(export.SerializeToString()).decode()
    return f"{PROTOCOL_HEADER}{prefix}{payload}".encode()
