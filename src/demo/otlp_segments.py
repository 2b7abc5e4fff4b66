"""OpenTelemetry spans as X-Ray segment documents, as X-Ray converts what the Lambda X-Ray endpoint receives.

AWS's `aws-opentelemetry-distro` sends a Lambda function's spans as OTLP over UDP to the X-Ray endpoint, and
X-Ray stores them as segment documents. AWS documents the mapping only through its public twin, the
OpenTelemetry collector's X-Ray exporter (open-telemetry/opentelemetry-collector-contrib,
`exporter/awsxrayexporter/internal/translator/`: `segment.go`, `aws.go`, `http.go`, `cause.go`); this module
follows it:
- ids: the W3C trace id `<8 hex><24 hex>` is `1-<8 hex>-<24 hex>` (not checked against X-Ray's 30-day
  window, as the exporter does: locally the clock is the test's); span ids are the segment ids; times are
  seconds (nanoseconds / 10**9).
- A local root is a segment: a SERVER span, a span without a parent, a span whose parent is remote (the OTLP
  flags say so; in Lambda that parent is Lambda's function segment from `_X_AMZN_TRACE_ID`), or one marked
  `aws.span.kind` = `LOCAL_ROOT`. It keeps that parent as `parent_id` and is named after the service
  (`aws.local.service`, else the resource's `service.name`, else the span name). A CLIENT, PRODUCER or
  CONSUMER local root becomes a service segment (an id of its own) holding the call, as the exporter does.
- Every other span is a subsegment: nested under its parent where the parent came in the same export, else a
  standalone subsegment document (`type`, `parent_id`, `trace_id`) for the daemon to nest. An AWS SDK span
  (`rpc.system` = `aws-api`) has `namespace` `aws` and is named after the service (`aws.remote.service`
  without `AWS::`/`AWS.SDK.`, else `rpc.service`); another CLIENT span has `namespace` `remote`; INTERNAL
  none.
- `aws`: `operation` (`aws.operation`, else `rpc.method`), `region`, `request_id`, `account_id`, `table_name`
  (`aws.dynamodb.table_names` with one table, `table_names` with several), `queue_url`; `bucket_name` from
  `aws.s3.bucket` is ours (the exporter leaves the bucket in metadata; the X-Ray SDKs write `bucket_name`,
  which the engine reads first). Segments add `xray` (the SDK) and `cloudwatch_logs`.
- `error`/`throttle`/`fault` from `http.status_code` (or `http.response.status_code`): 4xx error, 429 also
  throttle, 5xx fault; without a 4xx/5xx code a span status ERROR is a fault. `cause`: one exception per span
  event `exception` (type, message, `remote` for CLIENT/PRODUCER spans, the frames of a Python traceback),
  else the ERROR status's message. Exception ids are derived from the part's id, so the output is a pure
  function of the input (the exporter draws them at random).
- Attributes not mapped to a field go to `metadata` `default` (segments add the resource's attributes as
  `otel.resource.<key>`); only keys listed in `aws.xray.annotations` become annotations, and
  `aws.xray.metadata.<ns>` JSON becomes namespace `<ns>`. Ours: the annotation `span.kind` (`SERVER`,
  `CLIENT`, ...), which X-Ray's own conversion writes (DESIGN.md) and the exporter does not.
- No `origin`: the exporter sets one only for EC2, ECS, EKS, Elastic Beanstalk and App Runner resources, none
  for `cloud.platform` `aws_lambda`; and a segment claiming `AWS::Lambda::Function` would not be an attached
  segment to the engine (DESIGN.md, the analysis contract v2).
Not converted: span links, SQL, HTTP URLs assembled from parts, the exporter's non-Python stack formats.
"""

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, SpanFlags, Status

Document = dict[str, Any]
Attributes = dict[str, Any]

_SERVER = Span.SpanKind.SPAN_KIND_SERVER
_CLIENT = Span.SpanKind.SPAN_KIND_CLIENT
_DEPENDENCY_KINDS = (_CLIENT, Span.SpanKind.SPAN_KIND_PRODUCER, Span.SpanKind.SPAN_KIND_CONSUMER)
_REMOTE_KNOWN = SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
_AWS_SDK_RPC_SYSTEM = "aws-api"
_NANOSECONDS = 1_000_000_000  # int / int: Python rounds the exact quotient, so .25 s stays .25
_LINKING_FIELDS = ("type", "parent_id", "trace_id")  # what a standalone subsegment has and a nested one not

