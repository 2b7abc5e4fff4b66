"""Lambda's new-style (v2) function segments, one rule a test, on small hand-made traces.

v2 (DESIGN.md, "Lambda's two trace formats"): no `Invocation`; the handler's subsegments on the function
segment; cold start `Init` (before the segment's start); an `Overhead`; the annotations
`aws:responseLatency`, `aws:runtimeOverhead`, `aws:extensionOverhead`, `aws:responseDuration` (ms).
"""

from typing import Any

import pytest

from tests.unit.traces.helpers import TRACE_ID, function_segment, only, part, sdk_call, segment, trace
from traces.analysis import analyze

FUNCTION_ID = "e6a9e00f59b508c8"
SERVICE_ID = "7e0e6d81ae4a5aa2"


def real_example(**changes: Any) -> dict[str, Any]:
    """The one complete real v2 function segment seen (2024, Node.js, with an extension), its numbers kept:
    segment 1723848013.136204 -> .789384 (653.18 ms), `Overhead` .3990002 -> .787277 (388.277 ms)."""
    document = function_segment(
        FUNCTION_ID,
        1723848013.136204,
        1723848013.789384,
        name="nodejs-example-telemetry-api-demo-function",
        parent_id=SERVICE_ID,
        aws={"cloudwatch_logs": [{"log_group": "/aws/lambda/nodejs-example-telemetry-api-demo-function"}]},
        annotations={
            "aws:responseLatency": 264.19,
            "aws:runtimeOverhead": 58.198,
            "aws:extensionOverhead": 330.277,
            "aws:responseDuration": 0.074,
        },
        subsegments=[part("4fe597356c183c04", "Overhead", 1723848013.3990002, 1723848013.787277)],
    )
    document.update(changes)
    return document


def sync_service() -> dict[str, Any]:
    # The sync invoke's AWS::Lambda segment of the same example: 1723848013.128 -> .791, no subsegments.
    return segment(
        SERVICE_ID,
        "nodejs-example-telemetry-api-demo-function",
        1723848013.128,
        1723848013.791,
        origin="AWS::Lambda",
        http={"response": {"status": 200}},
    )


def test_the_real_example_handler_time_is_the_response_latency_not_the_segment() -> None:
    invocation = only(analyze(trace(sync_service(), real_example())))
    assert invocation.format == "v2"
    assert invocation.function == "nodejs-example-telemetry-api-demo-function"  # no ARN in the document
    assert invocation.invocation_ms == 264.19  # aws:responseLatency, not the segment's 653.18 ms
    assert invocation.runtime_overhead_ms == 58.198
    assert invocation.extension_overhead_ms == 330.277
    assert invocation.response_duration_ms == 0.074
    assert invocation.overhead_ms == pytest.approx(388.277, abs=1e-3)  # .3990002 -> .787277
    assert invocation.cold_start is False
    assert invocation.init_ms is None
    assert invocation.attempts == 0  # its sync service segment matched by parent_id alone
    assert invocation.complete is True
    assert invocation.function_error is False


def test_the_dot_spelling_of_the_annotations_reads_the_same() -> None:
    annotations = {
        "aws.responseLatency": 264.19,
        "aws.runtimeOverhead": 58.198,
        "aws.extensionOverhead": 330.277,
        "aws.responseDuration": 0.074,
    }
    colon = only(analyze(trace(sync_service(), real_example())))
    dot = only(analyze(trace(sync_service(), real_example(annotations=annotations))))
    assert dot == colon


def test_each_annotation_is_optional_and_only_the_extension_one_is_often_absent() -> None:
    annotations = {"aws:responseLatency": 12.5, "aws:runtimeOverhead": 1.25, "aws:responseDuration": 0.5}
    invocation = only(analyze(real_example(annotations=annotations)))
    assert (invocation.format, invocation.invocation_ms) == ("v2", 12.5)
    assert invocation.extension_overhead_ms is None
    assert (invocation.runtime_overhead_ms, invocation.response_duration_ms) == (1.25, 0.5)


def test_without_response_latency_a_v2_handler_runs_until_overhead_starts() -> None:
    # Only aws:runtimeOverhead: v2. Handler = segment start 1723848013.136204 -> Overhead start .3990002.
    invocation = only(analyze(real_example(annotations={"aws:runtimeOverhead": 58.198})))
    assert invocation.format == "v2"
    assert invocation.invocation_ms == pytest.approx(262.796, abs=1e-3)
    assert invocation.response_duration_ms is None


