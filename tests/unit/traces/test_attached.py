"""OpenTelemetry segments attached to an invocation, on a hand-written v2 trace with its numbers worked out.

The trace: a generator root with its S3 PutObject; S3's async invoke (`AWS::Lambda`, `Dwell Time`,
`Attempt #1`); Lambda's new-style function segment (`Init`, `Overhead`, timing annotations); and the
handler's OpenTelemetry SERVER span as X-Ray renders it: a segment of its own, parented to the function
segment, holding the SDK's CLIENT spans (DynamoDB PutItem with X-Ray's fields, S3 GetObject with only
OpenTelemetry's attributes in `metadata`); DynamoDB's inferred segment follows the PutItem.
"""

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.traces.helpers import TRACE_ID, only, part, sdk_call, segment, trace
from traces.analysis import analyze

ROOT, PUT, SERVICE, ATTEMPT, FUNCTION, OTEL, PUT_ITEM, GET_OBJECT = (
    "a000000000000001",
    "a000000000000002",
    "b000000000000001",
    "b000000000000002",
    "c000000000000001",
    "d000000000000001",
    "d000000000000002",
    "d000000000000003",
)


def generator_root() -> dict[str, Any]:
    put = sdk_call(PUT, "S3", "PutObject", 100.000, 100.040, bucket_name="tc-bucket")
    return segment(ROOT, "tc-generator", 99.990, 100.045, subsegments=[put])


def service_segment() -> dict[str, Any]:
    return segment(
        SERVICE,
        "tc-pipeline-otel",
        100.060,
        100.061,
        parent_id=PUT,
        origin="AWS::Lambda",
        http={"response": {"status": 202}},
        subsegments=[
            part("b000000000000003", "Dwell Time", 100.060, 100.075),
            part(ATTEMPT, "Attempt #1", 100.075, 100.600),
        ],
    )


def function_segment_v2() -> dict[str, Any]:
    # 100.281 -> 100.572 = 291 ms = 250 (response latency) + 40.5 (runtime overhead) + 0.5 (response).
    return segment(
        FUNCTION,
        "tc-pipeline-otel",
        100.281,
        100.572,
        parent_id=ATTEMPT,
        origin="AWS::Lambda::Function",
        aws={"cloudwatch_logs": [{"log_group": "/aws/lambda/tc-pipeline-otel"}]},
        annotations={"aws:responseLatency": 250.0, "aws:runtimeOverhead": 40.5, "aws:responseDuration": 0.5},
        subsegments=[
            part("c000000000000002", "Init", 100.076, 100.280),
            part("c000000000000003", "Overhead", 100.531, 100.5715),  # starts 250 ms after the segment
        ],
    )


def otel_segment(parent: str = FUNCTION, **changes: Any) -> dict[str, Any]:
    put_item = sdk_call(PUT_ITEM, "DynamoDB", "PutItem", 100.300, 100.512, table_name="items")
    put_item["http"] = {"response": {"status": 200}}
    get_object = part(
        GET_OBJECT,
        "S3",
        100.285,
        100.298,
        namespace="aws",
        metadata={"default": {"rpc.method": "GetObject", "aws.s3.bucket": "tc-bucket"}},
    )
    document = segment(
        OTEL,
        "tc-pipeline-otel",
        100.282,
        100.528,
        parent_id=parent,
        annotations={"span.kind": "SERVER"},
        subsegments=[put_item, get_object],
    )
    document.update(changes)
    return document


def inferred_table() -> dict[str, Any]:
    return segment(
        "e000000000000001",
        "items",
        100.301,
        100.511,
        parent_id=PUT_ITEM,
        inferred=True,
        origin="AWS::DynamoDB::Table",
    )


def whole_trace(**otel_changes: Any) -> list[dict[str, Any]]:
    return [
        generator_root(),
        service_segment(),
        function_segment_v2(),
        otel_segment(**otel_changes),
        inferred_table(),
    ]


