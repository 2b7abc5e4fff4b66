"""Transactions: one generator trace, from the generator's S3 PutObject to the end of its last segment.

A generator root is a non-inferred, non-Lambda segment that follows nothing in the trace and holds an S3
`PutObject` call subsegment (the one whose id the generator sent as the trace header's `Parent`).
"""

from dataclasses import dataclass
from typing import Any

from traces.invocations import Invocation
from traces.parts import (
    Part,
    duration_ms,
    end_of,
    flag,
    is_finished,
    is_put_object,
    seconds_to_ms,
    sort_key_by_start,
    start_of,
    text,
)
from traces.tree import TraceTree


@dataclass(frozen=True, slots=True)
class Transaction:
    trace_id: str | None
    generator: str  # the generator root segment's name
    start: float | None  # the PutObject's start, epoch seconds
    put_object_ms: float | None
    end_to_end_ms: float | None
    invocations: tuple[Invocation, ...]
    complete: bool  # the PutObject, the root and every invocation finished, and at least one invocation
    error: bool  # the PutObject, a function or a call had an error, fault or throttle

    @property
    def s3_notification_ms(self) -> float | None:
        """The S3 notification delay of the first invocation that has one."""
        values = (i.s3_notification_ms for i in self.invocations if i.s3_notification_ms is not None)
        return next(values, None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "generator": self.generator,
            "start": self.start,
            "put_object_ms": self.put_object_ms,
            "end_to_end_ms": self.end_to_end_ms,
            "s3_notification_ms": self.s3_notification_ms,
            "invocations": len(self.invocations),
            "functions": [invocation.function for invocation in self.invocations],
            "complete": self.complete,
            "error": self.error,
        }


def find_transactions(tree: TraceTree, invocations: list[tuple[Part, Invocation]]) -> list[Transaction]:
    """The trace's transactions, given its invocations each with its function segment."""
    generators: list[tuple[Part, Part]] = []
    for segment in tree.holders:  # only a segment with subsegments can hold a PutObject
        # Cheapest tests first: most segments are inferred or are Lambda's.
        if not segment.get("subsegments") or segment.get("inferred") is True:
            continue
        origin = segment.get("origin")
        if origin.__class__ is str and origin.startswith("AWS::Lambda"):
            continue
        put = _first_put_object(tree, segment)
        if put is not None and tree.followed(segment) is None:
            generators.append((segment, put))
    if not generators:
        return []
    generators.sort(key=lambda pair: sort_key_by_start(pair[0]))
    trace_end = tree.end()
    members = _members(tree, [root for root, _ in generators], invocations)
    return [_transaction(tree, root, put, members[id(root)], trace_end) for root, put in generators]


def _first_put_object(tree: TraceTree, root: Part) -> Part | None:
    """The earliest S3 PutObject call anywhere under the root (calls are not searched inside)."""
    found: list[Part] = []
    children = tree.children
    stack = list(children(root))
    while stack:
        part = stack.pop()
        # `is_sdk_call`, inline: this looks at every part under most API Gateway and other roots.
        namespace = part.get("namespace")
        if namespace.__class__ is str and namespace.lower() == "aws":
            if is_put_object(part):
                found.append(part)
            continue
        if "subsegments" in part or tree.irregular:  # a part without any holds nothing
            stack.extend(children(part))
    return min(found, key=sort_key_by_start) if found else None


def _members(
    tree: TraceTree, roots: list[Part], invocations: list[tuple[Part, Invocation]]
) -> dict[int, list[Invocation]]:
    """Which invocations follow which generator root: all of them where the trace has only one."""
    members: dict[int, list[Invocation]] = {id(root): [] for root in roots}
    if len(roots) == 1:
        members[id(roots[0])].extend(invocation for _, invocation in invocations)
        return members
    for segment, invocation in invocations:
        bucket = members.get(id(tree.root_of(segment)))
        if bucket is not None:
            bucket.append(invocation)
    return members


def _transaction(
    tree: TraceTree, root: Part, put: Part, invocations: list[Invocation], trace_end: float | None
) -> Transaction:
    put_start = start_of(put)
    end_to_end = None if put_start is None or trace_end is None else seconds_to_ms(trace_end - put_start)
    put_failed = flag(put, "error") or flag(put, "fault") or flag(put, "throttle")
    call_failed = any(call.error or call.fault or call.throttle for i in invocations for call in i.calls)
    return Transaction(
        trace_id=text(root, "trace_id") or tree.trace_id,
        generator=text(root, "name") or "",
        start=put_start,
        put_object_ms=duration_ms(put),
        end_to_end_ms=end_to_end,
        invocations=tuple(invocations),
        complete=bool(invocations)
        and is_finished(put)
        and end_of(root) is not None
        and all(i.complete for i in invocations),
        error=put_failed or call_failed or any(i.function_error for i in invocations),
    )
