"""Invocations: one per non-inferred `AWS::Lambda::Function` segment, with every field of the contract.

See DESIGN.md, "What an invocation is (the analysis contract, v2)". Both of Lambda's trace formats are read:
- v1 (old style): `Initialization` (cold start), `Invocation` (the handler, holding its subsegments) and
  `Overhead`; pre-2021 traces have only the segment, the handler's calls hanging off it directly.
- v2 (new style): no `Invocation`; the handler's subsegments on the function segment itself, cold start
  `Init`, an `Overhead`, and the annotations `aws:responseLatency`, `aws:runtimeOverhead`,
  `aws:extensionOverhead`, `aws:responseDuration` (milliseconds; `aws.` spellings read too, each optional).
Segments an OpenTelemetry-instrumented handler adds are part of the invocation (`traces.attached`).
Durations are milliseconds rounded to the microsecond; a part still in progress has no duration.
"""

import math
from dataclasses import dataclass
from typing import Any, Literal

from traces.attached import AttachedSegments, all_attached, attached_segments
from traces.calls import Call, call_of
from traces.parts import (
    LAMBDA_SERVICE_ORIGIN,
    Part,
    duration_ms,
    end_of,
    is_finished_fast,
    is_sdk_call,
    number,
    part_id,
    round_ms,
    seconds_to_ms,
    sort_key_by_start,
    start_of,
)
from traces.tree import TraceTree

TraceFormat = Literal["v1", "v2"]

_NONE: list[Part] = []  # shared, never mutated
_NO_ATTACHED: AttachedSegments = {}  # shared, never mutated
# dwell, attempts, S3 notification, the service's `Init`, finished: where the function follows no service
_NO_SERVICE = (None, None, None, None, True)
# response latency, runtime overhead, extension overhead, response duration, any of them present
_NO_TIMINGS: tuple[float | None, float | None, float | None, float | None, bool] = (
    None,
    None,
    None,
    None,
    False,
)

# A tuple, not a set: a mistyped name may be unhashable. Init: v2's cold start; Restore: SnapStart's.
INIT_PHASES = ("Initialization", "Init", "Restore")
NEW_STYLE_INIT = "Init"
INVOCATION_PHASE = "Invocation"
OVERHEAD_PHASE = "Overhead"
DWELL_TIME = "Dwell Time"
ATTEMPT_PREFIX = "Attempt #"
# Lambda's timing annotations of a v2 function segment, each in the two spellings met (the first in every
# real document seen, the second in the Lambda guide's text).
RESPONSE_LATENCY = ("aws:responseLatency", "aws.responseLatency")
RUNTIME_OVERHEAD = ("aws:runtimeOverhead", "aws.runtimeOverhead")
EXTENSION_OVERHEAD = ("aws:extensionOverhead", "aws.extensionOverhead")
RESPONSE_DURATION = ("aws:responseDuration", "aws.responseDuration")


@dataclass  # not slots: orjson serialises a plain dataclass (its __dict__) several times faster
class Invocation:
    """The parts of one Lambda invocation: exactly the contract's record, fields in its order."""

    trace_id: str | None
    function: str
    start: float | None
    format: TraceFormat
    cold_start: bool
    init_ms: float | None
    invocation_ms: float | None
    overhead_ms: float | None
    runtime_overhead_ms: float | None
    extension_overhead_ms: float | None
    response_duration_ms: float | None
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
            "format": self.format,
            "cold_start": self.cold_start,
            "init_ms": self.init_ms,
            "invocation_ms": self.invocation_ms,
            "overhead_ms": self.overhead_ms,
            "runtime_overhead_ms": self.runtime_overhead_ms,
            "extension_overhead_ms": self.extension_overhead_ms,
            "response_duration_ms": self.response_duration_ms,
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
    repeated = new_style_init = False
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
            new_style_init = new_style_init or name == NEW_STYLE_INIT
    not_counted = _NONE
    if repeated:
        init, invocation, overhead, not_counted = _repeated_phases(direct, function)
    attached = attached_segments(tree, function) if tree.followers else _NO_ATTACHED
    if attached:
        calls, subtree_finished = _walk_with_attached(tree, function, direct, not_counted, attached)
    else:
        calls, subtree_finished = _walk_function(tree, direct, not_counted)
    dwell_ms, attempts, s3_notification_ms, service_init, service_finished = _service_fields(tree, function)
    annotations = function.get("annotations")
    timings = _timings(annotations) if annotations.__class__ is dict and annotations else _NO_TIMINGS
    response_latency, runtime_overhead, extension_overhead, response_duration, annotated = timings
    new_style = annotated or new_style_init
    if init is None:
        init = service_init
    if invocation is not None:
        invocation_ms = duration_ms(invocation)
    elif response_latency is not None:
        invocation_ms = response_latency
    else:
        invocation_ms = _until_overhead(function, overhead) if new_style else None
        if invocation_ms is None:
            invocation_ms = duration_ms(function)  # pre-2021 traces: the segment is the handler
    trace_id = function.get("trace_id")
    name = function.get("name")
    # Positional, in the order of the fields (this runs once per invocation of a large input).
    return Invocation(
        trace_id if trace_id.__class__ is str and trace_id else tree.trace_id,
        name if name.__class__ is str else "",
        start_of(function),
        "v2" if new_style else "v1",
        init is not None,
        duration_ms(init) if init is not None else None,
        invocation_ms,
        duration_ms(overhead) if overhead is not None else None,
        runtime_overhead,
        extension_overhead,
        response_duration,
        dwell_ms,
        attempts,
        s3_notification_ms,
        calls,
        # `_function_error`, its common case inline.
        function.get("error") is True
        or function.get("fault") is True
        or (invocation is not None and (invocation.get("error") is True or invocation.get("fault") is True))
        or (bool(attached) and _attached_error(attached)),
        subtree_finished and service_finished and is_finished_fast(function),
    )


