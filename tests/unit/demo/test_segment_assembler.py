"""Standalone subsegments (as the X-Ray SDK sends them in Lambda) nested into their segment before storing."""

from typing import Any

from demo.xray_daemon import SegmentAssembler

TRACE = "1-6745a1b0-00000000000000000000abcd"


def function_segment(segment_id: str = "f000000000000001") -> dict[str, Any]:
    return {
        "id": segment_id,
        "trace_id": TRACE,
        "name": "pipeline",
        "origin": "AWS::Lambda::Function",
        "start_time": 1.0,
        "end_time": 2.0,
        "subsegments": [
            {"id": "1000000000000001", "name": "Initialization", "start_time": 0.5, "end_time": 1.0},
            {"id": "a000000000000001", "name": "Invocation", "start_time": 1.0, "end_time": 1.9},
            {"id": "0000000000000003", "name": "Overhead", "start_time": 1.9, "end_time": 2.0},
        ],
    }


def subsegment(own_id: str, parent_id: str, name: str = "## lambda_handler", **more: Any) -> dict[str, Any]:
    return {
        "id": own_id,
        "trace_id": TRACE,
        "parent_id": parent_id,
        "type": "subsegment",
        "name": name,
        "start_time": 1.1,
        "end_time": 1.8,
        **more,
    }


def invocation_of(document: dict[str, Any]) -> dict[str, Any]:
    invocations: list[dict[str, Any]] = [
        part for part in document["subsegments"] if part["name"] == "Invocation"
    ]
    return invocations[0]


def test_a_subsegment_sent_first_waits_and_lands_under_the_part_it_names() -> None:
    assembler = SegmentAssembler(settle_seconds=0.5)
    assert assembler.add(subsegment("5000000000000001", "a000000000000001"), now=10.0) == []
    assert assembler.waiting == 1
    assert assembler.add(function_segment(), now=10.1) == []
    assert assembler.waiting == 0
    assert assembler.take_ready(now=10.2) == []  # still settling
    [document] = assembler.take_ready(now=10.6)
    [handler] = invocation_of(document)["subsegments"]
    assert handler["id"] == "5000000000000001"
    # Nested parts do not carry the fields that linked the standalone document.
    assert {"type", "parent_id", "trace_id"}.isdisjoint(handler)
    assert assembler.attached == 1


def test_a_subsegment_sent_after_its_segment_is_attached_while_the_segment_settles() -> None:
    assembler = SegmentAssembler(settle_seconds=0.5)
    assembler.add(function_segment(), now=10.0)
    assembler.add(subsegment("5000000000000001", "a000000000000001"), now=10.1)
    [document] = assembler.take_all(orphans=False)
    assert [part["id"] for part in invocation_of(document)["subsegments"]] == ["5000000000000001"]


def test_streamed_subsegments_chain_under_each_other_in_any_order() -> None:
    # With streaming, the SDK sends a call before the subsegment that holds it.
    assembler = SegmentAssembler()
    call = subsegment("c000000000000001", "5000000000000001", name="DynamoDB", namespace="aws")
    assembler.add(call, now=1.0)
    assembler.add(function_segment(), now=1.1)
    assert assembler.waiting == 1  # its parent is not there yet
    assembler.add(subsegment("5000000000000001", "a000000000000001"), now=1.2)
    assert assembler.waiting == 0
    [document] = assembler.take_all(orphans=False)
    [handler] = invocation_of(document)["subsegments"]
    assert [part["id"] for part in handler["subsegments"]] == ["c000000000000001"]


def new_style_function_segment(segment_id: str = "f000000000000002") -> dict[str, Any]:
    """Lambda's v2 function segment: no Invocation, the handler's subsegments belong to the segment itself."""
    return {
        "id": segment_id,
        "trace_id": TRACE,
        "name": "pipeline",
        "origin": "AWS::Lambda::Function",
        "start_time": 1.0,
        "end_time": 2.0,
        "annotations": {"aws:responseLatency": 900.0},
        "subsegments": [
            {"id": "1000000000000002", "name": "Init", "start_time": 0.5, "end_time": 1.0},
            {"id": "0000000000000004", "name": "Overhead", "start_time": 1.9, "end_time": 2.0},
        ],
    }


