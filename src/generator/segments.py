"""X-Ray ids, the per-object trace header, and the segment documents the generator emits.

Every object gets a trace of its own: a root segment named for the generator (no Lambda `origin`, so the
reporter never takes it for a function segment) holding one `aws`-namespace `S3` `PutObject` subsegment
whose id is the `Parent` of the header sent with the PutObject. S3 continues the trace from that
subsegment into the pipeline's Lambda invocation.
"""

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

TRACE_ID_PATTERN = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
SEGMENT_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
TRACE_HEADER_PATTERN = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$")
DEFAULT_SEGMENT_NAME = "tracecanary-generator"

THROTTLE_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"})

RandomHex = Callable[[int], str]  # n bytes -> 2n lowercase hex digits


def new_trace_id(epoch: float, random_hex: RandomHex = secrets.token_hex) -> str:
    """`1-<8 hex digits of the epoch second>-<24 random hex digits>`."""
    return f"1-{int(epoch) & 0xFFFFFFFF:08x}-{random_hex(12)}"


def new_segment_id(random_hex: RandomHex = secrets.token_hex) -> str:
    """16 random hex digits, never all zeros."""
    while True:
        value = random_hex(8)
        if value.strip("0"):
            return value


def trace_header(trace_id: str, parent_id: str) -> str:
    return f"Root={trace_id};Parent={parent_id};Sampled=1"


@dataclass(frozen=True, slots=True)
class TraceContext:
    """The ids of one object's trace: its root segment and the PutObject subsegment (the header's Parent)."""

    trace_id: str
    segment_id: str
    subsegment_id: str

    @property
    def header(self) -> str:
        return trace_header(self.trace_id, self.subsegment_id)

    @classmethod
    def new(cls, epoch: float, random_hex: RandomHex = secrets.token_hex) -> "TraceContext":
        return cls(
            trace_id=new_trace_id(epoch, random_hex),
            segment_id=new_segment_id(random_hex),
            subsegment_id=new_segment_id(random_hex),
        )


@dataclass(frozen=True, slots=True)
class PutCall:
    """What happened on one PutObject, as the uploader saw it."""

    bucket: str
    key: str
    region: str
    started_at: float
    ended_at: float
    size: int
    status: int | None  # HTTP status; None where no response came (connection error, timeout)
    request_id: str | None = None
    extended_request_id: str | None = None
    retries: int = 0
    error_code: str | None = None
    error_message: str | None = None
    annotations: Mapping[str, str | int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.error_code is None

    @property
    def duration_ms(self) -> float:
        return (self.ended_at - self.started_at) * 1000


def error_flags(status: int | None, error_code: str | None) -> dict[str, bool]:
    """X-Ray's flags: `error` for 4xx, `throttle` (with `error`) for 429, `fault` for 5xx or no response."""
    if status is None:
        return {"fault": True} if error_code else {}
    flags: dict[str, bool] = {}
    if 400 <= status < 500:
        flags["error"] = True
    if status >= 500:
        flags["fault"] = True
    if status == 429 or error_code in {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
    }:
        flags["throttle"] = True
    return flags


def put_object_segment(
    context: TraceContext,
    call: PutCall,
    name: str = DEFAULT_SEGMENT_NAME,
    random_hex: RandomHex = secrets.token_hex,
) -> dict[str, Any]:
    """The root segment of one object's trace, with its S3 PutObject subsegment, as X-Ray takes it."""
    flags = error_flags(call.status, call.error_code)
    aws: dict[str, Any] = {
        "operation": "PutObject",
        "region": call.region,
        "bucket_name": call.bucket,
        "key": call.key,
        "retries": call.retries,
    }
    if call.request_id:
        aws["request_id"] = call.request_id
    if call.extended_request_id:
        aws["id_2"] = call.extended_request_id
    http: dict[str, Any] = {"request": {"method": "PUT", "content_length": call.size}}
    if call.status is not None:
        http["response"] = {"status": call.status}
    subsegment: dict[str, Any] = {
        "id": context.subsegment_id,
        "name": "S3",
        "namespace": "aws",
        "start_time": round(call.started_at, 6),
        "end_time": round(max(call.ended_at, call.started_at), 6),
        "aws": aws,
        "http": http,
        **flags,
    }
    if flags and call.error_code:
        subsegment["cause"] = {
            "exceptions": [
                {
                    "id": new_segment_id(random_hex),
                    "type": call.error_code,
                    "message": (call.error_message or call.error_code)[:1024],
                    "remote": call.status is not None,
                }
            ]
        }
    return {
        "name": name,
        "id": context.segment_id,
        "trace_id": context.trace_id,
        "start_time": subsegment["start_time"],
        "end_time": subsegment["end_time"],
        "annotations": dict(call.annotations),
        **flags,
        "subsegments": [subsegment],
    }
