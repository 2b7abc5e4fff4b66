"""X-Ray segment documents as the Lambda service writes them for an asynchronous invoke (S3, SNS, ...).

Both styles of function segment that are live on AWS (DESIGN.md, "Lambda's two trace formats"):
- **v1** (old style), shaped on real traces (see ../shared/fixtures/xray/): `Initialization` on a cold
  start, `Invocation` holding the handler's own subsegments (the handler's trace header names its id as
  Parent) and `Overhead`; each phase and the segment's `aws` block name the function's ARN.
- **v2** (new style), shaped on the one complete real example seen (2024, Node.js, with an extension): no
  `Invocation`, the handler's subsegments hang off the function segment itself (the header names the
  segment's id); `Init` on a cold start; `Overhead`, starting when the handler returned and lasting the
  runtime's and the extension's work; annotations (ms, 3 decimals) `aws:responseLatency`,
  `aws:runtimeOverhead`, `aws:responseDuration` and, only with an extension, `aws:extensionOverhead`, which
  add up to the segment's duration; the `aws` block holds `cloudwatch_logs` only.
The phases are the Runtime API's (runtime_api.py): the handler from the event handed to the runtime until it
began posting its response (v1 `Invocation`, v2 `aws:responseLatency`), the response's post
(`aws:responseDuration`), the runtime's work after it until it asks for the next event
(`aws:runtimeOverhead`; v1's `Overhead` holds both). A function error flags the function segment (`error`)
with the runtime's X-Ray cause (`working_directory`, `exceptions` with their stacks, `paths`) as `cause`,
as a real function segment holds it; where the runtime sent none (an init error, a lost environment), the
error's type and message.
In both, the `AWS::Lambda` service segment (HTTP 202, a `Dwell Time` and one `Attempt #N` subsegment per try)
has the caller's subsegment as parent, and each attempt's function segment has that attempt as parent.

Not reproduced: synchronous invokes (no `Dwell Time`, the function's parent the service segment itself);
SnapStart's `Restore`; the Lambda guide's other spelling `aws.responseLatency`; the in-progress copies of a
function segment Lambda may send while an attempt runs. What v2 writes for an attempt whose environment was
lost (a timeout, a crash) is not documented: here `aws:responseLatency` over the whole attempt, no Overhead.
"""

import secrets
from dataclasses import dataclass, field
from typing import Any

from demo.runtime_config import TraceFormat

Interval = tuple[float, float]


def new_segment_id() -> str:
    return secrets.token_hex(8)


@dataclass
class Attempt:
    """One try of the function: its phases (epoch seconds) and the subsegments the handler sent."""

    interval: Interval  # the Attempt #N subsegment: from leaving the queue to the response
    function: Interval  # the function segment (after Initialization, as Lambda reports it)
    invocation: Interval
    overhead: Interval | None = None  # the runtime's work after its response, until it asks for more
    initialization: Interval | None = None  # set on a cold start
    response: Interval | None = None  # the runtime posting its response to the Runtime API
    extension: Interval | None = None  # an extension's post-invoke work: the environment still busy
    handler_subsegments: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # the error message when the handler failed
    request_id: str = field(default_factory=lambda: secrets.token_hex(16))
    error_type: str = "Error"  # the exception's class name, as the runtime reports it
    error_cause: dict[str, Any] | None = None  # the X-Ray cause the runtime sent with the error
    # Ids known before the attempt runs: the handler's trace header names one (handler_parent_id).
    attempt_id: str = field(default_factory=new_segment_id)  # the `Attempt #N` subsegment
    segment_id: str = field(default_factory=new_segment_id)  # the function segment
    invocation_id: str = field(default_factory=new_segment_id)  # its `Invocation` subsegment (v1 only)


def handler_parent_id(attempt: Attempt, trace_format: TraceFormat) -> str:
    """The Parent of the handler's `_X_AMZN_TRACE_ID`: where the X-Ray SDK attaches its subsegments."""
    return attempt.invocation_id if trace_format == "v1" else attempt.segment_id


def async_invocation_segments(
    *,
    trace_id: str,
    parent_id: str,
    function_name: str,
    function_arn: str,
    accepted_at: float,
    attempts: list[Attempt],
    dwell_end: float | None = None,
    trace_format: TraceFormat = "v1",
) -> list[dict[str, Any]]:
    """The service segment and one function segment per attempt, as Lambda sends them to X-Ray.

    `trace_format` is v1 unless asked: the reporter's test transactions are built on that style.
    """
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
            trace_id=trace_id,
            function_name=function_name,
            function_arn=function_arn,
            attempt=attempt,
            trace_format=trace_format,
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
    *, trace_id: str, function_name: str, function_arn: str, attempt: Attempt, trace_format: TraceFormat
) -> dict[str, Any]:
    """The `AWS::Lambda::Function` segment of one attempt; its parent is the `Attempt #N` subsegment."""
    if trace_format == "v1":
        return _v1_function_segment(trace_id, function_name, function_arn, attempt)
    return _v2_function_segment(trace_id, function_name, attempt)


