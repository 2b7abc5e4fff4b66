"""The function segment in both of Lambda's formats, built from one attempt whose times are worked by hand.

The attempt (epoch seconds, from 100.000): the event leaves the queue at .000; a cold start's init from
.010 to .200 (so the function segment starts at .200); the handler from .205 to .450; the runtime's own work
until .500; the response reaches the service at .502; an extension works until .562.
In v2 that is: responseLatency .200 -> .450 = 250 ms, runtimeOverhead .450 -> .500 = 50 ms,
extensionOverhead 60 ms, responseDuration 2 ms; Overhead from .450 for 50 + 60 ms, to .560; the segment ends
2 ms later, at .562: 362 ms = 250 + 50 + 60 + 2.
"""

from typing import Any

import pytest

from demo.lambda_segments import Attempt, function_segment, handler_parent_id, sdk_call_subsegment
from demo.runtime_config import TraceFormat

TRACE = "1-6745a1b0-00000000000000000000abcd"
FUNCTION = "tc-pipeline"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"


def attempt(*, cold: bool, extension: bool, error: str | None = None, **more: Any) -> Attempt:
    return Attempt(
        interval=(100.000, 100.562 if extension else 100.502),
        function=(100.200 if cold else 100.001, 100.500),
        invocation=(100.205, 100.450),
        overhead=(100.450, 100.500),
        initialization=(100.010, 100.200) if cold else None,
        response=(100.500, 100.502),
        extension=(100.502, 100.562) if extension else None,
        error=error,
        attempt_id="a000000000000001",
        segment_id="f000000000000001",
        invocation_id="1000000000000001",
        **more,
    )


def segment(trace_format: TraceFormat, **attempt_settings: Any) -> dict[str, Any]:
    return function_segment(
        trace_id=TRACE,
        function_name=FUNCTION,
        function_arn=FUNCTION_ARN,
        attempt=attempt(**attempt_settings),
        trace_format=trace_format,
    )


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {part["name"]: part for part in document.get("subsegments", [])}


def duration_ms(part: dict[str, Any]) -> float:
    start: float = part["start_time"]
    end: float = part["end_time"]
    return (end - start) * 1000


def test_a_cold_v2_segment_has_init_overhead_and_the_four_annotations() -> None:
    document = segment("v2", cold=True, extension=True)

    assert document["id"] == "f000000000000001"
    assert document["parent_id"] == "a000000000000001"  # the Attempt #N subsegment
    assert document["origin"] == "AWS::Lambda::Function"
    assert document["aws"] == {"cloudwatch_logs": [{"log_group": f"/aws/lambda/{FUNCTION}"}]}
    assert document["annotations"] == {
        "aws:responseLatency": 250.0,
        "aws:runtimeOverhead": 50.0,
        "aws:extensionOverhead": 60.0,
        "aws:responseDuration": 2.0,
    }
    parts = by_name(document)
    assert list(parts) == ["Init", "Overhead"]  # no Invocation in the new style
    init, overhead = parts["Init"], parts["Overhead"]
    assert (init["start_time"], init["end_time"]) == (100.010, 100.200)
    assert init["end_time"] <= document["start_time"]  # a cold start lies before the segment's own start
    assert document["start_time"] == 100.200
    assert overhead["start_time"] == pytest.approx(document["start_time"] + 0.250)
    assert duration_ms(overhead) == pytest.approx(50 + 60)
    assert document["end_time"] == pytest.approx(overhead["end_time"] + 0.002)
    assert duration_ms(document) == pytest.approx(sum(document["annotations"].values()), abs=0.002)
    assert set(overhead) == {"id", "name", "start_time", "end_time"}  # as in the real example


def test_a_warm_v2_segment_without_an_extension_has_three_annotations() -> None:
    document = segment("v2", cold=False, extension=False)

    # Warm: the segment starts when the environment got the event (.001), the handler returned at .450.
    assert document["annotations"] == {
        "aws:responseLatency": 449.0,
        "aws:runtimeOverhead": 50.0,
        "aws:responseDuration": 2.0,
    }
    parts = by_name(document)
    assert list(parts) == ["Overhead"]
    assert parts["Overhead"]["start_time"] == pytest.approx(document["start_time"] + 0.449)
    assert duration_ms(parts["Overhead"]) == pytest.approx(50)
    assert duration_ms(document) == pytest.approx(449 + 50 + 2)
    assert "function_arn" not in document["aws"]
    assert "error" not in document


def test_v2_puts_the_handlers_subsegments_on_the_segment_itself() -> None:
    put_item = sdk_call_subsegment(
        service="DynamoDB", operation="PutItem", interval=(100.300, 100.320), table_name="items"
    )
    document = segment("v2", cold=True, extension=False, handler_subsegments=[put_item])
    assert [part["name"] for part in document["subsegments"]] == ["Init", "DynamoDB", "Overhead"]


def test_a_failed_v2_attempt_flags_the_segment() -> None:
    document = segment("v2", cold=False, extension=False, error="1 of 1 records failed")
    assert document["error"] is True
    assert document["cause"] == {"exceptions": [{"message": "1 of 1 records failed", "type": "Error"}]}
    assert list(by_name(document)) == ["Overhead"]
    assert "error" not in by_name(document)["Overhead"]


def test_a_lost_environment_in_v2_is_all_response_latency() -> None:
    # A timeout: the service knows when the try began and ended, nothing of the runtime's phases.
    lost = Attempt(
        interval=(100.0, 103.0),
        function=(100.0, 103.0),
        invocation=(100.0, 103.0),
        error="Task timed out after 3.00 seconds",
        error_type="Sandbox.Timedout",
    )
    document = function_segment(
        trace_id=TRACE, function_name=FUNCTION, function_arn=FUNCTION_ARN, attempt=lost, trace_format="v2"
    )
    assert document["annotations"] == {"aws:responseLatency": 3000.0}
    assert "subsegments" not in document
    assert (document["start_time"], document["end_time"]) == (100.0, 103.0)
    assert document["cause"]["exceptions"][0]["type"] == "Sandbox.Timedout"


def test_v1_keeps_invocation_and_the_arn() -> None:
    document = segment("v1", cold=True, extension=False, error="boom")
    parts = by_name(document)
    assert list(parts) == ["Initialization", "Invocation", "Overhead"]
    assert parts["Invocation"]["id"] == "1000000000000001"
    assert parts["Invocation"]["error"] is True
    assert (parts["Invocation"]["start_time"], parts["Invocation"]["end_time"]) == (100.205, 100.450)
    assert (document["start_time"], document["end_time"]) == (100.200, 100.500)
    assert document["aws"] == {
        "account_id": "123456789012",
        "function_arn": FUNCTION_ARN,
        "resource_names": [FUNCTION],
    }
    assert "annotations" not in document
    assert all(part["aws"] == {"function_arn": FUNCTION_ARN} for part in parts.values())


def test_v1_overhead_lasts_until_an_extension_is_done() -> None:
    # The old style's Overhead runs until the environment may take the next event: 50 + 60 ms.
    document = segment("v1", cold=False, extension=True)
    overhead = by_name(document)["Overhead"]
    assert overhead["start_time"] == 100.450
    assert overhead["end_time"] == pytest.approx(100.560)
    assert document["end_time"] == pytest.approx(100.560)


@pytest.mark.parametrize(("trace_format", "parent"), [("v1", "1000000000000001"), ("v2", "f000000000000001")])
def test_the_handlers_parent_is_invocation_in_v1_and_the_segment_in_v2(
    trace_format: TraceFormat, parent: str
) -> None:
    assert handler_parent_id(attempt(cold=False, extension=False), trace_format) == parent
