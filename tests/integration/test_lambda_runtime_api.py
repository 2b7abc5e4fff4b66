"""The local Runtime API against the real runtime interface client: awslambdaric in a fresh python3.13
process, on a package of its own (tests/integration/sample_function), as Lambda runs a function.

What each test expects is what Lambda and awslambdaric do: the context and `_X_AMZN_TRACE_ID` from the
`Lambda-Runtime-*` headers, Lambda's error objects (`Runtime.ImportModuleError: Unable to import module ...`),
`Sandbox.Timedout`, `Runtime.ExitError: ... exit status N`, `Function.ResponseSizeTooLarge`.
"""

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.lambda_runtime import LocalLambda
from demo.runtime_config import FaultInjection, FunctionConfig
from demo.runtime_environment import Environment, EnvironmentLostError
from demo.runtime_jobs import EnvironmentSpec, Job
from demo.runtime_python import FunctionPackages

SAMPLE_FUNCTION = Path(__file__).parent / "sample_function"
TRACE = "Root=1-6745a1b0-00000000000000000000abcd;Parent=0102030405060708;Sampled=1"


@pytest.fixture(scope="module")
def packages() -> FunctionPackages:
    return FunctionPackages()


def sample(handler: str, **settings: Any) -> FunctionConfig:
    return FunctionConfig(
        name="tc-sample", handler=f"sample.{handler}", code_root=SAMPLE_FUNCTION, memory_mb=256, **settings
    )


@pytest.fixture
def environments(packages: FunctionPackages) -> Iterator[list[Environment]]:
    made: list[Environment] = []
    yield made
    for environment in made:
        environment.stop()


def environment(
    packages: FunctionPackages, made: list[Environment], config: FunctionConfig
) -> tuple[Environment, Path]:
    task_root, runtime = packages.prepare(config)
    spec = EnvironmentSpec(
        function_name=config.name,
        handler=config.handler,
        environment=config.lambda_environment(None),
        memory_mb=config.memory_mb,
        timeout_seconds=config.timeout_seconds,
        faults=config.faults,
        function_arn=config.arn,
        task_root=task_root,
        runtime=runtime,
    )
    made.append(Environment(spec, len(made) + 1))
    return made[-1], task_root


def job(event: dict[str, Any], **settings: Any) -> Job:
    return Job(
        event=event, request_id=str(uuid.uuid4()), trace_header=TRACE, sequence=0, attempt=1, **settings
    )