def _v1_function_segment(
    trace_id: str, function_name: str, function_arn: str, attempt: Attempt
) -> dict[str, Any]:
    phase_aws = {"function_arn": function_arn}
    function_end = attempt.function[1]
    # v1's Overhead follows Invocation: the response's sending and the runtime's work after it.
    overhead = (attempt.invocation[1], attempt.overhead[1]) if attempt.overhead is not None else None
    if attempt.extension is not None:
        # v1's Overhead lasts until the environment may take the next event: an extension's work included.
        busy = _seconds(attempt.extension)
        function_end += busy
        overhead = (overhead[0], overhead[1] + busy) if overhead is not None else None
    subsegments: list[dict[str, Any]] = []
    if attempt.initialization is not None:
        subsegments.append(_phase("Initialization", attempt.initialization, phase_aws))
    invocation = _phase("Invocation", attempt.invocation, phase_aws, attempt.invocation_id)
    if attempt.handler_subsegments:
        invocation["subsegments"] = attempt.handler_subsegments
    if attempt.error:
        invocation["error"] = True
    subsegments.append(invocation)
    if overhead is not None:
        subsegments.append(_phase("Overhead", overhead, phase_aws))
    segment: dict[str, Any] = {
        "id": attempt.segment_id,
        "name": function_name,
        "start_time": attempt.function[0],
        "end_time": function_end,
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
    _flag_error(segment, attempt)
    return segment


def _v2_function_segment(trace_id: str, function_name: str, attempt: Attempt) -> dict[str, Any]:
    """Laid out as the real example is: the segment's duration is the sum of the four annotations, in
    this order: the handler, then `Overhead` (the runtime's work, then the extension's), then the response.
    """
    start = attempt.function[0]
    subsegments: list[dict[str, Any]] = []
    if attempt.initialization is not None:
        subsegments.append(_v2_phase("Init", attempt.initialization))  # before the segment's start
    subsegments.extend(attempt.handler_subsegments)
    if attempt.overhead is None:  # the environment was lost: Lambda only knows when the attempt ended
        end = attempt.function[1]
        annotations = {"aws:responseLatency": _ms(end - start)}
    else:
        handler_returned = attempt.invocation[1]
        runtime = max(0.0, _seconds(attempt.overhead))
        extension = _seconds(attempt.extension) if attempt.extension is not None else 0.0
        response = max(0.0, _seconds(attempt.response)) if attempt.response is not None else 0.0
        overhead_end = handler_returned + runtime + extension
        end = overhead_end + response
        subsegments.append(_v2_phase("Overhead", (handler_returned, overhead_end)))
        annotations = {
            "aws:responseLatency": _ms(handler_returned - start),
            "aws:runtimeOverhead": _ms(runtime),
        }
        if attempt.extension is not None:
            annotations["aws:extensionOverhead"] = _ms(extension)
        annotations["aws:responseDuration"] = _ms(response)
    segment: dict[str, Any] = {
        "id": attempt.segment_id,
        "name": function_name,
        "start_time": start,
        "trace_id": trace_id,
        "end_time": end,
        "parent_id": attempt.attempt_id,
        "aws": {"cloudwatch_logs": [{"log_group": f"/aws/lambda/{function_name}"}]},
        "annotations": annotations,
        "origin": "AWS::Lambda::Function",
    }
    if subsegments:
        segment["subsegments"] = subsegments
    _flag_error(segment, attempt)
    return segment


def _flag_error(segment: dict[str, Any], attempt: Attempt) -> None:
    """As real function segments with a function error: `error`, and the runtime's X-Ray cause where it
    sent one (working_directory, exceptions with their stacks, paths), else the error's type and message."""
    if attempt.error:
        segment["error"] = True
        segment["cause"] = attempt.error_cause or {
            "exceptions": [{"message": attempt.error, "type": attempt.error_type}]
        }


def _seconds(interval: Interval) -> float:
    return interval[1] - interval[0]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _v2_phase(name: str, interval: Interval) -> dict[str, Any]:
    return {"id": new_segment_id(), "name": name, "start_time": interval[0], "end_time": interval[1]}


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
