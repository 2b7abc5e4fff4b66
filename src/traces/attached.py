"""Attached segments: segments of a trace that belong to an invocation although Lambda did not write them.

An OpenTelemetry-instrumented handler does not send subsegments: X-Ray turns its SERVER span into a segment
of its own (named after the service, annotation `span.kind` = `SERVER`) whose `parent_id` is the function
segment (new-style traces) or its `Invocation` subsegment (old style), and the SDK's CLIENT spans into that
segment's subsegments. The contract (DESIGN.md, "The call tree of an invocation"): an attached segment is a
non-inferred segment of the same trace, of neither Lambda origin, whose `parent_id` is the id of the
function segment, of one of its subsegments, or of another attached segment. They hang in the call tree
where their parent is, so a segment under a call or under a phase that did not count adds no call.
"""

from traces.parts import Part
from traces.tree import TraceTree

AttachedSegments = dict[str, list[Part]]  # the id of the part they follow -> the attached segments

_NONE: AttachedSegments = {}  # shared, never mutated


def attached_segments(tree: TraceTree, function: Part) -> AttachedSegments:
    """The segments attached to this function segment, by the id of the part each follows."""
    followers = tree.followers
    if not followers:  # most traces: no segment follows anything but Lambda's own
        return _NONE
    owner = tree.owner
    by_id = tree.by_id
    found: AttachedSegments = {}
    queue: list[Part] = []
    for linked, segments in followers.items():
        parent = by_id[linked]
        if parent is function or owner.get(linked) is function:
            found[linked] = list(segments)
            queue.extend(segments)
    while queue:  # then the segments that follow an attached segment, and so on
        segment = queue.pop()
        own_id = segment.get("id")
        if own_id.__class__ is not str or own_id in found:
            continue
        following = followers.get(own_id)
        if following:
            found[own_id] = list(following)
            queue.extend(following)
    return found


def all_attached(attached: AttachedSegments) -> list[Part]:
    """Every attached segment once (a segment follows exactly one part)."""
    return [segment for segments in attached.values() for segment in segments]