def test_an_invocation_sees_what_lambda_gives_a_function(
    packages: FunctionPackages, environments: list[Environment]
) -> None:
    env, task_root = environment(packages, environments, sample("echo", timeout_seconds=20))
    request = job({"n": 1})
    result = env.run(request)

    assert result.error is None
    assert result.initialization is not None  # the first job: a cold start
    assert result.init_output == [f"sample: imported from {task_root}"]
    assert result.output == ["echo: {'n': 1}"]
    seen = json.loads(result.response or "null")
    assert seen["event"] == {"n": 1}
    assert seen["request_id"] == request.request_id
    assert seen["function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:tc-sample"
    assert 0 < seen["remaining_ms"] <= 20_000  # from Lambda-Runtime-Deadline-Ms
    assert seen["memory_limit_in_mb"] == "256"  # awslambdaric's, from the environment: a string
    assert seen["log_stream_name"].endswith(f"/[$LATEST]{seen['log_stream_name'][-32:]}")
    assert seen["trace_id"] == TRACE  # Lambda-Runtime-Trace-Id, as awslambdaric sets it
    assert (seen["task_root"], seen["cwd"]) == (str(task_root), str(task_root))
    assert seen["dont_write_bytecode"] is True  # the package stays as built: read-only on Lambda
    assert seen["version"] == [3, 13]
    # The package first, then the runtime's own packages, then the standard library: nothing else.
    runtime = packages.runtimes.runtime(packages.architecture)
    assert seen["sys_path"][:3] == [str(task_root), str(runtime.site_packages), str(runtime.directory)]
    assert all(Path(path).is_relative_to(Path(sys.base_prefix)) for path in seen["sys_path"][3:])
    assert not any("site-packages" in path for path in seen["sys_path"][3:])
    assert "AWS_LAMBDA_RUNTIME_API" in seen["environment"]
    for leaked in ("PYTHONPATH", "VIRTUAL_ENV", "_TRACECANARY_EMULATOR_FAULTS", "HOME"):
        assert leaked not in seen["environment"]
    # A warm start: the same process, no Init.
    again = env.run(job({"n": 2}))
    assert again.initialization is None
    assert again.init_output == []
    assert json.loads(again.response or "null")["event"] == {"n": 2}
    assert again.received_at <= again.invocation[1] <= again.finished_at
    assert again.max_memory_mb > 0


def test_a_handler_error_comes_back_as_lambda_reports_it(
    packages: FunctionPackages, environments: list[Environment]
) -> None:
    env, task_root = environment(packages, environments, sample("fail"))
    result = env.run(job({"records": 2}))

    assert result.response is None
    assert result.error is not None
    assert (result.error.error_type, result.error.message) == ("RecordsFailedError", "2 of 2 records failed")
    [frame] = result.error.stack_trace  # awslambdaric's: from the handler on, not its own frames
    assert frame.startswith(f'  File "{task_root}/sample.py", line ')
    assert frame.endswith(
        ", in fail\n    raise RecordsFailedError(f\"{event.get('records', 1)} of "
        "{event.get('records', 1)} records failed\")\n"
    )
    cause = result.error.cause
    assert cause is not None
    assert cause["working_directory"] == str(task_root)
    assert cause["paths"] == [f"{task_root}/sample.py"]
    [exception] = cause["exceptions"]
    assert (exception["type"], exception["message"]) == ("RecordsFailedError", "2 of 2 records failed")
    assert exception["stack"][0]["label"] == "fail"
    assert result.output[:3] == [
        "fail: about to raise",
        "[ERROR] RecordsFailedError: 2 of 2 records failed",
        "Traceback (most recent call last):",
    ]
    assert env.usable  # a handler error leaves the environment as it was
    assert env.run(job({"records": 1})).initialization is None


def test_an_init_error_fails_the_job_and_ends_the_environment(
    packages: FunctionPackages, environments: list[Environment]
) -> None:
    config = sample("echo", environment={"SAMPLE_IMPORT_FAILS": "1"})
    env, _ = environment(packages, environments, config)
    result = env.run(job({}))

    message = "Unable to import module 'sample': No module named 'not_in_the_package'"
    assert result.init_error
    assert result.error is not None
    assert (result.error.error_type, result.error.message) == ("Runtime.ImportModuleError", message)
    assert result.initialization is not None
    assert result.initialization[0] < result.initialization[1]
    assert f"[ERROR] Runtime.ImportModuleError: {message}" in result.init_output
    assert result.init_output[-1] == "Traceback (most recent call last):"
    assert not env.usable
    assert env.pid is not None
    assert not Path(f"/proc/{env.pid}").exists() or "zombie" in Path(f"/proc/{env.pid}/status").read_text()


def test_a_timed_out_invocation_ends_its_environment(
    packages: FunctionPackages, environments: list[Environment]
) -> None:
    env, _ = environment(packages, environments, sample("sleep", timeout_seconds=1.0))
    env.run(job({"seconds": 0}))  # warm it up: the timeout is the invocation's, not the Init's
    with pytest.raises(EnvironmentLostError) as lost:
        env.run(job({"seconds": 30}))
    assert (lost.value.error.error_type, lost.value.error.message) == (
        "Sandbox.Timedout",
        "Task timed out after 1.00 seconds",
    )
    assert not env.usable


def test_a_runtime_that_exits_is_a_runtime_exit_error(
    packages: FunctionPackages, environments: list[Environment]
) -> None:
    env, _ = environment(packages, environments, sample("exit_now"))
    request = job({"status": 3})
    with pytest.raises(EnvironmentLostError) as lost:
        env.run(request)
    assert lost.value.error.error_type == "Runtime.ExitError"
    assert (
        lost.value.error.message
        == f"RequestId: {request.request_id} Error: Runtime exited with error: exit status 3"
    )


def test_too_large_a_response_fails_the_invocation(
    packages: FunctionPackages, environments: list[Environment]
) -> None:
    env, _ = environment(packages, environments, sample("big"))
    result = env.run(job({"bytes": 7 * 1024 * 1024}))
    assert result.error is not None
    assert result.error.error_type == "Function.ResponseSizeTooLarge"
    assert result.error.message.endswith("exceeded maximum allowed payload size (6291556 bytes).")
    assert not env.usable  # awslambdaric gives up on a refused response: the process ends


def test_an_injected_function_error_replaces_the_handler(
    packages: FunctionPackages, environments: list[Environment]
) -> None:
    env, _ = environment(packages, environments, sample("echo", faults=FaultInjection(error=1.0)))
    result = env.run(job({"n": 1}, injected_error=True))
    assert result.error is not None
    assert (result.error.error_type, result.error.message) == (
        "InjectedFunctionError",
        "injected function error (attempt 1)",
    )
    assert result.output[0] == "[ERROR] InjectedFunctionError: injected function error (attempt 1)"
    assert not any(line.startswith("echo:") for line in result.output)  # the handler never ran
    assert env.run(job({"n": 2})).error is None  # not picked: the handler runs


def test_the_service_logs_read_like_cloudwatch(packages: FunctionPackages) -> None:
    lines: list[str] = []
    with LocalLambda(None, lambda _name, line: lines.append(line), packages=packages) as runtime:
        runtime.add_function(sample("fail", max_retry_attempts=0), destination=lambda _record: None)
        request_id = runtime.invoke_async("tc-sample", {"records": 1})
        assert runtime.drain(timeout=30)
        [outcome] = runtime.outcomes()
    assert outcome.status == "failed"
    assert lines[0].startswith("INIT_START Runtime Version: python:3.13.local\tRuntime: awslambdaric ")
    assert lines[1].startswith("sample: imported from ")
    assert lines[2:6] == [
        f"START RequestId: {request_id} Version: $LATEST",
        "fail: about to raise",
        "[ERROR] RecordsFailedError: 1 of 1 records failed",
        "Traceback (most recent call last):",
    ]
    assert f"END RequestId: {request_id}" in lines
    [report] = [line for line in lines if line.startswith("REPORT ")]
    assert "\tInit Duration: " in report
    assert "Status:" not in report  # a handler error: the invocation itself ran
