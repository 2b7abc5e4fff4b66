"""The runtime's segments have the fields, nesting and links of real Lambda traces.

v1 against the shared fixtures (real traces, 2020-2022); v2 against the one complete real new-style function
segment seen (below).
"""

import json
from pathlib import Path
from typing import Any

import pytest

from demo.lambda_runtime import LocalLambda
from demo.runtime_config import FunctionConfig, TraceFormat
from tests.unit.demo.fake_environments import FakeEnvironments, fail, segments_by_origin

REAL_ASYNC_TRACE = "triggerbench-sb_event_processing_app_traces.json"  # SNS -> Lambda, newer v1 format
HEADER = "Root=1-6745a1b0-00000000000000000000abcd;Parent=0102030405060708;Sampled=1"
# A real v2 function segment (2024, Node.js, with an extension; a synchronous invoke, so its parent is the
# `AWS::Lambda` segment), as a public repository replays it to an X-Ray daemon over UDP.
REAL_V2_FUNCTION_SEGMENT: dict[str, Any] = json.loads(
    '{"id":"e6a9e00f59b508c8","name":"nodejs-example-telemetry-api-demo-function",'
    '"start_time":1.723848013136204E9,"trace_id":"1-66bfd54d-6b379b8727b6273f7675338c",'
    '"end_time":1.723848013789384E9,"parent_id":"7e0e6d81ae4a5aa2",'
    '"aws":{"cloudwatch_logs":[{"log_group":"/aws/lambda/nodejs-example-telemetry-api-demo-function"}]},'
    '"annotations":{"aws:responseLatency":264.19,"aws:runtimeOverhead":58.198,'
    '"aws:extensionOverhead":330.277,"aws:responseDuration":0.074},"origin":"AWS::Lambda::Function",'
    '"subsegments":[{"id":"4fe597356c183c04","name":"Overhead","start_time":1.7238480133990002E9,'
    '"end_time":1.723848013787277E9}]}'
)