def test_the_calls_in_the_opentelemetry_segment_are_the_invocations_calls() -> None:
    result = analyze(trace(*whole_trace()))
    invocation = only(result)  # the SERVER-span segment is no invocation of its own
    assert invocation.format == "v2"
    assert invocation.cold_start is True
    assert invocation.init_ms == pytest.approx(204.0)  # Init 100.076 -> 100.280
    assert invocation.invocation_ms == 250.0  # aws:responseLatency
    assert invocation.overhead_ms == pytest.approx(40.5)  # 100.531 -> 100.5715
    assert invocation.runtime_overhead_ms == 40.5
    assert invocation.extension_overhead_ms is None
    assert invocation.response_duration_ms == 0.5
    assert invocation.dwell_ms == pytest.approx(15.0)  # Dwell Time 100.060 -> 100.075
    assert invocation.attempts == 1
    assert invocation.s3_notification_ms == pytest.approx(20.0)  # service 100.060 - PutObject end 100.040
    assert [(c.service, c.operation, c.resource) for c in invocation.calls] == [
        ("S3", "GetObject", "tc-bucket"),  # 100.285: from OpenTelemetry's attributes in metadata
        ("DynamoDB", "PutItem", "items"),  # 100.300: X-Ray's fields
    ]
    assert [c.duration_ms for c in invocation.calls] == [pytest.approx(13.0), pytest.approx(212.0)]
    assert invocation.function_error is False
    assert invocation.complete is True
    [transaction] = result.transactions
    assert transaction.end_to_end_ms == pytest.approx(572.0)  # PutObject 100.000 -> function end 100.572
    assert transaction.complete is True
    assert transaction.error is False


def test_in_an_old_style_trace_the_segment_follows_the_invocation_subsegment() -> None:
    invocation_phase = part("c000000000000004", "Invocation", 100.282, 100.530)
    function = segment(
        FUNCTION,
        "tc-pipeline-otel",
        100.281,
        100.572,
        parent_id=ATTEMPT,
        origin="AWS::Lambda::Function",
        subsegments=[part("c000000000000002", "Initialization", 100.076, 100.280), invocation_phase],
    )
    invocation = only(analyze([service_segment(), function, otel_segment(parent="c000000000000004")]))
    assert invocation.format == "v1"
    assert invocation.invocation_ms == pytest.approx(248.0)  # Invocation 100.282 -> 100.530
    assert [c.operation for c in invocation.calls] == ["GetObject", "PutItem"]


def test_an_error_or_fault_on_the_attached_segment_is_a_function_error() -> None:
    result = analyze(whole_trace(fault=True))
    assert only(result).function_error is True
    assert result.transactions[0].error is True


def test_a_call_still_in_progress_in_the_attached_segment_leaves_the_invocation_incomplete() -> None:
    documents = whole_trace()
    put_item = documents[3]["subsegments"][0]
    del put_item["end_time"]
    put_item["in_progress"] = True
    invocation = only(analyze(documents))
    assert invocation.complete is False
    assert [c.duration_ms for c in invocation.calls] == [pytest.approx(13.0), None]


def test_a_server_span_given_lambdas_origin_is_still_attached_not_a_second_invocation() -> None:
    result = analyze(whole_trace(origin="AWS::Lambda::Function"))
    invocation = only(result)
    assert invocation.function == "tc-pipeline-otel"
    assert invocation.cold_start is True  # Lambda's own segment, not the span's
    assert [c.operation for c in invocation.calls] == ["GetObject", "PutItem"]


def test_a_segment_following_an_attached_segment_is_attached_too() -> None:
    nested = segment(
        "f000000000000001",
        "inner",
        100.400,
        100.450,
        parent_id=OTEL,
        subsegments=[
            sdk_call("f000000000000002", "SQS", "SendMessage", 100.41, 100.42, queue_url="https://q")
        ],
    )
    invocation = only(analyze([*whole_trace(), nested]))
    assert [c.operation for c in invocation.calls] == ["GetObject", "PutItem", "SendMessage"]


def test_what_follows_a_subsegment_of_an_attached_segment_or_a_call_is_not_the_invocations() -> None:
    # Attached means: parent is the function segment, one of its subsegments, or an attached segment.
    after_get = segment(
        "f000000000000001",
        "downstream",
        100.29,
        100.295,
        parent_id=GET_OBJECT,
        fault=True,
        subsegments=[sdk_call("f000000000000002", "SQS", "SendMessage", 100.291, 100.292)],
    )
    invocation = only(analyze([*whole_trace(), after_get]))
    assert [c.operation for c in invocation.calls] == ["GetObject", "PutItem"]
    assert invocation.function_error is False


