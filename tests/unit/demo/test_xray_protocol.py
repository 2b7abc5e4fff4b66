"""The daemon protocol: a JSON header line, then one segment or subsegment document, or OTLP spans."""

import base64
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from amazon.opentelemetry.distro.otlp_udp_exporter import OTLPUdpSpanExporter
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from demo.xray_daemon import XRayDaemon
from demo.xray_datagrams import (
    Datagram,
    MalformedDatagramError,
    encode_datagram,
    parse_datagram,
    read_datagram,
)
from tests.unit.demo.otlp_spans import (
    DYNAMODB_PUT_ITEM,
    FUNCTION,
    PUT_ITEM,
    SERVER,
    XRAY_TRACE,
    otlp_datagram,
    put_item_span,
    request,
    server_span,
)

SEGMENT = {"id": "1a2b3c4d5e6f7081", "trace_id": "1-6745a1b0-00000000000000000000abcd", "name": "f"}


def test_the_x_ray_sdk_datagram_is_read() -> None:
    # Byte for byte what aws_xray_sdk's UDPEmitter sends.
    datagram = b'{"format":"json","version":1}\n' + json.dumps(SEGMENT).encode()
    assert parse_datagram(datagram) == SEGMENT


def test_encoded_datagrams_read_back() -> None:
    subsegment = {**SEGMENT, "type": "subsegment", "parent_id": "0102030405060708"}
    assert parse_datagram(encode_datagram(subsegment)) == subsegment


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"", "no newline"),
        (json.dumps(SEGMENT).encode(), "no newline"),
        (b'{"format":"json","version":1}' + json.dumps(SEGMENT).encode(), "no newline"),
        (b"format json\n{}", "header is not JSON"),
        (b'{"format":"xml","version":1}\n{}', "unsupported header"),
        (b'{"format":"json","version":2}\n{}', "unsupported header"),
        (b'["json", 1]\n{}', "unsupported header"),
        (b'{"format":"json","version":1}\n{"id": ', "document is not JSON"),
        (b'{"format":"json","version":1}\n[1, 2]', "not a JSON object"),
        (b'{"format":"json","version":1}\n{"trace_id": "1-2-3"}', "no 'id'"),
        (b'{"format":"json","version":1}\n{"id": "a", "trace_id": ""}', "no 'trace_id'"),
        (
            b'{"format":"json","version":1}\n{"id": "a", "trace_id": "t", "type": "subsegment"}',
            "no 'parent_id'",
        ),
        (b'{"format":"json","version":1}\n\xff\xfe', "document is not JSON"),
    ],
)
def test_malformed_datagrams_say_why(datagram: bytes, reason: str) -> None:
    with pytest.raises(MalformedDatagramError, match=reason):
        parse_datagram(datagram)


# OTLP over UDP, as aws-opentelemetry-distro sends spans to the Lambda X-Ray endpoint.

LAMBDA_TRACE_HEADER = f"Root={XRAY_TRACE};Parent={FUNCTION};Sampled=1"  # _X_AMZN_TRACE_ID