def real_async_invocation(fixtures: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    trace = json.loads((fixtures / REAL_ASYNC_TRACE).read_text())
    documents = [json.loads(segment["Document"]) for segment in trace["Segments"]]
    [service] = [
        document
        for document in segments_by_origin(documents, "AWS::Lambda")
        if any(part["name"] == "Dwell Time" for part in document.get("subsegments", []))
    ]
    attempt_ids = {part["id"] for part in service["subsegments"]}
    [function] = [
        document
        for document in segments_by_origin(documents, "AWS::Lambda::Function")
        if document["parent_id"] in attempt_ids
    ]
    return service, function


def local_async_invocation(
    *,
    cold: bool,
    trace_format: TraceFormat,
    failing: bool = False,
    extension_overhead_ms: float = 0.0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    segments: list[dict[str, Any]] = []
    environments = FakeEnvironments(script=fail) if failing else FakeEnvironments()
    with LocalLambda(None, segment_sink=segments.append, environment_factory=environments) as runtime:
        config = FunctionConfig(
            name="tc-pipeline",
            handler="handlers.pipeline.lambda_handler",
            max_retry_attempts=0,
            trace_format=trace_format,
            extension_overhead_ms=extension_overhead_ms,
        )
        runtime.add_function(config, destination=lambda _record: None)
        runtime.invoke_async("tc-pipeline", {}, HEADER)
        assert runtime.drain(timeout=10)
        if not cold:
            runtime.invoke_async("tc-pipeline", {}, HEADER)
            assert runtime.drain(timeout=10)
    services = segments_by_origin(segments, "AWS::Lambda")
    functions = segments_by_origin(segments, "AWS::Lambda::Function")
    return services[-1], [
        function for function in functions if function["trace_id"] == services[-1]["trace_id"]
    ][-1:]


def shape(part: dict[str, Any]) -> dict[str, Any]:
    """Field names, recursively for `aws`, `http` and `annotations`; subsegments by name."""
    described: dict[str, Any] = {}
    for key, value in part.items():
        if key == "subsegments":
            described[key] = {
                child["name"]: shape(child) for child in value if child.get("namespace") != "aws"
            }
        elif key in ("aws", "http", "annotations") and isinstance(value, dict):
            described[key] = shape(value)
        else:
            described[key] = type(value).__name__
    return described


@pytest.mark.parametrize("trace_format", ["v1", "v2"])
def test_the_service_segment_is_shaped_like_lambdas(
    xray_fixtures_dir: Path, trace_format: TraceFormat
) -> None:
    real, _ = real_async_invocation(xray_fixtures_dir)
    local, _ = local_async_invocation(cold=True, trace_format=trace_format)
    assert shape(local) == shape(real)


def test_a_warm_v1_function_segment_is_shaped_like_lambdas(xray_fixtures_dir: Path) -> None:
    _, real = real_async_invocation(xray_fixtures_dir)
    _, [local] = local_async_invocation(cold=False, trace_format="v1")
    real_shape, local_shape = shape(real), shape(local)
    # The real Invocation holds the function's calls (SQS there); the handler's own arrive via the daemon.
    real_shape["subsegments"]["Invocation"].pop("subsegments")
    assert local_shape == real_shape


def test_a_v1_cold_start_adds_initialization_like_lambdas(xray_fixtures_dir: Path) -> None:
    trace = json.loads(
        (xray_fixtures_dir / "triggerbench-sb_realworld_app_missing_coldstart_traces.json").read_text()
    )
    documents = [json.loads(segment["Document"]) for segment in trace["Segments"]]
    [real] = segments_by_origin(documents, "AWS::Lambda::Function")
    _, [local] = local_async_invocation(cold=True, trace_format="v1")
    assert shape(local)["subsegments"]["Initialization"] == shape(real)["subsegments"]["Initialization"]
    assert sorted(shape(local)["subsegments"]) == sorted(shape(real)["subsegments"])


@pytest.mark.parametrize("trace_format", ["v1", "v2"])
def test_a_function_error_is_flagged_like_lambdas(xray_fixtures_dir: Path, trace_format: TraceFormat) -> None:
    trace = json.loads(
        (xray_fixtures_dir / "triggerbench-sb_thumbnail_app_error_fault_throttle_traces.json").read_text()
    )
    documents = [json.loads(segment["Document"]) for segment in trace["Segments"]]
    [real] = [
        document
        for document in segments_by_origin(documents, "AWS::Lambda::Function")
        if document.get("error")
    ]
    _, [local] = local_async_invocation(cold=True, trace_format=trace_format, failing=True)
    assert local["error"] is real["error"] is True
    assert {"message", "type"} <= set(real["cause"]["exceptions"][0])
    assert set(local["cause"]["exceptions"][0]) == {"message", "type"}


def test_a_warm_v2_function_segment_with_an_extension_is_shaped_like_lambdas() -> None:
    _, [local] = local_async_invocation(cold=False, trace_format="v2", extension_overhead_ms=1.0)
    assert shape(local) == shape(REAL_V2_FUNCTION_SEGMENT)


def test_without_an_extension_a_v2_segment_has_no_extension_overhead() -> None:
    _, [local] = local_async_invocation(cold=False, trace_format="v2")
    expected = shape(REAL_V2_FUNCTION_SEGMENT)
    del expected["annotations"]["aws:extensionOverhead"]
    assert shape(local) == expected


def test_a_v2_cold_start_adds_init_before_the_segment() -> None:
    _, [local] = local_async_invocation(cold=True, trace_format="v2")
    assert [part["name"] for part in local["subsegments"]] == ["Init", "Overhead"]
    init = local["subsegments"][0]
    assert init["end_time"] <= local["start_time"]
    assert set(init) == set(REAL_V2_FUNCTION_SEGMENT["subsegments"][0])  # a phase as bare as Overhead


def durations_add_up(function: dict[str, Any], tolerance_ms: float) -> None:
    """The layout of the real example: handler, Overhead (runtime + extension), then the response."""
    annotations = function["annotations"]
    [overhead] = [part for part in function["subsegments"] if part["name"] == "Overhead"]
    ms = 1000
    assert (function["end_time"] - function["start_time"]) * ms == pytest.approx(
        sum(annotations.values()), abs=tolerance_ms
    )
    assert (overhead["start_time"] - function["start_time"]) * ms == pytest.approx(
        annotations["aws:responseLatency"], abs=tolerance_ms
    )
    assert (overhead["end_time"] - overhead["start_time"]) * ms == pytest.approx(
        annotations["aws:runtimeOverhead"] + annotations.get("aws:extensionOverhead", 0), abs=tolerance_ms
    )
    assert (function["end_time"] - overhead["end_time"]) * ms == pytest.approx(
        annotations["aws:responseDuration"], abs=tolerance_ms
    )


def test_the_real_v2_example_adds_up_to_within_a_few_milliseconds() -> None:
    # 653.180 ms of segment against 652.739 ms of annotations; Overhead starts 262.796 ms in (264.19),
    # lasts 388.277 ms (58.198 + 330.277), and the segment ends 2.107 ms after it (0.074).
    durations_add_up(REAL_V2_FUNCTION_SEGMENT, tolerance_ms=2.1)


@pytest.mark.parametrize("extension_overhead_ms", [0.0, 5.0])
def test_local_v2_segments_add_up_to_within_rounding(extension_overhead_ms: float) -> None:
    for cold in (True, False):
        _, [local] = local_async_invocation(
            cold=cold, trace_format="v2", extension_overhead_ms=extension_overhead_ms
        )
        durations_add_up(local, tolerance_ms=0.002)
        assert local["annotations"].get("aws:extensionOverhead", 0) >= extension_overhead_ms
