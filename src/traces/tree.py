"""One trace's segment tree, built once: every part indexed by id, with who holds it.

Two kinds of links make a trace: a subsegment is *held* by the part whose `subsegments` list it is in (or,
when sent as a document of its own with `"type": "subsegment"`, by the part its `parent_id` names), and a
segment *follows* the part its `parent_id` names (a call, an `Attempt #N`, another segment). Ids are unique
in a trace: where one appears twice, the first part with it counts and the other is ignored with its
subtree, so nothing is counted twice and no walk can loop.

Two kinds of segment are picked out while indexing: Lambda's function segments (the invocations) and the
*followers*, non-inferred segments of any other origin than Lambda's that follow a part: among them the
segments an OpenTelemetry-instrumented handler adds (X-Ray's rendering of its SERVER span, parented to the
function segment), which belong to that invocation (see `traces.attached`). A function segment that follows
another function segment (or a part of one) is such a follower too: Lambda's own function segments follow
Lambda's service segment, never a function, so that is a handler's span that was given Lambda's origin.
"""

from dataclasses import dataclass, field

from traces.parts import (
    LAMBDA_FUNCTION_ORIGIN,
    LAMBDA_SERVICE_ORIGIN,
    Part,
    end_of,
    parent_id,
    part_id,
    sort_key_by_start,
)

_NONE: list[Part] = []  # shared, never mutated


@dataclass(slots=True)
class TraceTree:
    trace_id: str | None
    segments: list[Part]  # top-level segment documents, in input order
    by_id: dict[str, Part] = field(default_factory=dict)  # every segment and subsegment
    owner: dict[str, Part] = field(default_factory=dict)  # subsegment id -> its top-level segment
    standalone: dict[str, list[Part]] = field(default_factory=dict)  # part id -> standalone subsegments
    # id() of the parts whose `subsegments` are not a plain list of unique parts: their children are checked.
    irregular: set[int] = field(default_factory=set)
    holders: list[Part] = field(default_factory=list)  # the segments with `subsegments`, in input order
    # The non-inferred `AWS::Lambda::Function` segments, in input order (found in the same pass).
    functions: list[Part] = field(default_factory=list)
    # Non-inferred, non-Lambda segments whose parent is in this trace, by that parent's id (most have none).
    followers: dict[str, list[Part]] = field(default_factory=dict)

    def children(self, part: Part) -> list[Part]:
        """The subsegments a part holds, each counted once (a repeat of an id already seen is left out)."""
        if self.irregular and id(part) in self.irregular:  # most traces have none: no id() call then
            return self._checked_children(part)
        subsegments = part.get("subsegments")
        return subsegments if subsegments.__class__ is list else _NONE

    def _checked_children(self, part: Part) -> list[Part]:
        found: list[Part] = []
        subsegments = part.get("subsegments")
        if subsegments.__class__ is list:
            by_id = self.by_id
            for child in subsegments:
                if child.__class__ is dict:
                    child_id = child.get("id")
                    if not isinstance(child_id, str) or not child_id or by_id.get(child_id) is child:
                        found.append(child)
        own_id = part.get("id")
        if isinstance(own_id, str):
            found.extend(self.standalone.get(own_id, ()))
        return found

    def segment_of(self, part: Part) -> Part:
        """The top-level segment a part belongs to (the part itself for a segment)."""
        own_id = part_id(part)
        return self.owner.get(own_id, part) if own_id is not None else part

    def is_segment(self, part: Part) -> bool:
        own_id = part_id(part)
        return own_id is not None and own_id not in self.owner and self.by_id.get(own_id) is part

    def followed(self, segment: Part) -> Part | None:
        """The part a segment's `parent_id` names, where it is in this trace."""
        linked = parent_id(segment)
        return self.by_id.get(linked) if linked is not None else None

    def root_of(self, segment: Part) -> Part:
        """The first segment up the chain of `parent_id` links (a cycle stops where it closes)."""
        seen = {id(segment)}
        current = segment
        while True:
            linked = self.followed(current)
            if linked is None:
                return current
            upper = self.segment_of(linked)
            if id(upper) in seen:
                return current
            seen.add(id(upper))
            current = upper

    def end(self) -> float | None:
        """The end of the last finished segment of the trace."""
        ends = [e for e in (end_of(segment) for segment in self.segments) if e is not None]
        return max(ends) if ends else None

    def segments_by_start(self) -> list[Part]:
        return sorted(self.segments, key=sort_key_by_start)


