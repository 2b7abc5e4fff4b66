"""X-Ray segment documents as the Lambda service writes them for an asynchronous invoke (S3, SNS, ...).

Shapes follow real traces (see ../shared/fixtures/xray/): an `AWS::Lambda` service segment (HTTP 202, a
`Dwell Time` and one `Attempt #N` subsegment per try) whose parent is the caller's subsegment, and per
attempt an `AWS::Lambda::Function` segment (parent: that attempt) with `Initialization` on a cold start,
`Invocation` holding the handler's own subsegments, and `Overhead`.
"""

import secrets
from dataclasses import dataclass, field
from typing import Any

Interval = tuple[float, float]


def new_segment_id() -> str:
    return secrets.token_hex(8)


@dataclass
class Attempt:
    """One try of the function: its phases (epoch seconds) and the subsegments the handler sent."""

    interval: Interval  # the Attempt #N subsegment: from leaving the queue to the response
    function: Interval  # the function segment (after Initialization, as Lambda reports it)
    invocation: Interval
    overhead: Interval | None = None
    initialization: Interval | None = None  # set on a cold start
    handler_subsegments: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # the error message when the handler failed
    request_id: str = field(default_factory=lambda: secrets.token_hex(16))
    error_type: str = "Error"  # the exception's class name, as the runtime reports it
    # Ids known before the attempt runs: the runtime puts invocation_id in the handler's trace header.
    attempt_id: str = field(default_factory=new_segment_id)  # the `Attempt #N` subsegment
    segment_id: str = field(default_factory=new_segment_id)  # the function segment
    invocation_id: str = field(default_factory=new_segment_id)  # its `Invocation` subsegment


def async_invocation_segments(
    *,
    trace_id: str,
    parent_id: str,
    function_name: str,
    function_arn: str,
    accepted_at: float,
    attempts: list[Attempt],
    dwell_end: float | None = None,
) -> list[dict[str, Any]]:
    """The service segment and one function segment per attempt, as Lambda sends them to X-Ray."""
    service = service_segment(
        trace_id=trace_id,
        parent_id=parent_id,
        function_name=function_name,
        function_arn=function_arn,
        accepted_at=accepted_at,
        attempts=attempts,
        dwell_end=dwell_end,
    )
    functions = [
        function_segment(
            trace_id=trace_id, function_name=function_name, function_arn=function_arn, attempt=attempt
        )
        for attempt in attempts
    ]
    return [service, *functions]


def service_segment(
    *,
    trace_id: str,
    parent_id: str | None,
    function_name: str,
    function_arn: str,
    accepted_at: float,
    attempts: list[Attempt],
    dwell_end: float | None = None,
    accepted_until: float | None = None,
    segment_id: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The `AWS::Lambda` segment of an asynchronous invoke: HTTP 202, `Dwell Time`, one `Attempt #N` a try.

    `parent_id` is the caller's subsegment (S3's PutObject); None where the invoke started the trace.
    """
    first_start = attempts[0].interval[0] if attempts else dwell_end
    subsegments: list[dict[str, Any]] = [
        {"id": new_segment_id(), "name": "Dwell Time", "start_time": accepted_at, "end_time": first_start}
    ]
    for number, attempt in enumerate(attempts, start=1):
        subsegments.append(
            {
                "id": attempt.attempt_id,
                "name": f"Attempt #{number}",
                "start_time": attempt.interval[0],
                "end_time": attempt.interval[1],
                "http": {"response": {"status": 200}},
                **({"error": True} if attempt.error else {}),
            }
        )
    if first_start is None:  # never left the queue: the wait is still going on
        del subsegments[0]["end_time"]
        subsegments[0]["in_progress"] = True
    service: dict[str, Any] = {
        "id": segment_id or new_segment_id(),
        "name": function_name,
        "trace_id": trace_id,
        **({"parent_id": parent_id} if parent_id else {}),
        # Real service segments end when the event is accepted, before their subsegments do.
        "start_time": accepted_at,
        "end_time": accepted_until if accepted_until is not None else accepted_at + 0.001,
        "http": {"response": {"status": 202}},
        "aws": {"request_id": request_id or (attempts[0].request_id if attempts else secrets.token_hex(16))},
        "origin": "AWS::Lambda",
        "resource_arn": function_arn,
        "subsegments": subsegments,
    }
    return service


def function_segment(
    *, trace_id: str, function_name: str, function_arn: str, attempt: Attempt
) -> dict[str, Any]:
    """The `AWS::Lambda::Function` segment of one attempt; its parent is the `Attempt #N` subsegment."""
    phase_aws = {"function_arn": function_arn}
    subsegments: list[dict[str, Any]] = []
    if attempt.initialization is not None:
        subsegments.append(_phase("Initialization", attempt.initialization, phase_aws))
    invocation = _phase("Invocation", attempt.invocation, phase_aws, attempt.invocation_id)
    if attempt.handler_subsegments:
        invocation["subsegments"] = attempt.handler_subsegments
    if attempt.error:
        invocation["error"] = True
    subsegments.append(invocation)
    if attempt.overhead is not None:
        subsegments.append(_phase("Overhead", attempt.overhead, phase_aws))
    segment: dict[str, Any] = {
        "id": attempt.segment_id,
        "name": function_name,
        "start_time": attempt.function[0],
        "end_time": attempt.function[1],
        "trace_id": trace_id,
        "parent_id": attempt.attempt_id,
        "aws": {
            "account_id": function_arn.split(":")[4],
            "function_arn": function_arn,
            "resource_names": [function_name],
        },
        "origin": "AWS::Lambda::Function",
        "subsegments": subsegments,
    }
    if attempt.error:
        segment["error"] = True
        segment["cause"] = {"exceptions": [{"message": attempt.error, "type": attempt.error_type}]}
    return segment


def _phase(name: str, interval: Interval, aws: dict[str, str], phase_id: str | None = None) -> dict[str, Any]:
    return {
        "id": phase_id or new_segment_id(),
        "name": name,
        "start_time": interval[0],
        "end_time": interval[1],
        "aws": aws,
    }


def sdk_call_subsegment(
    *,
    service: str,
    operation: str,
    interval: Interval,
    table_name: str | None = None,
    status: int = 200,
) -> dict[str, Any]:
    """A boto3 call as the X-Ray SDK records it (namespace `aws`), with the error flags of its status."""
    aws: dict[str, Any] = {"operation": operation, "region": "us-east-1", "request_id": secrets.token_hex(16)}
    if table_name:
        aws["table_name"] = table_name
        aws["resource_names"] = [table_name]
    subsegment: dict[str, Any] = {
        "id": new_segment_id(),
        "name": service,
        "start_time": interval[0],
        "end_time": interval[1],
        "http": {"response": {"status": status}},
        "aws": aws,
        "namespace": "aws",
    }
    if 400 <= status < 500:
        subsegment["error"] = True
    if status == 429:
        subsegment["throttle"] = True
    if status >= 500:
        subsegment["fault"] = True
    return subsegment
