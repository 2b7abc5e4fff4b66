"""Downstream calls: an AWS SDK call subsegment (`namespace` `aws`) read into a `Call` record.

Two writers fill a call's fields. The X-Ray SDKs (and X-Ray's own conversion of OpenTelemetry spans, as the
OpenTelemetry collector's X-Ray exporter does it) write the `aws` block: `operation`, `table_name` (or
`table_names` for several tables), `bucket_name`, `queue_url`, ... Where a document kept OpenTelemetry's
attributes instead (a span converted elsewhere, or read back through Transaction Search), the operation is
`rpc.method` and the resource `aws.dynamodb.table_names[0]`, `aws.s3.bucket` or `aws.sqs.queue_url`, found
in the `aws` block (with or without the `aws.` prefix), in `metadata` under any namespace, or in
`annotations`. X-Ray's fields win; the attributes are only looked at where they are missing.
"""

from dataclasses import dataclass
from typing import Any

from traces.parts import Part, duration_ms, round_ms

_NO_FIELDS: dict[str, Any] = {}  # shared, never mutated

# Subsegment names differ by SDK ("DynamoDB", "dynamodb"): one spelling per service, as the X-Ray console.
_SERVICE_NAMES = {
    name.lower(): name
    for name in (
        "DynamoDB",
        "S3",
        "SQS",
        "SNS",
        "Lambda",
        "Kinesis",
        "Firehose",
        "EventBridge",
        "SFN",
        "STS",
        "SSM",
        "SecretsManager",
        "KMS",
        "CloudWatch",
        "Athena",
        "Glue",
        "SES",
        "Rekognition",
        "Comprehend",
        "Translate",
        "Polly",
        "Textract",
        "AppSync",
        "ECS",
        "EC2",
        "IAM",
        "XRay",
    )
}
# A call whose subsegment has no usable name: its service from the resource field only that service sets.
_SERVICE_BY_RESOURCE = (
    ("table_name", "DynamoDB"),
    ("bucket_name", "S3"),
    ("queue_url", "SQS"),
    ("topic_arn", "SNS"),
    ("function_name", "Lambda"),
)
# Where X-Ray names the called resource: table, bucket, queue, topic, function, stream, state machine.
_RESOURCE_FIELDS = (
    "table_name",
    "bucket_name",
    "queue_url",
    "topic_arn",
    "function_name",
    "stream_name",
    "state_machine_arn",
)
# OpenTelemetry's attributes, in the order the contract reads them, each with the service it implies.
_OTEL_OPERATION_KEYS = ("aws.operation", "rpc.method")
_OTEL_RESOURCE_KEYS = (
    ("aws.table_name", "DynamoDB"),
    ("aws.bucket_name", "S3"),
    ("aws.queue_url", "SQS"),
    ("aws.dynamodb.table_names", "DynamoDB"),
    ("aws.s3.bucket", "S3"),
    ("aws.sqs.queue_url", "SQS"),
)


@dataclass  # not slots: orjson serialises a plain dataclass (its __dict__) several times faster
class Call:
    """One AWS SDK call made by a function."""

    service: str
    operation: str | None
    resource: str | None
    duration_ms: float | None
    error: bool
    fault: bool
    throttle: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "resource": self.resource,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "fault": self.fault,
            "throttle": self.throttle,
        }


def call_of(part: Part) -> Call:
    """The call a subsegment with `namespace` `aws` records (its fields read defensively)."""
    fields = part.get("aws")
    if fields.__class__ is not dict:
        fields = _NO_FIELDS
    operation = fields.get("operation")
    if operation.__class__ is not str or not operation:
        operation = _otel_operation(part, fields)
    resource = fields.get("table_name")  # the most common call's resource, without the loop
    if resource.__class__ is not str or not resource:
        resource = _resource_of(fields)
        if resource is None:
            resource = _otel_resource(part, fields)
    start, end = part.get("start_time"), part.get("end_time")
    if start.__class__ is float and end.__class__ is float and part.get("in_progress") is not True:
        value = (end - start) * 1000.0
        duration = round_ms(value) if value - value == 0.0 else None  # finite: inf - inf is nan
    else:
        duration = duration_ms(part)
    name = part.get("name")
    service = _SERVICE_NAMES.get(name.lower()) if name.__class__ is str and name else None
    return Call(
        service if service is not None else _service_of(name, fields, part),
        operation,
        resource,
        duration,
        part.get("error") is True,
        part.get("fault") is True,
        part.get("throttle") is True,
    )


def _service_of(name: object, fields: dict[str, Any], part: Part) -> str:
    """The service of a call whose name is not a known service's: `DynamoDB.PutItem` (a span's name) and
    `AWS::DynamoDB` give DynamoDB; an unknown name is kept; no name: the resource field says."""
    if isinstance(name, str) and name:
        for candidate in (name.removeprefix("AWS::").removeprefix("AWS.SDK."), name.partition(".")[0]):
            known = _SERVICE_NAMES.get(candidate.lower())
            if known is not None:
                return known
        return name
    for key, service in _SERVICE_BY_RESOURCE:
        if isinstance(fields.get(key), str):
            return service
    if _first_text(fields.get("table_names")) is not None:
        return "DynamoDB"
    for key, service in _OTEL_RESOURCE_KEYS:
        if _attribute(part, fields, key) is not None:
            return service
    return "unknown"


def _resource_of(fields: dict[str, Any]) -> str | None:
    for key in _RESOURCE_FIELDS:
        value = fields.get(key)
        if value.__class__ is str and value:  # parsed JSON: a str is exactly a str
            return value
    for key in ("table_names", "resource_names"):
        value = _first_text(fields.get(key))
        if value is not None:
            return value
    return None


def _otel_operation(part: Part, fields: dict[str, Any]) -> str | None:
    for key in _OTEL_OPERATION_KEYS:
        value = _attribute(part, fields, key)
        if value is not None:
            return value
    return None


def _otel_resource(part: Part, fields: dict[str, Any]) -> str | None:
    for key, _ in _OTEL_RESOURCE_KEYS:
        value = _attribute(part, fields, key)
        if value is not None:
            return value
    return None


def _attribute(part: Part, fields: dict[str, Any], key: str) -> str | None:
    """An OpenTelemetry attribute wherever a converted document keeps it: the `aws` block (with or without
    the `aws.` prefix), `metadata` under any namespace, `annotations` (whose keys X-Ray may have written
    with `_` for each `.`)."""
    value = _first_text(fields.get(key))
    if value is None and key.startswith("aws."):
        value = _first_text(fields.get(key[4:]))
    if value is not None:
        return value
    metadata = part.get("metadata")
    if metadata.__class__ is dict:
        for namespace in metadata.values():
            if namespace.__class__ is dict:
                value = _first_text(namespace.get(key))
                if value is not None:
                    return value
    annotations = part.get("annotations")
    if annotations.__class__ is dict:
        value = _first_text(annotations.get(key))
        if value is None:
            value = _first_text(annotations.get(key.replace(".", "_")))
    return value


def _first_text(value: object) -> str | None:
    """A non-empty string, or the first entry of a list of them (`aws.dynamodb.table_names`)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None
