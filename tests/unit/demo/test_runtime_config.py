"""Function settings, the environment Lambda sets, retry delays and fault injection."""

from pathlib import Path
from typing import Any

import pytest

from demo.runtime_config import FaultInjection, FunctionConfig, parse_faults, retry_delays


def test_inject_flag_parses_any_subset() -> None:
    faults = parse_faults("throttle=0.1, error=0.05,drop=0.02", seed=7)
    assert (faults.throttle, faults.error, faults.drop, faults.seed) == (0.1, 0.05, 0.02, 7)
    assert parse_faults("error=1").error == 1.0
    assert not parse_faults("").any


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("slow=0.1", "expected throttle=P"),
        ("error", "expected throttle=P"),
        ("error=lots", "is not a number"),
        ("drop=1.5", "between 0 and 1"),
        ("throttle=-0.1", "between 0 and 1"),
    ],
)
def test_bad_inject_flags_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_faults(text)


def test_fault_decisions_are_seeded_and_independent_of_order() -> None:
    faults = FaultInjection(error=0.3, seed=42)
    forward = [faults.decides("error", "f", sequence, 1) for sequence in range(500)]
    backward = [faults.decides("error", "f", sequence, 1) for sequence in reversed(range(500))]
    assert forward == backward[::-1]
    assert 100 < sum(forward) < 200  # about 30 %
    other_seed = FaultInjection(error=0.3, seed=43)
    assert forward != [other_seed.decides("error", "f", sequence, 1) for sequence in range(500)]
    # Each attempt of an event is decided anew, so a retry can succeed.
    assert [faults.decides("error", "f", 0, attempt) for attempt in range(1, 50)].count(False) > 0


def test_certain_and_impossible_faults() -> None:
    faults = FaultInjection(drop=1.0)
    assert all(faults.decides("drop", "f", sequence) for sequence in range(50))
    assert not any(faults.decides("error", "f", sequence) for sequence in range(50))


def test_retries_wait_longer_each_time_like_lambdas_one_then_two_minutes() -> None:
    assert retry_delays(2, 60.0) == [60.0, 120.0]
    assert retry_delays(2, 0.1) == [0.1, 0.2]
    assert retry_delays(0, 0.1) == []


def test_function_config_checks_what_lambda_checks() -> None:
    with pytest.raises(ValueError, match=r"module\.function"):
        FunctionConfig(name="f", handler="lambda_handler")
    with pytest.raises(ValueError, match="0 to 2"):
        FunctionConfig(name="f", handler="handlers.pipeline.lambda_handler", max_retry_attempts=3)
    with pytest.raises(ValueError, match="at least 1"):
        FunctionConfig(name="f", handler="handlers.pipeline.lambda_handler", concurrency=0)


def test_layers_are_a_tuple_of_folders_none_by_default() -> None:
    assert FunctionConfig(name="f", handler="handlers.pipeline.lambda_handler").layers == ()
    layers = (Path("layers/opentelemetry"),)
    assert (
        FunctionConfig(name="f", handler="handlers.pipeline_otel.lambda_handler", layers=layers).layers
        == layers
    )
    with pytest.raises(ValueError, match="a tuple of layer folders"):
        FunctionConfig(name="f", handler="handlers.pipeline.lambda_handler", layers=Path("layers/x"))  # type: ignore[arg-type]


def test_functions_trace_in_the_new_style_without_an_extension_unless_told() -> None:
    config = FunctionConfig(name="f", handler="handlers.pipeline.lambda_handler")
    assert (config.trace_format, config.extension_overhead_ms) == ("v2", 0.0)
    old_style = FunctionConfig(
        name="f", handler="handlers.pipeline.lambda_handler", trace_format="v1", extension_overhead_ms=25
    )
    assert (old_style.trace_format, old_style.extension_overhead_ms) == ("v1", 25)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"trace_format": "v3"}, "trace_format 'v3': expected v1 or v2"),
        ({"extension_overhead_ms": -1.0}, "0 or more milliseconds"),
        ({"extension_overhead_ms": float("nan")}, "0 or more milliseconds"),
        ({"extension_overhead_ms": float("inf")}, "0 or more milliseconds"),
    ],
)
def test_bad_trace_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FunctionConfig(name="f", handler="handlers.pipeline.lambda_handler", **settings)


def test_the_environment_is_lambdas_then_the_functions_own() -> None:
    config = FunctionConfig(
        name="tc-pipeline",
        handler="handlers.pipeline.lambda_handler",
        environment={"ITEMS_TABLE_NAME": "items", "AWS_LAMBDA_FUNCTION_NAME": "not-allowed"},
        memory_mb=256,
    )
    variables = config.lambda_environment("127.0.0.1:2000")
    assert variables["ITEMS_TABLE_NAME"] == "items"
    assert variables["AWS_LAMBDA_FUNCTION_NAME"] == "tc-pipeline"  # reserved: Lambda's value wins
    assert variables["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert variables["_HANDLER"] == "handlers.pipeline.lambda_handler"
    assert variables["LAMBDA_TASK_ROOT"]  # Powertools Tracer runs in Lambda mode only where this is set
    assert variables["AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1:2000"
    assert (variables["_AWS_XRAY_DAEMON_ADDRESS"], variables["_AWS_XRAY_DAEMON_PORT"]) == (
        "127.0.0.1",
        "2000",
    )
    assert "_X_AMZN_TRACE_ID" not in variables  # set per invocation
    assert config.arn == "arn:aws:lambda:us-east-1:123456789012:function:tc-pipeline"


def test_without_tracing_there_is_no_daemon() -> None:
    config = FunctionConfig(name="f", handler="handlers.pipeline.lambda_handler", tracing=False)
    assert "AWS_XRAY_DAEMON_ADDRESS" not in config.lambda_environment("127.0.0.1:2000")
