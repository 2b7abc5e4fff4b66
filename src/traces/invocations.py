"""Invocations: one per non-inferred `AWS::Lambda::Function` segment, with every field of the contract.

See DESIGN.md, "What an invocation is (the analysis contract)". Durations are milliseconds rounded to the
microsecond; a part still in progress has no duration.
"""

from dataclasses import dataclass
from typing import Any

from traces.parts import (
    LAMBDA_SERVICE_ORIGIN,
    Part,
    duration_ms,
    end_of,
    is_finished_fast,
    is_sdk_call,
    round_ms,
    seconds_to_ms,
    sort_key_by_start,
    start_of,
)
from traces.tree import TraceTree

_NONE: list[Part] = []  # shared, never mutated
_NO_FIELDS: dict[str, Any] = {}  # shared, never mutated
_NO_SERVICE = (None, None, None, True)  # dwell, attempts, S3 notification, finished: follows no service

# A tuple, not a set: a mistyped name may be unhashable. Restore: a SnapStart cold start.
INIT_PHASES = ("Initialization", "Restore")
INVOCATION_PHASE = "Invocation"
OVERHEAD_PHASE = "Overhead"
DWELL_TIME = "Dwell Time"
ATTEMPT_PREFIX = "Attempt #"

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
# Where the called resource is named: table, bucket, queue, topic, function, stream, state machine.
_RESOURCE_FIELDS = (
    "table_name",
    "bucket_name",
    "queue_url",
    "topic_arn",
    "function_name",
    "stream_name",
    "state_machine_arn",
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


@dataclass  # not slots: orjson serialises a plain dataclass (its __dict__) several times faster
class Invocation:
    """The parts of one Lambda invocation: exactly the contract's record, fields in its order."""

    trace_id: str | None
    function: str
    start: float | None
    cold_start: bool
    init_ms: float | None
    invocation_ms: float | None
    overhead_ms: float | None
    dwell_ms: float | None
    attempts: int | None
    s3_notification_ms: float | None
    calls: tuple[Call, ...]  # in start order
    function_error: bool
    complete: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "function": self.function,
            "start": self.start,
            "cold_start": self.cold_start,
            "init_ms": self.init_ms,
            "invocation_ms": self.invocation_ms,
            "overhead_ms": self.overhead_ms,
            "dwell_ms": self.dwell_ms,
            "attempts": self.attempts,
            "s3_notification_ms": self.s3_notification_ms,
            "calls": [call.to_dict() for call in self.calls],
            "function_error": self.function_error,
            "complete": self.complete,
        }


def find_invocations(tree: TraceTree) -> list[Invocation]:
    """Every invocation in the trace, in start order."""
    return [invocation_of(tree, segment) for segment in function_segments(tree)]


def function_segments(tree: TraceTree) -> list[Part]:
    """The segments that are invocations: non-inferred `AWS::Lambda::Function` segments, in start order."""
    functions = tree.functions  # found while the tree was built; not to be changed by the caller
    if len(functions) > 1:
        return sorted(functions, key=sort_key_by_start)
    return functions


def invocation_of(tree: TraceTree, function: Part) -> Invocation:
    """The contract's record for one function segment of the tree."""
    direct = tree.children(function)
    # The common case, without lists: each phase subsegment at most once.
    init = invocation = overhead = None
    repeated = False
    for child in direct:
        name = child.get("name")
        if name == INVOCATION_PHASE:
            repeated = repeated or invocation is not None
            invocation = child
        elif name == OVERHEAD_PHASE:
            repeated = repeated or overhead is not None
            overhead = child
        elif name in INIT_PHASES:
            repeated = repeated or init is not None
            init = child
    not_counted = _NONE
    if repeated:
        init, invocation, overhead, not_counted = _repeated_phases(direct, function)
    calls, subtree_finished = _walk_function(tree, direct, not_counted)
    dwell_ms, attempts, s3_notification_ms, service_finished = _service_fields(tree, function)
    function_error = function.get("error") is True or function.get("fault") is True
    if invocation is not None and not function_error:
        function_error = invocation.get("error") is True or invocation.get("fault") is True
    trace_id = function.get("trace_id")
    name = function.get("name")
    # Positional, in the order of the fields (this runs once per invocation of a large input).
    return Invocation(
        trace_id if trace_id.__class__ is str and trace_id else tree.trace_id,
        name if name.__class__ is str else "",
        start_of(function),
        init is not None,
        duration_ms(init) if init is not None else None,
        duration_ms(invocation if invocation is not None else function),
        duration_ms(overhead) if overhead is not None else None,
        dwell_ms,
        attempts,
        s3_notification_ms,
        calls,
        function_error,
        subtree_finished and service_finished and is_finished_fast(function),
    )