# Attributes the exporter turns into fields, and so leaves out of metadata.
_HTTP_METHOD = ("http.method", "http.request.method")
_HTTP_URL = ("http.url", "url.full")
_HTTP_STATUS = ("http.status_code", "http.response.status_code")
_HTTP_USER_AGENT = ("http.user_agent", "user_agent.original")
_HTTP_CLIENT_IP = ("http.client_ip", "client.address")
_AWS_FIELDS = {
    "aws.operation": "operation",
    "aws.account_id": "account_id",
    "aws.region": "region",
    "aws.request_id": "request_id",
    "aws.requestId": "request_id",
    "aws.queue_url": "queue_url",
    "aws.queue.url": "queue_url",
    "aws.table_name": "table_name",
    "aws.table.name": "table_name",
}
_CONSUMED = {
    *_HTTP_METHOD,
    *_HTTP_URL,
    *_HTTP_STATUS,
    *_HTTP_USER_AGENT,
    *_HTTP_CLIENT_IP,
    *_AWS_FIELDS,
    "rpc.method",
    "enduser.id",
    "aws.xray.annotations",
}
_METADATA_PREFIX = "aws.xray.metadata."
_MAX_NAME_LENGTH = 200
_NAME_SYMBOLS = frozenset(" _.:/%&#=+-@")  # with letters and digits, what X-Ray allows in a segment name


class InvalidSpanError(ValueError):
    """A span X-Ray could not store: its trace id, span id or parent span id is not a valid id."""


def segment_documents(request: ExportTraceServiceRequest) -> list[Document]:
    """The segment and standalone subsegment documents X-Ray makes of one export, in the spans' order."""
    converted: list[_Converted] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                converted.append(_convert(span, resource))
    by_span = {(item.trace_id, item.span_id): item for item in converted}
    documents: list[Document] = []
    for item in converted:
        parent = by_span.get((item.trace_id, item.parent_id or ""))
        if item.segment or parent is None or _in_a_cycle(item, by_span):
            documents.append(item.document)
            continue
        for field in _LINKING_FIELDS:  # nested where its parent is, as X-Ray stores it
            del item.document[field]
        parent.part.setdefault("subsegments", []).append(item.document)
    return documents


def xray_trace_id(trace_id: bytes) -> str:
    """A W3C trace id (16 bytes) as X-Ray writes it: `1-<first 8 hex>-<last 24 hex>`."""
    digits = trace_id.hex()
    return f"1-{digits[:8]}-{digits[8:]}"


@dataclass
class _Converted:
    """One span's documents: `document` goes out (or nests), `part` is where the span's children go."""

    trace_id: str
    span_id: str
    parent_id: str | None
    segment: bool
    document: Document
    part: Document


def _in_a_cycle(item: _Converted, by_span: dict[tuple[str, str], _Converted]) -> bool:
    """Whether the span's parents lead back to it (a broken export), so it could never reach a segment."""
    seen = {item.span_id}
    current = item
    while not current.segment and current.parent_id is not None:
        parent = by_span.get((current.trace_id, current.parent_id))
        if parent is None:
            return False
        if parent.span_id in seen:
            return True
        seen.add(parent.span_id)
        current = parent
    return False


@dataclass(frozen=True)
class _Span:
    """A span with what its conversion reads: its ids in hex, its attributes and its resource's, as JSON."""

    span: Span
    trace_id: str
    span_id: str
    parent_id: str | None
    attributes: Attributes
    resource: Attributes


# What a service segment made of a call does not keep (the exporter leaves them to the call's subsegment).
_CALL_FIELDS = ("operation", "account_id", "region", "request_id", "queue_url", "table_name", "table_names")


