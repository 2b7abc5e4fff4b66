"""The X-Ray daemon protocol's datagrams: a header line, then a segment document or OpenTelemetry spans.

Every datagram starts with the header `{"format": "json", "version": 1}` and a newline. What follows is either
- one segment or subsegment document as JSON, as the X-Ray SDKs' UDP emitters send it; or
- OTLP spans, as `aws-opentelemetry-distro`'s `OTLPUdpSpanExporter` sends them to the Lambda X-Ray endpoint:
  `T1S` (sampled) or `T1U` (unsampled) and the base64 of a protobuf `ExportTraceServiceRequest`. Sampled
  spans become segment documents (`demo.otlp_segments`); unsampled ones are counted and dropped, as X-Ray
  stores no unsampled trace.
A datagram that is neither says why in a `MalformedDatagramError`.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]  # protobuf ships no stubs
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from demo.otlp_segments import InvalidSpanError, segment_documents

Document = dict[str, Any]

PROTOCOL_HEADER = {"format": "json", "version": 1}
OTLP_SAMPLED_PREFIX = b"T1S"
OTLP_UNSAMPLED_PREFIX = b"T1U"
OTLP_METRICS_PREFIX = b"M1"  # the distro's OTLPUdpMetricExporter; not spans
_PREFIX_LIKE = re.compile(rb"[A-Z][0-9]")  # the distro's prefixes: T1S, T1U, M1 (metrics)


class MalformedDatagramError(ValueError):
    """A datagram that is not a daemon protocol header followed by one segment document or OTLP spans."""


@dataclass(frozen=True)
class Datagram:
    """What one datagram brought: documents to store, and for OTLP how many spans came and were dropped."""

    documents: list[Document] = field(default_factory=list)
    otlp: bool = False
    spans: int = 0  # sampled spans converted into `documents`
    unsampled_spans: int = 0  # spans of a `T1U` datagram, dropped


def encode_datagram(document: Document) -> bytes:
    """One datagram as the X-Ray SDK's UDP emitter sends it."""
    return json.dumps(PROTOCOL_HEADER).encode() + b"\n" + json.dumps(document).encode()


def read_datagram(data: bytes) -> Datagram:
    """The documents a datagram of either kind carries; MalformedDatagramError says why there are none."""
    body = _body(data)
    if body.startswith((OTLP_SAMPLED_PREFIX, OTLP_UNSAMPLED_PREFIX)):
        return _read_spans(body)
    if body.startswith(OTLP_METRICS_PREFIX):
        raise MalformedDatagramError("OTLP metrics (prefix M1): the X-Ray endpoint takes spans (T1S, T1U)")
    if _PREFIX_LIKE.match(body):
        raise MalformedDatagramError(
            f"unknown prefix {body[:3]!r}: neither a JSON document nor OTLP spans (T1S, T1U)"
        )
    return Datagram([_document(body)])


def parse_datagram(data: bytes) -> Document:
    """The segment document a JSON datagram carries; MalformedDatagramError says why there is none."""
    return _document(_body(data))


def is_standalone_subsegment(document: Document) -> bool:
    return document.get("type") == "subsegment"


def _body(data: bytes) -> bytes:
    header_text, newline, body = data.partition(b"\n")
    if not newline:
        raise MalformedDatagramError("no newline after the protocol header")
    try:
        header = json.loads(header_text)
    except ValueError as error:
        raise MalformedDatagramError(f"header is not JSON: {error}") from None
    if not isinstance(header, dict) or header.get("format") != "json" or header.get("version") != 1:
        raise MalformedDatagramError(f"unsupported header {header_text[:80]!r}")
    return body


def _document(body: bytes) -> Document:
    try:
        document = json.loads(body)
    except ValueError as error:
        raise MalformedDatagramError(f"document is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedDatagramError("document is not a JSON object")
    for key in ("id", "trace_id"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise MalformedDatagramError(f"document has no {key!r}")
    if is_standalone_subsegment(document) and not isinstance(document.get("parent_id"), str):
        raise MalformedDatagramError("subsegment document has no 'parent_id'")
    return document


def _read_spans(body: bytes) -> Datagram:
    prefix, encoded = body[:3], body[3:].strip()
    try:
        payload = base64.b64decode(encoded, validate=True)
    except binascii.Error as error:
        raise MalformedDatagramError(f"{prefix.decode()} payload is not base64: {error}") from None
    try:
        request = ExportTraceServiceRequest.FromString(payload)
    except DecodeError as error:
        raise MalformedDatagramError(
            f"{prefix.decode()} payload is not an OTLP ExportTraceServiceRequest: {error}"
        ) from None
    spans = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
    if prefix == OTLP_UNSAMPLED_PREFIX:
        return Datagram(otlp=True, unsampled_spans=spans)
    try:
        documents = segment_documents(request)
    except InvalidSpanError as error:
        raise MalformedDatagramError(str(error)) from None
    return Datagram(documents, otlp=True, spans=spans)