def _repeated_phases(
    direct: list[Part], function: Part
) -> tuple[Part | None, Part | None, Part | None, list[Part]]:
    """Init, Invocation and Overhead where one appears more than once, and the parts not counted: calls
    under a repeated phase subsegment that did not count are not counted either.
    """
    inits: list[Part] = []
    invocations: list[Part] = []
    overheads: list[Part] = []
    for child in direct:
        name = child.get("name")
        if name == INVOCATION_PHASE:
            invocations.append(child)
        elif name == OVERHEAD_PHASE:
            overheads.append(child)
        elif name in INIT_PHASES:
            inits.append(child)
    init = _counting_phase(inits, function)
    invocation = _counting_phase(invocations, function)
    overhead = _counting_phase(overheads, function)
    not_counted = _NONE
    if len(invocations) > 1 or len(overheads) > 1:
        not_counted = [part for part in invocations if part is not invocation]
        not_counted += [part for part in overheads if part is not overhead]
    return init, invocation, overhead, not_counted


def _counting_phase(phases: list[Part], function: Part) -> Part | None:
    """Of repeated phase subsegments, the one overlapping the function segment most (ties: the latest)."""
    if len(phases) <= 1:
        return phases[0] if phases else None
    function_start, function_end = start_of(function), end_of(function)
    best: Part | None = None
    best_key: tuple[float, float] = (-1.0, float("-inf"))
    for phase in phases:
        start = start_of(phase)
        end = end_of(phase)
        if end is None:
            end = function_end  # still running: as far as is known, it runs to the end of its function
        overlap = 0.0
        if start is not None and end is not None and function_start is not None and function_end is not None:
            overlap = max(0.0, min(end, function_end) - max(start, function_start))
        key = (overlap, start if start is not None else float("-inf"))
        if key >= best_key:
            best, best_key = phase, key
    return best


def _walk_function(
    tree: TraceTree, direct: list[Part], not_counted: list[Part]
) -> tuple[tuple[Call, ...], bool]:
    """One pass over the function segment's subtree: its calls in start order, and whether all is finished.

    Inside a call, or a phase subsegment that did not count, nothing is a call: those parts are only
    checked for being finished. (The hot loop of the engine: kept inline.)
    """
    children = tree.children
    irregular = tree.irregular
    call_parts: list[Part] = []
    quiet: list[Part] = list(not_counted)  # parts whose subtree holds no counted call
    if not_counted:
        counted = [part for part in reversed(direct) if not any(part is other for other in not_counted)]
    else:
        counted = direct[::-1]
    finished = True
    while counted:
        part = counted.pop()
        if finished:
            end = part.get("end_time")
            # A finite float end and not in progress: finished (the common case, inline).
            if end.__class__ is not float or end - end != 0.0 or part.get("in_progress") is True:
                finished = is_finished_fast(part)
        # Only parts that hold something (or were flagged irregular) need their children looked at.
        below = children(part) if irregular and id(part) in irregular else part.get("subsegments")
        if below.__class__ is not list:
            below = _NONE
        namespace = part.get("namespace")
        # "aws" as the SDKs write it, else any case (the lower() call only then).
        if namespace == "aws" or (namespace.__class__ is str and namespace.lower() == "aws"):
            call_parts.append(part)
            quiet.extend(below)
        elif below:
            counted.extend(reversed(below))
    if quiet and finished:
        finished = _all_finished(tree, quiet)
    if not call_parts:
        return (), finished
    if len(call_parts) > 1:
        call_parts.sort(key=sort_key_by_start)
    # A comprehension, not map(): Python calls Python faster than a C iterator does.
    return tuple([_call_of(part) for part in call_parts]), finished


def _call_of(part: Part) -> Call:
    fields = part.get("aws")
    if fields.__class__ is not dict:
        fields = _NO_FIELDS
    operation = fields.get("operation")
    name = part.get("name")
    start, end = part.get("start_time"), part.get("end_time")
    if start.__class__ is float and end.__class__ is float and part.get("in_progress") is not True:
        value = (end - start) * 1000.0
        duration = round_ms(value) if value - value == 0.0 else None  # finite: inf - inf is nan
    else:
        duration = duration_ms(part)
    return Call(
        _SERVICE_NAMES.get(name.lower(), name) if name.__class__ is str and name else _service_name(fields),
        operation if operation.__class__ is str and operation else None,
        _resource_of(fields),
        duration,
        part.get("error") is True,
        part.get("fault") is True,
        part.get("throttle") is True,
    )


