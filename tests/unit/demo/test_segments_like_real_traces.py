"""The runtime's segments have the fields, nesting and links of real Lambda traces (shared fixtures)."""

import json
from pathlib import Path
from typing import Any

from demo.lambda_runtime import LocalLambda
from demo.runtime_config import FunctionConfig
from tests.unit.demo.fake_environments import FakeEnvironments, fail, segments_by_origin

REAL_ASYNC_TRACE = "triggerbench-sb_event_processing_app_traces.json"  # SNS -> Lambda, newer format
HEADER = "Root=1-6745a1b0-00000000000000000000abcd;Parent=0102030405060708;Sampled=1"


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
    *, cold: bool, failing: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    segments: list[dict[str, Any]] = []
    environments = FakeEnvironments(script=fail) if failing else FakeEnvironments()
    with LocalLambda(None, segment_sink=segments.append, environment_factory=environments) as runtime:
        config = FunctionConfig(
            name="tc-pipeline", handler="handlers.pipeline.lambda_handler", max_retry_attempts=0
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
    """Field names, recursively for `aws` and `http`; subsegments by name."""
    described: dict[str, Any] = {}
    for key, value in part.items():
        if key == "subsegments":
            described[key] = {
                child["name"]: shape(child) for child in value if child.get("namespace") != "aws"
            }
        elif key in ("aws", "http") and isinstance(value, dict):
            described[key] = shape(value)
        else:
            described[key] = type(value).__name__
    return described


def test_the_service_segment_is_shaped_like_lambdas(xray_fixtures_dir: Path) -> None:
    real, _ = real_async_invocation(xray_fixtures_dir)
    local, _ = local_async_invocation(cold=True)
    assert shape(local) == shape(real)


def test_a_warm_function_segment_is_shaped_like_lambdas(xray_fixtures_dir: Path) -> None:
    _, real = real_async_invocation(xray_fixtures_dir)
    _, [local] = local_async_invocation(cold=False)
    real_shape, local_shape = shape(real), shape(local)
    # The real Invocation holds the function's calls (SQS there); the handler's own arrive via the daemon.
    real_shape["subsegments"]["Invocation"].pop("subsegments")
    assert local_shape == real_shape


def test_a_cold_start_adds_initialization_like_lambdas(xray_fixtures_dir: Path) -> None:
    trace = json.loads(
        (xray_fixtures_dir / "triggerbench-sb_realworld_app_missing_coldstart_traces.json").read_text()
    )
    documents = [json.loads(segment["Document"]) for segment in trace["Segments"]]
    [real] = segments_by_origin(documents, "AWS::Lambda::Function")
    _, [local] = local_async_invocation(cold=True)
    assert shape(local)["subsegments"]["Initialization"] == shape(real)["subsegments"]["Initialization"]
    assert sorted(shape(local)["subsegments"]) == sorted(shape(real)["subsegments"])


def test_a_function_error_is_flagged_like_lambdas(xray_fixtures_dir: Path) -> None:
    trace = json.loads(
        (xray_fixtures_dir / "triggerbench-sb_thumbnail_app_error_fault_throttle_traces.json").read_text()
    )
    documents = [json.loads(segment["Document"]) for segment in trace["Segments"]]
    [real] = [
        document
        for document in segments_by_origin(documents, "AWS::Lambda::Function")
        if document.get("error")
    ]
    _, [local] = local_async_invocation(cold=True, failing=True)
    assert local["error"] is real["error"] is True
    assert {"message", "type"} <= set(real["cause"]["exceptions"][0])
    assert set(local["cause"]["exceptions"][0]) == {"message", "type"}