def _attached_error(attached: AttachedSegments) -> bool:
    """An attached segment has `error` or `fault`: the handler failed as its spans saw it."""
    return any(
        segment.get("error") is True or segment.get("fault") is True for segment in all_attached(attached)
    )


def _timings(
    annotations: dict[str, Any],
) -> tuple[float | None, float | None, float | None, float | None, bool]:
    """Lambda's four timing annotations (milliseconds), and whether the segment carries any of them."""
    present = False
    values: list[float | None] = []
    for colon_key, dot_key in (RESPONSE_LATENCY, RUNTIME_OVERHEAD, EXTENSION_OVERHEAD, RESPONSE_DURATION):
        present = present or colon_key in annotations or dot_key in annotations
        value = annotations.get(colon_key)
        values.append(_milliseconds(annotations.get(dot_key) if value is None else value))
    return values[0], values[1], values[2], values[3], present


def _milliseconds(value: object) -> float | None:
    """An annotation's milliseconds: a finite, non-negative number (or numeric text), rounded as the rest."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    milliseconds = number(value)
    if milliseconds is None or milliseconds < 0.0 or not math.isfinite(milliseconds):
        return None
    return round_ms(milliseconds)


def _until_overhead(function: Part, overhead: Part | None) -> float | None:
    """v2 without `aws:responseLatency`: the handler ran from the segment's start until `Overhead` began."""
    if overhead is None:
        return None
    start, overhead_start = start_of(function), start_of(overhead)
    if start is None or overhead_start is None or overhead_start < start:
        return None
    return seconds_to_ms(overhead_start - start)


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
    return tuple([call_of(part) for part in call_parts]), finished


def _walk_with_attached(
    tree: TraceTree,
    function: Part,
    direct: list[Part],
    not_counted: list[Part],
    attached: AttachedSegments,
) -> tuple[tuple[Call, ...], bool]:
    """`_walk_function` for an invocation with attached segments: each hangs under the part it follows.

    An attached segment is never a call itself; its subsegments are, as the function segment's are.
    """
    children = tree.children
    # (part, whether a call in it counts, whether it is an attached segment)
    stack: list[tuple[Part, bool, bool]] = [
        (segment, True, True) for segment in reversed(attached.get(part_id(function) or "", _NONE))
    ]
    stack += [(part, not any(part is other for other in not_counted), False) for part in reversed(direct)]
    call_parts: list[Part] = []
    finished = True
    seen: set[int] = set()  # a part is walked once, however it is reached
    while stack:
        part, counting, is_segment = stack.pop()
        if id(part) in seen:
            continue
        seen.add(id(part))
        if finished and not is_finished_fast(part):
            finished = False
        below = [(child, counting, False) for child in children(part)]
        own_id = part.get("id")
        if own_id.__class__ is str and own_id in attached:
            below += [(segment, counting, True) for segment in attached[own_id]]
        if counting and not is_segment and is_sdk_call(part):
            call_parts.append(part)
            below = [(child, False, child_is_segment) for child, _, child_is_segment in below]
        stack.extend(reversed(below))
    return _calls_in_order(call_parts), finished


def _calls_in_order(call_parts: list[Part]) -> tuple[Call, ...]:
    if not call_parts:
        return ()
    if len(call_parts) > 1:
        call_parts.sort(key=sort_key_by_start)
    # A comprehension, not map(): Python calls Python faster than a C iterator does.
    return tuple([call_of(part) for part in call_parts])


def _service_fields(
    tree: TraceTree, function: Part
) -> tuple[float | None, int | None, float | None, Part | None, bool]:
    """Of the `AWS::Lambda` segment the function follows, directly (a sync invoke) or through an `Attempt #N`
    (async): dwell time, attempts, S3 notification delay, its `Init` subsegment (a cold start recorded
    there), and whether it and all it holds are finished; `_NO_SERVICE` where the function follows none.
    (Once per invocation: the helpers' work is inline.)
    """
    linked = function.get("parent_id")
    if linked.__class__ is not str:
        return _NO_SERVICE
    part = tree.by_id.get(linked)
    if part is None:
        return _NO_SERVICE
    service = tree.owner.get(linked, part)
    # `is_lambda_service_segment`, inline.
    if service.get("origin") != LAMBDA_SERVICE_ORIGIN or service.get("inferred") is True:
        return _NO_SERVICE
    irregular = tree.irregular
    direct = tree.children(service) if irregular and id(service) in irregular else service.get("subsegments")
    if direct.__class__ is not list or not direct:  # a synchronous invoke: the service segment holds nothing
        return None, 0, _s3_notification_ms(tree, service), None, is_finished_fast(service)
    dwell: Part | None = None
    init: Part | None = None
    attempts: list[Part] = []
    for child in direct:
        name = child.get("name")
        if name.__class__ is not str:
            continue
        if name.startswith(ATTEMPT_PREFIX):
            attempts.append(child)
        elif name == DWELL_TIME and (dwell is None or sort_key_by_start(child) < sort_key_by_start(dwell)):
            dwell = child
        elif name == NEW_STYLE_INIT and (init is None or sort_key_by_start(child) < sort_key_by_start(init)):
            init = child
    finished = is_finished_fast(service) and _all_finished(tree, list(direct))
    return _dwell_ms(dwell, attempts), len(attempts), _s3_notification_ms(tree, service), init, finished


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


def _dwell_ms(dwell: Part | None, attempts: list[Part]) -> float | None:
    if dwell is None:
        return None
    measured = duration_ms(dwell)
    if measured is not None:
        return measured
    start = start_of(dwell)
    attempt_starts = [value for value in map(start_of, attempts) if value is not None]
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