def _service_name(fields: dict[str, Any]) -> str:
    """The service of a call subsegment without a usable name, from the resource field it has."""
    for key, service in _SERVICE_BY_RESOURCE:
        if isinstance(fields.get(key), str):
            return service
    return "unknown"


def _resource_of(fields: dict[str, Any]) -> str | None:
    for key in _RESOURCE_FIELDS:
        value = fields.get(key)
        if value.__class__ is str and value:  # parsed JSON: a str is exactly a str
            return value
    names = fields.get("resource_names")
    if isinstance(names, list) and names and isinstance(names[0], str):
        return names[0]
    return None


def _service_fields(tree: TraceTree, function: Part) -> tuple[float | None, int | None, float | None, bool]:
    """Dwell time, attempts, S3 notification delay, and whether the service segment and all it holds are
    finished, of the `AWS::Lambda` segment the function follows (`_NO_SERVICE` where it follows none).
    """
    service = _service_segment(tree, function)
    if service is None:
        return _NO_SERVICE
    dwell_ms, attempts, finished = _service_parts(tree, service)
    return dwell_ms, attempts, _s3_notification_ms(tree, service), finished


def _service_segment(tree: TraceTree, function: Part) -> Part | None:
    """The `AWS::Lambda` segment the function follows: directly (sync) or via an `Attempt #N` (async)."""
    linked = function.get("parent_id")
    if linked.__class__ is not str:
        return None
    part = tree.by_id.get(linked)
    if part is None:
        return None
    segment = tree.owner.get(linked, part)
    # `is_lambda_service_segment`, inline (once per invocation).
    if segment.get("origin") == LAMBDA_SERVICE_ORIGIN and segment.get("inferred") is not True:
        return segment
    return None


def _service_parts(tree: TraceTree, service: Part) -> tuple[float | None, int, bool]:
    """Dwell time, attempts, and whether the service segment and all it holds are finished."""
    direct = tree.children(service)
    if not direct:  # a synchronous invoke: the service segment holds nothing
        return None, 0, is_finished_fast(service)
    dwell: Part | None = None
    attempt_starts: list[float] = []
    attempts = 0
    for part in direct:
        name = part.get("name")
        if name.__class__ is not str:
            continue
        if name.startswith(ATTEMPT_PREFIX):
            attempts += 1
            start = start_of(part)
            if start is not None:
                attempt_starts.append(start)
        elif name == DWELL_TIME and (dwell is None or sort_key_by_start(part) < sort_key_by_start(dwell)):
            dwell = part
    finished = is_finished_fast(service) and _all_finished(tree, list(direct))
    return _dwell_ms(dwell, attempt_starts), attempts, finished


def _all_finished(tree: TraceTree, parts: list[Part]) -> bool:
    """Whether the parts and all they hold are finished (consumes `parts`)."""
    children, irregular = tree.children, tree.irregular
    while parts:
        part = parts.pop()
        end = part.get("end_time")
        # A finite float end and not in progress is finished (the common case, inline).
        if (end.__class__ is not float or end - end != 0.0 or part.get("in_progress") is True) and (
            not is_finished_fast(part)
        ):
            return False
        below = children(part) if irregular and id(part) in irregular else part.get("subsegments")
        if below.__class__ is list:
            parts.extend(below)
    return True


def _dwell_ms(dwell: Part | None, attempt_starts: list[float]) -> float | None:
    if dwell is None:
        return None
    measured = duration_ms(dwell)
    if measured is not None:
        return measured
    start = start_of(dwell)
    if start is None or not attempt_starts:
        return None
    # Still in progress: the event stopped waiting when the first attempt began.
    return seconds_to_ms(min(attempt_starts) - start)


def _s3_notification_ms(tree: TraceTree, service: Part) -> float | None:
    """From the end of the S3 PutObject call the service segment follows, to the service segment's start."""
    linked = service.get("parent_id")
    if linked.__class__ is not str or linked not in tree.owner:  # a subsegment, not a segment
        return None
    put = tree.by_id[linked]
    # `is_put_object`, inline: most services follow another call (an Invoke) or a segment.
    fields = put.get("aws")
    operation = fields.get("operation") if fields.__class__ is dict else None
    if operation.__class__ is not str or operation.lower() != "putobject" or not is_sdk_call(put):
        return None
    service_start, put_end = start_of(service), end_of(put)
    if service_start is None or put_end is None:
        return None
    return seconds_to_ms(service_start - put_end)