def test_a_subsegment_naming_the_segment_itself_lands_directly_under_it() -> None:
    # v2: the handler's trace header names the function segment's id, so the SDK's parent_id is a segment.
    assembler = SegmentAssembler()
    call = subsegment("c000000000000002", "5000000000000002", name="DynamoDB", namespace="aws")
    assembler.add(call, now=1.0)  # the SDK streams the call first, then the handler's subsegment
    assembler.add(subsegment("5000000000000002", "f000000000000002"), now=1.1)
    assert assembler.waiting == 2
    assembler.add(new_style_function_segment(), now=1.2)  # the runtime sends its segment last
    assert assembler.waiting == 0
    [document] = assembler.take_all(orphans=False)
    assert [part["name"] for part in document["subsegments"]] == ["Init", "Overhead", "## lambda_handler"]
    handler = document["subsegments"][2]
    assert {"type", "parent_id", "trace_id"}.isdisjoint(handler)
    assert [part["id"] for part in handler["subsegments"]] == ["c000000000000002"]
    assert assembler.attached == 2


def test_a_subsegment_sent_again_replaces_its_earlier_version() -> None:
    assembler = SegmentAssembler()
    assembler.add(function_segment(), now=1.0)
    running = subsegment("5000000000000001", "a000000000000001", in_progress=True)
    del running["end_time"]
    assembler.add(running, now=1.1)
    assembler.add(subsegment("5000000000000001", "a000000000000001"), now=1.2)
    [document] = assembler.take_all(orphans=False)
    [handler] = invocation_of(document)["subsegments"]
    assert handler["end_time"] == 1.8
    assert "in_progress" not in handler


def test_a_newer_segment_version_keeps_the_subsegments_already_attached() -> None:
    assembler = SegmentAssembler()
    first = function_segment()
    first["in_progress"] = True
    del first["end_time"]
    assembler.add(first, now=1.0)
    assembler.add(subsegment("5000000000000001", "a000000000000001"), now=1.1)
    assembler.add(function_segment(), now=1.2)
    [document] = assembler.take_all(orphans=False)
    assert document["end_time"] == 2.0
    assert [part["id"] for part in invocation_of(document)["subsegments"]] == ["5000000000000001"]


def test_a_subsegment_whose_segment_was_already_forwarded_goes_on_its_own() -> None:
    assembler = SegmentAssembler()
    assembler.add(function_segment(), now=1.0)
    assert len(assembler.take_all(orphans=False)) == 1
    late = subsegment("5000000000000001", "a000000000000001")
    assert assembler.add(late, now=2.0) == [late]
    assert assembler.late == 1
    # Its own children follow it out too, rather than waiting for a parent that already left.
    child = subsegment("c000000000000001", "5000000000000001", name="DynamoDB")
    assert assembler.add(child, now=2.1) == [child]


def test_orphans_go_on_their_own_after_waiting_or_at_stop() -> None:
    assembler = SegmentAssembler(orphan_seconds=30.0)
    assembler.add(subsegment("5000000000000001", "ffffffffffffffff"), now=1.0)
    assembler.add(subsegment("5000000000000002", "eeeeeeeeeeeeeeee"), now=20.0)
    assert assembler.take_ready(now=30.0) == []
    [first] = assembler.take_ready(now=31.0)
    assert first["id"] == "5000000000000001"
    assert first["type"] == "subsegment"  # still standalone: X-Ray takes it that way
    assert assembler.take_all(orphans=False) == []
    [second] = assembler.take_all(orphans=True)
    assert second["id"] == "5000000000000002"
    assert assembler.waiting == 0


def test_every_held_segment_is_forwarded_once() -> None:
    assembler = SegmentAssembler()
    assembler.add(function_segment("f000000000000001"), now=1.0)
    service = {"id": "5e00000000000001", "trace_id": TRACE, "name": "svc", "start_time": 0.0, "end_time": 0.1}
    assembler.add(service, now=1.0)
    assert assembler.held == 2
    documents = assembler.take_all(orphans=True)
    assert sorted(document["id"] for document in documents) == ["5e00000000000001", "f000000000000001"]
    assert assembler.held == 0