def test_an_init_subsegment_alone_makes_a_v2_cold_start() -> None:
    # No annotations: `Init` 9.2 -> 9.9 (before the segment's start 10.0), Overhead from 10.45.
    init = part("i000000000000001", "Init", 9.2, 9.9)
    call = sdk_call("c000000000000001", "DynamoDB", "PutItem", 10.1, 10.3, table_name="items")
    overhead = part("o000000000000001", "Overhead", 10.45, 10.5)
    invocation = only(analyze(function_segment(FUNCTION_ID, 10.0, 10.5, subsegments=[init, call, overhead])))
    assert invocation.format == "v2"
    assert invocation.cold_start is True
    assert invocation.init_ms == pytest.approx(700.0)  # 9.2 -> 9.9
    assert invocation.invocation_ms == pytest.approx(450.0)  # 10.0 -> Overhead 10.45
    assert invocation.overhead_ms == pytest.approx(50.0)
    # The handler's subsegments hang off the function segment itself in v2.
    assert [(c.service, c.operation, c.resource) for c in invocation.calls] == [
        ("DynamoDB", "PutItem", "items")
    ]


def test_an_init_on_the_service_segment_is_a_cold_start_too() -> None:
    service = segment(
        SERVICE_ID,
        "fn",
        9.0,
        10.6,
        origin="AWS::Lambda",
        subsegments=[part("i000000000000001", "Init", 9.1, 9.95)],
    )
    function = function_segment(
        FUNCTION_ID, 10.0, 10.5, parent_id=SERVICE_ID, annotations={"aws:responseLatency": 400}
    )
    invocation = only(analyze([service, function]))
    assert invocation.cold_start is True
    assert invocation.init_ms == pytest.approx(850.0)  # the service's Init 9.1 -> 9.95
    assert invocation.invocation_ms == 400.0
    assert invocation.format == "v2"  # from the function segment's annotation, not from the service's Init


def test_the_function_segments_own_init_wins_over_the_services() -> None:
    service = segment(
        SERVICE_ID, "fn", 9.0, 10.6, origin="AWS::Lambda", subsegments=[part("i1", "Init", 9.1, 9.95)]
    )
    own = part("i2", "Init", 9.5, 9.9)
    function = function_segment(FUNCTION_ID, 10.0, 10.5, parent_id=SERVICE_ID, subsegments=[own])
    invocation = only(analyze([service, function]))
    assert invocation.init_ms == pytest.approx(400.0)  # 9.5 -> 9.9


def test_the_invocation_subsegment_wins_over_the_annotation() -> None:
    # A v1 segment that also carries aws:responseLatency (both may coexist while Lambda moves over).
    invocation_phase = part("v000000000000001", "Invocation", 10.0, 10.3)
    function = function_segment(
        FUNCTION_ID, 10.0, 10.5, annotations={"aws:responseLatency": 999.0}, subsegments=[invocation_phase]
    )
    invocation = only(analyze(function))
    assert invocation.format == "v2"  # it carries an annotation
    assert invocation.invocation_ms == pytest.approx(300.0)


def test_restore_is_a_snapstart_cold_start_in_either_style() -> None:
    restore = part("r000000000000001", "Restore", 9.6, 9.9)
    invocation = only(analyze(real_example(subsegments=[restore])))
    assert (invocation.cold_start, invocation.init_ms) == (True, pytest.approx(300.0))


@pytest.mark.parametrize("bad", [-1.0, "n/a", None, True, [264.19], {"ms": 1}, float("nan")])
def test_an_unusable_annotation_value_is_missing_not_a_number(bad: object) -> None:
    # A JSON true is no number; a negative one no duration. The segment still carries the key: v2.
    annotations = {"aws:responseLatency": bad, "aws:runtimeOverhead": bad}
    invocation = only(analyze(real_example(annotations=annotations)))
    assert invocation.format == "v2"
    assert invocation.runtime_overhead_ms is None
    # No usable response latency: from the segment's start to Overhead's start.
    assert invocation.invocation_ms == pytest.approx(262.796, abs=1e-3)


def test_numeric_text_is_read_as_milliseconds() -> None:
    invocation = only(analyze(real_example(annotations={"aws:responseLatency": "264.19"})))
    assert invocation.invocation_ms == 264.19


def test_an_error_on_a_v2_function_segment_is_a_function_error() -> None:
    invocation = only(analyze(real_example(error=True)))
    assert invocation.function_error is True


def test_v1_segments_stay_v1_with_no_new_fields() -> None:
    phases = [part("i1", "Initialization", 9.0, 9.9), part("v1", "Invocation", 10.0, 10.3)]
    invocation = only(analyze(function_segment(FUNCTION_ID, 10.0, 10.5, subsegments=phases)))
    assert invocation.format == "v1"
    assert (invocation.cold_start, invocation.invocation_ms) == (True, pytest.approx(300.0))
    assert (invocation.runtime_overhead_ms, invocation.extension_overhead_ms) == (None, None)
    assert invocation.response_duration_ms is None


def test_a_trace_id_is_kept_for_documents_without_an_arn() -> None:
    invocation = only(analyze(trace(real_example())))
    assert invocation.trace_id == TRACE_ID