def build_tree(trace_id: str | None, documents: dict[str, Part], *, hand_over: bool = False) -> TraceTree:
    """Index a trace's documents, given by their (unique) ids. Standalone subsegments join their parent.

    With `hand_over`, the caller gives `documents` up: it becomes the tree's index instead of a copy.
    """
    segments: list[Part] = []
    standalone: list[Part] = []
    holders: list[Part] = []  # most segments hold no subsegments: their walk is skipped
    functions: list[Part] = []
    followers: list[Part] = []
    for document in documents.values():  # one pass: this looks at every segment of a large input
        if document.get("type") == "subsegment":
            standalone.append(document)
            continue
        segments.append(document)
        if document.get("subsegments") is not None:
            holders.append(document)
        # `is_function_segment`, inline; cheapest tests first (most other segments are Lambda's or inferred).
        origin = document.get("origin")
        if origin == LAMBDA_FUNCTION_ORIGIN:
            if document.get("inferred") is not True:
                functions.append(document)
        elif (
            document.get("inferred") is not True
            and origin != LAMBDA_SERVICE_ORIGIN
            and "parent_id" in document
        ):
            followers.append(document)
    # Every segment by its id, in input order: the documents' own index, less any standalone subsegments.
    if standalone:
        by_id = {key: document for key, document in documents.items() if document.get("type") != "subsegment"}
    else:
        by_id = documents if hand_over else dict(documents)
    tree = TraceTree(trace_id, segments, by_id, {}, {}, set(), holders, functions)
    # After every segment id: a segment's own id wins over a subsegment's.
    _index_subtrees(tree, holders, owner=None, indexed=None)
    if standalone:
        _attach_standalone(tree, standalone)
    if len(functions) > 1:
        followers.extend(_functions_following_functions(tree))
    if followers:
        _index_followers(tree, followers)
    return tree


def _index_followers(tree: TraceTree, followers: list[Part]) -> None:
    """Group the followers by the id of the part they follow, where that part is in this trace."""
    by_id = tree.by_id
    for segment in followers:
        linked = segment.get("parent_id")
        if linked.__class__ is str and linked in by_id and by_id[linked] is not segment:
            tree.followers.setdefault(linked, []).append(segment)


def _functions_following_functions(tree: TraceTree) -> list[Part]:
    """Function segments that follow a function segment (or a part of one), taken out of `functions`.

    Only those whose chain of such links reaches a function segment that follows no function: in a cycle
    none is Lambda's own, and all stay invocations (nothing is dropped on a guess).
    """
    leaders: dict[int, Part] = {}  # id() of a function segment -> the function segment it follows
    by_id, owner = tree.by_id, tree.owner
    for function in tree.functions:
        linked = function.get("parent_id")
        if not isinstance(linked, str):
            continue
        part = by_id.get(linked)
        if part is None:
            continue
        # Lambda's own function segments follow its service segment: the common case ends here.
        leader = owner.get(linked, part)
        if (
            leader is not function
            and leader.get("origin") == LAMBDA_FUNCTION_ORIGIN
            and leader.get("inferred") is not True
        ):
            leaders[id(function)] = leader
    if not leaders:
        return []
    moved: list[Part] = []
    for function in tree.functions:
        followed = leaders.get(id(function))
        seen = {id(function)}
        while followed is not None and id(followed) in leaders and id(followed) not in seen:
            seen.add(id(followed))
            followed = leaders[id(followed)]
        if followed is not None and id(followed) not in leaders:
            moved.append(function)
    moved_ids = {id(function) for function in moved}
    tree.functions = [function for function in tree.functions if id(function) not in moved_ids]
    return moved


def _index_subtrees(
    tree: TraceTree, tops: list[Part], *, owner: Part | None, indexed: list[str] | None
) -> None:
    """Index every subsegment under each of `tops`, owned by `owner` (None: by that top, a segment); the
    ids newly indexed are added to `indexed` where given. (Once per trace for all its segments.)
    """
    by_id, owners, irregular = tree.by_id, tree.owner, tree.irregular
    for top in tops:
        top_owner = top if owner is None else owner
        stack = [top]
        while stack:
            part = stack.pop()
            subsegments = part.get("subsegments")
            if subsegments is None:
                continue
            if subsegments.__class__ is not list:
                irregular.add(id(part))
                continue
            for child in subsegments:
                if child.__class__ is not dict:
                    irregular.add(id(part))
                    continue
                child_id = child.get("id")
                if child_id.__class__ is str and child_id:
                    if child_id in by_id:
                        # A repeated id: the first part with it counts, this one and its subtree do not.
                        irregular.add(id(part))
                        continue
                    by_id[child_id] = child
                    owners[child_id] = top_owner
                    if indexed is not None:
                        indexed.append(child_id)
                if "subsegments" in child:
                    stack.append(child)


def _attach_standalone(tree: TraceTree, standalone: list[Part]) -> None:
    """Hang subsegments sent as their own documents under the part they name, in one pass over the ids."""
    waiting: dict[str, list[Part]] = {}
    for document in standalone:
        linked = parent_id(document)
        if linked is not None:
            waiting.setdefault(linked, []).append(document)
    ready = [linked for linked in waiting if linked in tree.by_id]
    while ready:
        linked = ready.pop()
        parent = tree.by_id[linked]
        owner = tree.segment_of(parent)
        for document in waiting.pop(linked, []):
            document_id = part_id(document)
            if document_id is None or document_id in tree.by_id:
                continue
            tree.by_id[document_id] = document
            tree.owner[document_id] = owner
            tree.standalone.setdefault(linked, []).append(document)
            tree.irregular.add(id(parent))
            indexed = [document_id]
            _index_subtrees(tree, [document], owner=owner, indexed=indexed)
            ready.extend(new_id for new_id in indexed if new_id in waiting)