@pytest.fixture
def endpoint() -> Iterator[socket.socket]:
    """A UDP socket standing in for the Lambda X-Ray endpoint (AWS_XRAY_DAEMON_ADDRESS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(10)  # a guard against a hang, not a timing assertion
        yield receiver


def traced_handler(exporter: SpanExporter) -> list[ReadableSpan]:
    """The twin's spans made by the real SDK: the handler's SERVER span, parented by the trace header, and
    a DynamoDB PutItem CLIENT span under it; each exported as it ends, as SimpleSpanProcessor does."""
    finished = InMemorySpanExporter()
    provider = TracerProvider(
        id_generator=AwsXRayIdGenerator(),
        resource=Resource.create({"service.name": "tc-pipeline-otel", "cloud.platform": "aws_lambda"}),
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(SimpleSpanProcessor(finished))
    tracer = provider.get_tracer("tracecanary.test")
    lambda_context = AwsXRayPropagator().extract({"X-Amzn-Trace-Id": LAMBDA_TRACE_HEADER})
    with (
        tracer.start_as_current_span("lambda_handler", context=lambda_context, kind=SpanKind.SERVER),
        tracer.start_as_current_span("DynamoDB.PutItem", kind=SpanKind.CLIENT, attributes=DYNAMODB_PUT_ITEM),
    ):
        pass  # the handler's work; botocore's instrumentation sets these attributes on its call span
    provider.shutdown()
    return list(finished.get_finished_spans())


def test_the_distros_udp_exporter_datagrams_are_read_span_for_span(endpoint: socket.socket) -> None:
    host, port = endpoint.getsockname()
    spans = traced_handler(OTLPUdpSpanExporter(endpoint=f"{host}:{port}"))
    datagrams = [endpoint.recvfrom(65536)[0] for _ in spans]
    assert all(data.startswith(b'{"format":"json","version":1}\nT1S') for data in datagrams)
    read = [read_datagram(data) for data in datagrams]
    assert [(datagram.otlp, datagram.spans, datagram.unsampled_spans) for datagram in read] == [
        (True, 1, 0)
    ] * 2
    documents = [document for datagram in read for document in datagram.documents]
    assert [
        (document["id"], document["trace_id"], document.get("parent_id"), document["start_time"])
        for document in documents
    ] == [
        (
            f"{sent.context.span_id:016x}",
            XRAY_TRACE,  # the trace header's Root, which AwsXRayPropagator carried into the spans
            f"{sent.parent.span_id:016x}" if sent.parent else None,
            (sent.start_time or 0) / 1_000_000_000,
        )
        for sent in spans
    ]
    call, handler = documents  # the call ends, and is sent, first
    assert (call["type"], call["name"], call["namespace"], call["aws"]["table_name"]) == (
        "subsegment",
        "DynamoDB",
        "aws",
        "items",
    )
    assert (handler["name"], handler["parent_id"]) == ("tc-pipeline-otel", FUNCTION)
    assert "type" not in handler  # a segment: its parent is remote, Lambda's function segment


def test_unsampled_spans_come_as_t1u_and_are_dropped(endpoint: socket.socket) -> None:
    host, port = endpoint.getsockname()
    spans = traced_handler(OTLPUdpSpanExporter(endpoint=f"{host}:{port}", sampled=False))
    datagrams = [endpoint.recvfrom(65536)[0] for _ in spans]
    assert all(data.startswith(b'{"format":"json","version":1}\nT1U') for data in datagrams)
    read = [read_datagram(data) for data in datagrams]
    assert [(datagram.documents, datagram.unsampled_spans) for datagram in read] == [([], 1)] * 2


def otlp_with_bad_span() -> bytes:
    bad = put_item_span()
    bad.span_id = b""
    return otlp_datagram(request(server_span(), bad))


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b'{"format":"json","version":1}\nT1S@@@@', "T1S payload is not base64"),
        (b'{"format":"json","version":1}\nT1Sc2hvcnQ', "T1S payload is not base64"),  # padding missing
        (
            b'{"format":"json","version":1}\nT1S' + base64.b64encode(b"\xff\xff\xff"),
            "T1S payload is not an OTLP ExportTraceServiceRequest",
        ),
        (b'{"format":"json","version":1}\nT2Xabcd', "unknown prefix b'T2X'"),
        (b'{"format":"json","version":1}\nM1abcd', "OTLP metrics (prefix M1)"),
        (otlp_with_bad_span(), "span 'DynamoDB.PutItem': span_id is empty"),
        (otlp_datagram(request(server_span()))[1:], "header is not JSON"),
    ],
)
def test_malformed_otlp_datagrams_say_why(datagram: bytes, reason: str) -> None:
    with pytest.raises(MalformedDatagramError, match=re.escape(reason)):
        read_datagram(datagram)


def test_an_empty_export_is_no_error() -> None:
    assert read_datagram(otlp_datagram(ExportTraceServiceRequest())) == Datagram(otlp=True)


def test_the_daemon_drops_malformed_datagrams_and_nests_a_call_sent_after_its_segment() -> None:
    stored: list[dict[str, Any]] = []

    def put_segments(documents: list[str]) -> int:
        stored.extend(json.loads(document) for document in documents)
        return 0

    daemon = XRayDaemon(put_segments, settle_seconds=3600.0)  # nothing leaves before the flush
    daemon.start()
    try:
        host, port = daemon.address.split(":")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for datagram in (
                b'{"format":"json","version":1}\nT1S@@@@',  # bad base64
                b'{"format":"json","version":1}\nT1S' + base64.b64encode(b"\xff\xff\xff"),  # bad protobuf
                b'{"format":"json","version":1}\nX9whatever',  # unknown prefix
                otlp_with_bad_span(),
                otlp_datagram(request(server_span())),
                otlp_datagram(request(put_item_span())),  # the call after its segment
                otlp_datagram(request(put_item_span()), prefix="T1U"),
            ):
                sender.sendto(datagram, (host, int(port)))
        assert daemon.flush()
        stats = daemon.stats()
    finally:
        daemon.stop()
    assert (stats.datagrams, stats.malformed, stats.otlp_datagrams) == (7, 4, 3)
    assert (stats.spans, stats.unsampled_spans) == (2, 1)
    assert (stats.segments, stats.subsegments, stats.attached) == (1, 1, 1)
    assert (stats.forwarded, stats.put_errors) == (1, 0)
    [segment] = stored
    assert (segment["id"], segment["parent_id"]) == (SERVER, FUNCTION)
    [call] = segment["subsegments"]
    assert (call["id"], call["name"], call["aws"]["operation"]) == (PUT_ITEM, "DynamoDB", "PutItem")
    assert {"type", "parent_id", "trace_id"}.isdisjoint(call)