def _convert(span: Span, resource: Attributes) -> _Converted:
    # No parent is an empty id; eight zero bytes, which some encoders write instead, mean the same.
    has_parent = any(span.parent_span_id) or len(span.parent_span_id) not in (0, 8)
    parent_id = _id(span.parent_span_id, 8, "parent_span_id", span) if has_parent else None
    view = _Span(
        span,
        _id(span.trace_id, 16, "trace_id", span),
        _id(span.span_id, 8, "span_id", span),
        parent_id,
        _attributes(span.attributes),
        resource,
    )
    local_root = (
        span.kind == _SERVER
        or parent_id is None
        or bool(span.flags & _REMOTE_KNOWN and span.flags & _REMOTE)
        or view.attributes.get("aws.span.kind") == "LOCAL_ROOT"
    )
    if not local_root or span.kind not in _DEPENDENCY_KINDS:
        document = _part(view, view.span_id, parent_id, segment=local_root)
        return _Converted(view.trace_id, view.span_id, parent_id, local_root, document, document)
    # A call that is a local root (botocore with no handler span around it): the exporter makes a segment
    # for the calling service, with an id of its own, and the call that segment's subsegment.
    service_id = hashlib.blake2b(bytes.fromhex(view.span_id), digest_size=8, person=b"service").hexdigest()
    service = _part(view, service_id, parent_id, segment=True)
    for field in ("http", "namespace"):
        service.pop(field, None)
    for field in (*_CALL_FIELDS, "bucket_name"):
        service.get("aws", {}).pop(field, None)
    resource_metadata = {
        key: value
        for key, value in service.pop("metadata", {}).get("default", {}).items()
        if key.startswith("otel.resource.")  # the span's own attributes stay with the call
    }
    if resource_metadata:
        service["metadata"] = {"default": resource_metadata}
    call = _part(view, view.span_id, service_id, segment=False)
    call.setdefault("namespace", "remote")
    for field in _LINKING_FIELDS:
        del call[field]
    service["subsegments"] = [call]
    return _Converted(view.trace_id, view.span_id, parent_id, True, service, call)


def _part(view: _Span, part_id: str, parent_id: str | None, *, segment: bool) -> Document:
    span, attributes, resource = view.span, view.attributes, view.resource
    document: Document = {
        "id": part_id,
        "trace_id": xray_trace_id(bytes.fromhex(view.trace_id)),
        "name": _segment_name(span, attributes, resource) if segment else _subsegment_name(span, attributes),
        "start_time": span.start_time_unix_nano / _NANOSECONDS,
    }
    if span.end_time_unix_nano:
        document["end_time"] = span.end_time_unix_nano / _NANOSECONDS
    else:
        document["in_progress"] = True
    if not segment:
        document["type"] = "subsegment"
    if parent_id is not None:
        document["parent_id"] = parent_id
    namespace = None if segment else _namespace(span, attributes)
    if namespace is not None:
        document["namespace"] = namespace
    status = _http_status(attributes)
    error, throttle, fault = _flags(status, span.status.code)
    document.update(error=error, throttle=throttle, fault=fault)
    cause, message_attribute = _cause(view, part_id)
    if cause is not None:
        document["cause"] = cause
    http = _http(attributes, status)
    if http:
        document["http"] = http
    aws = _aws(attributes, resource, segment=segment)
    if aws is not None:
        document["aws"] = aws
    if isinstance(user := attributes.get("enduser.id"), str):
        document["user"] = user
    if segment and isinstance(version := resource.get("service.version"), str):
        document["service"] = {"version": version}
    annotations, metadata = _annotations_and_metadata(view, message_attribute, segment=segment)
    annotations["span.kind"] = _kind_name(span.kind)
    document["annotations"] = annotations
    if metadata:
        document["metadata"] = metadata
    return document


def _id(raw: bytes, size: int, field: str, span: Span) -> str:
    if len(raw) != size:
        raise InvalidSpanError(f"span {span.name!r}: {field} is {raw.hex() or 'empty'}, not {size} bytes")
    if not any(raw):
        raise InvalidSpanError(f"span {span.name!r}: {field} is all zeros, which OpenTelemetry calls invalid")
    return raw.hex()


def _attributes(pairs: Iterable[KeyValue]) -> Attributes:
    return {pair.key: value for pair in pairs if (value := _plain(pair.value)) is not None}