def test_a_segment_following_a_call_of_the_function_adds_no_call_of_its_own() -> None:
    # v2: a call on the function segment itself; a non-inferred segment follows it: it is inside that call.
    function = function_segment_v2()
    call = sdk_call("c000000000000009", "Lambda", "Invoke", 100.29, 100.40, function_name="other")
    function["subsegments"].append(call)
    follower = segment(
        "f000000000000001",
        "other-service",
        100.30,
        100.39,
        parent_id="c000000000000009",
        subsegments=[sdk_call("f000000000000002", "S3", "GetObject", 100.31, 100.32)],
    )
    invocation = only(analyze([service_segment(), function, follower]))
    assert [c.operation for c in invocation.calls] == ["Invoke"]


def test_documents_read_back_through_transaction_search_read_the_same() -> None:
    plain = only(analyze(trace(*whole_trace())))
    converted = []
    for original in whole_trace():
        document = copy.deepcopy(original)
        annotations = document.setdefault("annotations", {})
        annotations["aws:span.name"] = document["name"]
        annotations["aws:span.kind"] = "SERVER" if document.get("origin") != "AWS::Lambda" else "CLIENT"
        document.setdefault("metadata", {})["default"] = {
            "aws.xray.origin": document.get("origin", ""),
            "aws.lambda.name": "tc-pipeline-otel",
            "otel.resource.service.name": "tc-pipeline-otel",
            "otel.resource.cloud.platform": "aws_lambda",
        }
        for child in document.get("subsegments", []):
            child.setdefault("annotations", {})["aws:span.kind"] = "CLIENT"
        converted.append(document)
    assert only(analyze(trace(*converted))) == plain


def test_two_attempts_each_have_their_own_attached_segment() -> None:
    first = function_segment_v2()
    first["error"] = True
    second = copy.deepcopy(function_segment_v2())
    second.update(id="c00000000000000a", start_time=101.0, end_time=101.3)
    second["subsegments"] = [part("c00000000000000b", "Overhead", 101.25, 101.29)]
    second_otel = otel_segment(parent="c00000000000000a", id="d00000000000000a")
    second_otel["subsegments"] = [
        sdk_call("d00000000000000b", "DynamoDB", "PutItem", 101.01, 101.2, table_name="items")
    ]
    result = analyze([service_segment(), first, otel_segment(), second, second_otel])
    assert [len(i.calls) for i in result.invocations] == [2, 1]
    assert [i.function_error for i in result.invocations] == [True, False]


def test_a_segment_whose_parent_is_not_in_the_trace_is_nobodys() -> None:
    invocation = only(analyze([*whole_trace()[:3], otel_segment(parent="ffffffffffffffff")]))
    assert invocation.calls == ()


@settings(max_examples=60, deadline=None)
@given(
    placements=st.lists(st.sampled_from(["standalone", "otel", "function", "copy"]), min_size=1, max_size=4),
    trace_form=st.booleans(),
)
def test_a_call_reachable_twice_counts_once(placements: list[str], trace_form: bool) -> None:
    """The same PutItem (one id) placed again: in the SERVER segment, on the function segment, as a
    standalone subsegment document, or as a second copy of the SERVER segment: still one call."""
    documents = whole_trace()
    repeat = copy.deepcopy(documents[3]["subsegments"][0])
    for placement in placements:
        if placement == "standalone":
            documents.append(
                {**copy.deepcopy(repeat), "type": "subsegment", "parent_id": OTEL, "trace_id": TRACE_ID}
            )
        elif placement == "otel":
            documents[3]["subsegments"].append(copy.deepcopy(repeat))
        elif placement == "function":
            documents[2]["subsegments"].append(copy.deepcopy(repeat))
        else:
            documents.append(copy.deepcopy(documents[3]))
    invocation = only(analyze(trace(*documents) if trace_form else documents))
    assert [c.operation for c in invocation.calls].count("PutItem") == 1
    assert len(invocation.calls) == 2