def _plain(value: AnyValue) -> Any:
    """An OTLP attribute value as JSON: scalars, lists and maps as they are, bytes as base64."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_plain(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind is None:
        return None
    return getattr(value, kind)


def _kind_name(kind: int) -> str:
    try:
        return str(Span.SpanKind.Name(kind)).removeprefix("SPAN_KIND_")
    except ValueError:  # a kind newer than this protocol version
        return "UNSPECIFIED"


def _segment_name(span: Span, attributes: Attributes, resource: Attributes) -> str:
    for name in (attributes.get("aws.local.service"), resource.get("service.name")):
        if isinstance(name, str) and name:
            return name
    return _fixed_name(span.name)


def _subsegment_name(span: Span, attributes: Attributes) -> str:
    if span.kind in _DEPENDENCY_KINDS and isinstance(remote := attributes.get("aws.remote.service"), str):
        if attributes.get("rpc.system") == _AWS_SDK_RPC_SYSTEM:
            return remote.removeprefix("AWS.SDK.").removeprefix("AWS::")
        return remote
    for key in ("peer.service", "aws.service", "db.name", "rpc.service", "http.host", "net.peer.name"):
        if isinstance(name := attributes.get(key), str) and name:
            return name
    return _fixed_name(span.name)


def _fixed_name(name: str) -> str:
    kept = "".join(char for char in name if char.isalnum() or char in _NAME_SYMBOLS)
    return kept[:_MAX_NAME_LENGTH] or "span"


def _namespace(span: Span, attributes: Attributes) -> str | None:
    if attributes.get("rpc.system") == _AWS_SDK_RPC_SYSTEM:
        return "aws"
    if "aws.service" in attributes and not any(
        isinstance(attributes.get(key), str) for key in ("aws.remote.service", "peer.service")
    ):
        return "aws"  # named after `aws.service`, so an AWS call
    if span.kind == _CLIENT or (span.kind in _DEPENDENCY_KINDS and "aws.remote.service" in attributes):
        return "remote"
    return None


def _first(attributes: Attributes, keys: tuple[str, ...]) -> Any:
    return next((attributes[key] for key in keys if key in attributes), None)


def _http_status(attributes: Attributes) -> int | None:
    status = _first(attributes, _HTTP_STATUS)
    try:
        return int(status) if status is not None and not isinstance(status, bool) else None
    except (TypeError, ValueError):
        return None


def _flags(status: int | None, code: int) -> tuple[bool, bool, bool]:
    """(error, throttle, fault) as the exporter sets them: the HTTP code first, then the span's status."""
    if status is not None and 400 <= status <= 499:
        return True, status == 429, False
    if status is not None and 500 <= status <= 599:
        return False, False, True
    return False, False, code == Status.StatusCode.STATUS_CODE_ERROR


def _http(attributes: Attributes, status: int | None) -> Document:
    request = {
        field: value
        for field, keys in (
            ("method", _HTTP_METHOD),
            ("url", _HTTP_URL),
            ("user_agent", _HTTP_USER_AGENT),
            ("client_ip", _HTTP_CLIENT_IP),
        )
        if isinstance(value := _first(attributes, keys), str)
    }
    http: Document = {}
    if request:
        http["request"] = request
    if status is not None:
        http["response"] = {"status": status}
    return http


def _aws(attributes: Attributes, resource: Attributes, *, segment: bool) -> Document | None:
    provider = resource.get("cloud.provider")
    if provider not in (None, "aws"):
        return None  # the exporter writes no `aws` block for another cloud
    aws: Document = {}
    if isinstance(account := resource.get("cloud.account.id"), str):
        aws["account_id"] = account
    operation = _first(attributes, ("aws.operation", "rpc.method"))
    if isinstance(operation, str):
        aws["operation"] = operation
    for key, field in _AWS_FIELDS.items():
        if key != "aws.operation" and isinstance(value := attributes.get(key), str) and value:
            aws[field] = value
    queue_url = _first(attributes, ("messaging.url", "aws.sqs.queue_url"))
    if isinstance(queue_url, str):
        aws["queue_url"] = queue_url
    tables = attributes.get("aws.dynamodb.table_names")
    if isinstance(tables, str):
        tables = [tables]
    if isinstance(tables, list) and len(tables) == 1:
        aws["table_name"] = tables[0]
    elif isinstance(tables, list) and len(tables) > 1:
        aws.pop("table_name", None)
        aws["table_names"] = tables
    if isinstance(bucket := attributes.get("aws.s3.bucket"), str):
        aws["bucket_name"] = bucket
    if segment:
        aws.update(_segment_aws(resource))
    return aws or None


def _segment_aws(resource: Attributes) -> Document:
    sdk = resource.get("telemetry.sdk.name")
    language = resource.get("telemetry.sdk.language")
    xray: Document = {"auto_instrumentation": "telemetry.auto.version" in resource}
    if isinstance(sdk, str):
        suffix = f" for {language}" if isinstance(language, str) else ""
        xray["sdk"] = sdk if sdk.lower().endswith(suffix.lower()) else sdk + suffix
    if isinstance(version := resource.get("telemetry.sdk.version"), str):
        xray["sdk_version"] = version
    fields: Document = {"xray": xray}
    log_groups = resource.get("aws.log.group.names")
    if isinstance(log_groups, str):
        log_groups = [name for name in log_groups.split("&") if name]
    if isinstance(log_groups, list) and log_groups:
        fields["cloudwatch_logs"] = [{"log_group": name} for name in log_groups if isinstance(name, str)]
    return fields


def _cause(view: _Span, part_id: str) -> tuple[Document | None, str]:
    """The `cause` object, and the attribute it took its message from (left out of metadata)."""
    span, attributes, resource = view.span, view.attributes, view.resource
    remote = span.kind in (_CLIENT, Span.SpanKind.SPAN_KIND_PRODUCER)
    python = resource.get("telemetry.sdk.language") == "python"
    exceptions: list[Document] = []
    for event in span.events:
        if event.name != "exception":
            continue
        fields = _attributes(event.attributes)
        exception: Document = {
            "id": _exception_id(part_id, len(exceptions)),
            "type": str(fields.get("exception.type", "")),
            "message": str(fields.get("exception.message", "")),
            "remote": remote,
        }
        stacktrace = fields.get("exception.stacktrace")
        if python and isinstance(stacktrace, str) and (stack := _python_stack(stacktrace)):
            exception["stack"] = stack
        exceptions.append(exception)
    if exceptions:
        return {"exceptions": exceptions}, ""
    if span.status.code != Status.StatusCode.STATUS_CODE_ERROR:
        return None, ""
    message, taken_from = span.status.message, ""
    if not message and isinstance(text := attributes.get("http.status_text"), str):
        message, taken_from = text, "http.status_text"
    if not message:
        return None, taken_from
    return {"exceptions": [{"id": _exception_id(part_id, 0), "message": message}]}, taken_from


def _exception_id(part_id: str, index: int) -> str:
    return hashlib.blake2b(f"{part_id}:{index}".encode(), digest_size=8, person=b"exception").hexdigest()


def _python_stack(stacktrace: str) -> list[Document]:
    """The frames of the last exception in a Python traceback, innermost first (as X-Ray lists them)."""
    frames: list[Document] = []
    for line in reversed(stacktrace.split("\n")):
        if line.startswith(("During handling of the above exception", "The above exception was the direct")):
            break  # the frames above belong to an earlier exception in the chain
        if not line.startswith('  File "'):
            continue
        path, _, rest = line[len('  File "') :].partition('", line ')
        number, _, label = rest.partition(", in ")
        frame: Document = {"path": path, "line": int(number) if number.isdigit() else 0, "label": label}
        frames.append(frame)
    return frames


def _annotations_and_metadata(
    view: _Span, message_attribute: str, *, segment: bool
) -> tuple[Document, dict[str, Document]]:
    attributes, resource = view.attributes, view.resource
    indexed = attributes.get("aws.xray.annotations")
    indexed_keys = {key for key in indexed if isinstance(key, str)} if isinstance(indexed, list) else set()
    annotations: Document = {}
    metadata: dict[str, Document] = {}
    default: Document = {}
    if segment:  # only the local root carries the resource, as the exporter writes it
        default.update({f"otel.resource.{key}": value for key, value in resource.items()})
    for key, value in attributes.items():
        if key in indexed_keys and isinstance(value, str | int | float | bool):
            annotations[key] = value
        elif key in _CONSUMED or key == message_attribute:
            continue
        elif key.startswith(_METADATA_PREFIX) and isinstance(value, str):
            namespace = key.removeprefix(_METADATA_PREFIX)
            try:
                values = json.loads(value)
            except ValueError:
                values = None
            if not isinstance(values, dict):
                default[key] = value
            elif namespace.lower() == "default":
                default.update(values)
            else:
                metadata[namespace] = values
        else:
            default[key] = value
    if default:
        metadata["default"] = default
    return annotations, metadata
