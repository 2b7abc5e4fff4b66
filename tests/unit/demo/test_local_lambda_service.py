"""The local Lambda service's scheduling, retries, destination and segments, with fake environments."""

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from demo.lambda_runtime import LocalLambda, TraceHeader
from demo.runtime_config import FaultInjection, FunctionConfig, TraceFormat
from demo.runtime_environment import EnvironmentLostError
from demo.runtime_jobs import ErrorInfo, Job
from tests.unit.demo.fake_environments import FakeEnvironments, fail, segments_by_origin
from traces.analysis import analyze

TRACE = "1-6745a1b0-00000000000000000000abcd"
PUT_OBJECT = "0102030405060708"
HEADER = f"Root={TRACE};Parent={PUT_OBJECT};Sampled=1"
BOTH_FORMATS = pytest.mark.parametrize("trace_format", ["v1", "v2"])


class Recorder:
    """Everything the runtime emits: segments, log lines, on-failure records."""

    def __init__(self) -> None:
        self.segments: list[dict[str, Any]] = []
        self.lines: list[tuple[str, str]] = []
        self.failures: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def segment(self, document: dict[str, Any]) -> None:
        with self._lock:
            self.segments.append(json.loads(json.dumps(document)))  # as it would travel

    def log(self, function_name: str, line: str) -> None:
        with self._lock:
            self.lines.append((function_name, line))

    def failure(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.failures.append(record)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def make_runtime(recorder: Recorder, environments: FakeEnvironments, **settings: Any) -> LocalLambda:
    runtime = LocalLambda(None, recorder.log, segment_sink=recorder.segment, environment_factory=environments)
    config = FunctionConfig(
        name="tc-pipeline",
        handler="handlers.pipeline.lambda_handler",
        retry_delay_seconds=0.01,
        **settings,
    )
    runtime.add_function(config, destination=recorder.failure)
    return runtime


@pytest.fixture
def environments() -> FakeEnvironments:
    return FakeEnvironments()


@pytest.fixture
def runtime(recorder: Recorder, environments: FakeEnvironments) -> Iterator[LocalLambda]:
    with make_runtime(recorder, environments, concurrency=2) as local:
        yield local


@BOTH_FORMATS
def test_each_environments_first_invocation_is_its_cold_start(
    recorder: Recorder, environments: FakeEnvironments, trace_format: TraceFormat
) -> None:
    environments.gate = threading.Event()
    with make_runtime(recorder, environments, concurrency=2, trace_format=trace_format) as runtime:
        for number in range(6):
            runtime.invoke_async("tc-pipeline", {"n": number}, HEADER)
        environments.started.acquire(timeout=5)
        environments.started.acquire(timeout=5)
        assert len(environments.made) == 2  # at most `concurrency`: the other events wait
        environments.gate.set()
        assert runtime.drain(timeout=10)
        outcomes = sorted(runtime.outcomes(), key=lambda outcome: outcome.sequence)
        stats = runtime.stats()["tc-pipeline"]

    assert [outcome.status for outcome in outcomes] == ["succeeded"] * 6
    assert len(environments.made) == 2
    assert sum(len(environment.jobs) for environment in environments.made) == 6
    cold = [outcome for outcome in outcomes if outcome.cold_starts]
    assert sorted(outcome.environments for outcome in cold) == [(1,), (2,)]
    assert (stats.accepted, stats.invocations, stats.cold_starts, stats.environments) == (6, 6, 2, 2)

    result = analyze(recorder.segments)
    assert len(result.invocations) == 6
    assert sum(invocation.cold_start for invocation in result.invocations) == 2
    for invocation in result.invocations:
        assert invocation.attempts == 1
        assert invocation.dwell_ms is not None
        assert invocation.complete
        assert (invocation.init_ms is not None) == invocation.cold_start


def test_an_event_waits_while_every_environment_is_busy(
    recorder: Recorder, environments: FakeEnvironments
) -> None:
    environments.gate = threading.Event()
    with make_runtime(recorder, environments, concurrency=1) as runtime:
        runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        runtime.invoke_async("tc-pipeline", {"n": 1}, HEADER)
        environments.started.acquire(timeout=5)
        assert not runtime.drain(timeout=0.05)  # the first holds the only environment
        environments.gate.set()
        assert runtime.drain(timeout=10)
    services = sorted(segments_by_origin(recorder.segments, "AWS::Lambda"), key=lambda s: s["start_time"])
    first_attempt = services[0]["subsegments"][1]
    dwell, second_attempt = services[1]["subsegments"]
    assert dwell["name"] == "Dwell Time"
    # The second event left the queue only when the first one's attempt had ended.
    assert dwell["end_time"] == second_attempt["start_time"] >= first_attempt["end_time"]
    assert len(environments.made) == 1


def run_one(
    recorder: Recorder, environments: FakeEnvironments, **settings: Any
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """One event through a fresh runtime: its request id, service segment and function segment."""
    with make_runtime(recorder, environments, **settings) as runtime:
        request_id = runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        assert runtime.drain(timeout=10)
    [service] = segments_by_origin(recorder.segments, "AWS::Lambda")
    [function] = segments_by_origin(recorder.segments, "AWS::Lambda::Function")
    return request_id, service, function


@BOTH_FORMATS
def test_segments_link_as_in_real_traces(
    recorder: Recorder, environments: FakeEnvironments, trace_format: TraceFormat
) -> None:
    request_id, service, function = run_one(recorder, environments, trace_format=trace_format)
    assert service["parent_id"] == PUT_OBJECT  # S3's PutObject subsegment
    assert service["trace_id"] == function["trace_id"] == TRACE
    assert service["http"] == {"response": {"status": 202}}
    assert service["aws"]["request_id"] == request_id
    assert [part["name"] for part in service["subsegments"]] == ["Dwell Time", "Attempt #1"]
    attempt = service["subsegments"][1]
    assert function["parent_id"] == attempt["id"]
    [job] = environments.made[0].jobs
    assert job.request_id == request_id
    initialization = function["subsegments"][0]
    assert initialization["name"] == {"v1": "Initialization", "v2": "Init"}[trace_format]
    assert initialization["end_time"] <= function["start_time"]


def test_in_v1_the_handler_attaches_to_invocation(recorder: Recorder, environments: FakeEnvironments) -> None:
    _, _, function = run_one(recorder, environments, trace_format="v1")
    assert [part["name"] for part in function["subsegments"]] == ["Initialization", "Invocation", "Overhead"]
    invocation = function["subsegments"][1]
    # The handler's X-Ray SDK gets the Invocation's id as Parent: its subsegments land there.
    [job] = environments.made[0].jobs
    assert TraceHeader.parse(job.trace_header) == TraceHeader(TRACE, invocation["id"], sampled=True)
    assert "annotations" not in function


def test_in_v2_the_handler_attaches_to_the_function_segment(
    recorder: Recorder, environments: FakeEnvironments
) -> None:
    _, _, function = run_one(recorder, environments)  # v2 is the default
    assert [part["name"] for part in function["subsegments"]] == ["Init", "Overhead"]
    # No Invocation: the handler's X-Ray SDK gets the function segment's own id as Parent.
    [job] = environments.made[0].jobs
    assert TraceHeader.parse(job.trace_header) == TraceHeader(TRACE, function["id"], sampled=True)
    assert set(function["annotations"]) == {
        "aws:responseLatency",
        "aws:runtimeOverhead",
        "aws:responseDuration",
    }
    assert function["aws"] == {"cloudwatch_logs": [{"log_group": "/aws/lambda/tc-pipeline"}]}
    # The fake handler ran 1 ms, its response took 0.05 ms to post and its runtime 0.05 ms more before it
    # asked for the next event (fake_environments.py).
    assert function["annotations"]["aws:responseLatency"] == pytest.approx(1.0, abs=0.002)
    assert function["annotations"]["aws:responseDuration"] == pytest.approx(0.05, abs=0.002)
    assert function["annotations"]["aws:runtimeOverhead"] == pytest.approx(0.05, abs=0.002)


def test_an_extension_keeps_the_environment_busy_after_each_response(
    recorder: Recorder, environments: FakeEnvironments
) -> None:
    with make_runtime(recorder, environments, concurrency=1, extension_overhead_ms=30.0) as runtime:
        runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        runtime.invoke_async("tc-pipeline", {"n": 1}, HEADER)
        assert runtime.drain(timeout=10)
    functions = sorted(
        segments_by_origin(recorder.segments, "AWS::Lambda::Function"), key=lambda s: s["start_time"]
    )
    services = sorted(segments_by_origin(recorder.segments, "AWS::Lambda"), key=lambda s: s["start_time"])
    for function in functions:
        annotations = function["annotations"]
        assert annotations["aws:extensionOverhead"] >= 30.0
        [overhead] = [part for part in function["subsegments"] if part["name"] == "Overhead"]
        assert (overhead["end_time"] - overhead["start_time"]) * 1000 == pytest.approx(
            annotations["aws:runtimeOverhead"] + annotations["aws:extensionOverhead"], abs=0.002
        )
    first_attempt = services[0]["subsegments"][1]
    second_dwell, second_attempt = services[1]["subsegments"]
    # The only environment took the second event once the extension was done with the first.
    assert second_dwell["end_time"] == second_attempt["start_time"] >= first_attempt["end_time"]
    assert second_attempt["start_time"] - first_attempt["start_time"] >= 0.030
    assert len(environments.made) == 1


@BOTH_FORMATS
def test_a_failing_event_is_retried_then_sent_to_the_destination(
    recorder: Recorder, environments: FakeEnvironments, trace_format: TraceFormat
) -> None:
    environments.script = fail
    with make_runtime(recorder, environments, concurrency=2, trace_format=trace_format) as runtime:
        request_id = runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        assert runtime.drain(timeout=10)
        [outcome] = runtime.outcomes()
        stats = runtime.stats()["tc-pipeline"]
    assert (outcome.status, outcome.attempts) == ("failed", 3)
    assert (stats.invocations, stats.function_errors, stats.retries, stats.sent_to_destination) == (
        3,
        3,
        2,
        1,
    )
    [service] = segments_by_origin(recorder.segments, "AWS::Lambda")
    attempts = service["subsegments"][1:]
    assert [part["name"] for part in attempts] == ["Attempt #1", "Attempt #2", "Attempt #3"]
    assert all(part["error"] is True for part in attempts)
    functions = segments_by_origin(recorder.segments, "AWS::Lambda::Function")
    assert sorted(function["parent_id"] for function in functions) == sorted(part["id"] for part in attempts)
    for function in functions:
        assert function["error"] is True
        assert function["cause"]["exceptions"] == [
            {"message": "1 of 1 records failed", "type": "RecordsFailedError"}
        ]
    [record] = recorder.failures
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"n": 0}
    assert record["responsePayload"]["errorType"] == "RecordsFailedError"
    # Every attempt of an async event has the same request id.
    assert {job.request_id for environment in environments.made for job in environment.jobs} == {request_id}
    invocations = analyze(recorder.segments).invocations
    assert [invocation.attempts for invocation in invocations] == [3, 3, 3]
    assert all(invocation.function_error for invocation in invocations)


def test_an_event_that_succeeds_on_retry_goes_nowhere_else(
    recorder: Recorder, environments: FakeEnvironments
) -> None:
    def fail_first(job: Job, _number: int) -> ErrorInfo | None:
        return fail(job, _number) if job.attempt == 1 else None

    environments.script = fail_first
    with make_runtime(recorder, environments) as runtime:
        runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        assert runtime.drain(timeout=10)
        [outcome] = runtime.outcomes()
    assert (outcome.status, outcome.attempts) == ("succeeded", 2)
    assert recorder.failures == []


def test_without_retries_the_first_failure_is_final(
    recorder: Recorder, environments: FakeEnvironments
) -> None:
    environments.script = fail
    with make_runtime(recorder, environments, max_retry_attempts=0) as runtime:
        runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        assert runtime.drain(timeout=10)
    assert [record["requestContext"]["approximateInvokeCount"] for record in recorder.failures] == [1]


@BOTH_FORMATS
def test_a_lost_environment_is_replaced_by_a_cold_one(
    recorder: Recorder, environments: FakeEnvironments, trace_format: TraceFormat
) -> None:
    def time_out_in_the_first(job: Job, number: int) -> ErrorInfo | None:
        if number == 1:
            raise EnvironmentLostError(ErrorInfo("Sandbox.Timedout", "Task timed out after 3.00 seconds"))
        return None

    environments.script = time_out_in_the_first
    with make_runtime(recorder, environments, concurrency=1, trace_format=trace_format) as runtime:
        runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        assert runtime.drain(timeout=10)
        [outcome] = runtime.outcomes()
    assert (outcome.status, outcome.attempts, outcome.environments) == ("succeeded", 2, (1, 2))
    first, second = sorted(
        segments_by_origin(recorder.segments, "AWS::Lambda::Function"), key=lambda s: s["start_time"]
    )
    assert first["cause"]["exceptions"][0]["type"] == "Sandbox.Timedout"
    assert second["subsegments"][0]["name"] == {"v1": "Initialization", "v2": "Init"}[trace_format]


def test_dropped_events_are_accepted_and_never_run(
    recorder: Recorder, environments: FakeEnvironments
) -> None:
    with make_runtime(recorder, environments, faults=FaultInjection(drop=1.0)) as runtime:
        request_id = runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        assert runtime.drain(timeout=1)
        assert [(outcome.request_id, outcome.status) for outcome in runtime.outcomes()] == [
            (request_id, "dropped")
        ]
        assert runtime.stats()["tc-pipeline"].dropped == 1
    assert environments.made == []
    assert recorder.segments == []


def test_injected_errors_reach_the_environment_as_the_job_says(
    recorder: Recorder, environments: FakeEnvironments
) -> None:
    with make_runtime(
        recorder, environments, faults=FaultInjection(error=1.0), max_retry_attempts=1
    ) as runtime:
        runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        assert runtime.drain(timeout=10)
    assert [job.injected_error for environment in environments.made for job in environment.jobs] == [
        True,
        True,
    ]


def test_an_invoke_without_a_header_starts_a_trace(runtime: LocalLambda, recorder: Recorder) -> None:
    runtime.invoke_async("tc-pipeline", {"n": 0})
    assert runtime.drain(timeout=10)
    [service] = segments_by_origin(recorder.segments, "AWS::Lambda")
    assert "parent_id" not in service
    assert service["trace_id"].startswith("1-")


def test_an_unsampled_event_is_run_but_not_traced(runtime: LocalLambda, recorder: Recorder) -> None:
    runtime.invoke_async("tc-pipeline", {"n": 0}, f"Root={TRACE};Parent={PUT_OBJECT};Sampled=0")
    assert runtime.drain(timeout=10)
    assert [outcome.status for outcome in runtime.outcomes()] == ["succeeded"]
    assert recorder.segments == []


def test_logs_read_like_cloudwatch(runtime: LocalLambda, recorder: Recorder) -> None:
    request_id = runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
    assert runtime.drain(timeout=10)
    lines = [line for function, line in recorder.lines if function == "tc-pipeline"]
    assert lines[0] == "INIT_START Runtime Version: python:3.13.local"  # a cold start: the Init's lines
    assert lines[1] == "init: imported"
    assert lines[2] == f"START RequestId: {request_id} Version: $LATEST"
    assert json.loads(lines[3])["request"] == request_id
    assert lines[4] == f"END RequestId: {request_id}"
    assert lines[5].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert "\tInit Duration: " in lines[5]
    assert "Status:" not in lines[5]
    assert lines[6].startswith(f"XRAY TraceId: {TRACE}\tSegmentId: ")


def test_an_init_error_fails_the_attempt_and_ends_its_environment(
    recorder: Recorder, environments: FakeEnvironments
) -> None:
    environments.init_error = ErrorInfo(
        "Runtime.ImportModuleError",
        "Unable to import module 'handlers.pipeline': No module named 'aws_xray_sdk'",
    )
    with make_runtime(recorder, environments, concurrency=1) as runtime:
        request_id = runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        assert runtime.drain(timeout=10)
        [outcome] = runtime.outcomes()
        stats = runtime.stats()["tc-pipeline"]

    # Every try in an environment of its own, each a cold start whose Init fails; then the destination.
    assert (outcome.status, outcome.attempts, outcome.environments) == ("failed", 3, (1, 2, 3))
    assert outcome.error is not None
    assert outcome.error.error_type == "Runtime.ImportModuleError"
    assert (stats.invocations, stats.cold_starts, stats.function_errors, stats.environments) == (3, 3, 3, 3)
    assert stats.error_types == {"Runtime.ImportModuleError": 3}
    assert stats.error_messages == {"Runtime.ImportModuleError": environments.init_error.message}
    [record] = recorder.failures
    assert record["responsePayload"]["errorType"] == "Runtime.ImportModuleError"
    assert "No module named 'aws_xray_sdk'" in record["responsePayload"]["errorMessage"]
    lines = [line for function, line in recorder.lines if function == "tc-pipeline"]
    assert lines[:3] == [
        "INIT_START Runtime Version: python:3.13.local",
        "init: imported",
        lines[2],
    ]
    assert lines[2].startswith("INIT_REPORT Init Duration: ")
    assert lines[2].endswith("\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError")
    assert lines[3:5] == [f"START RequestId: {request_id} Version: $LATEST", f"END RequestId: {request_id}"]
    assert lines[5].startswith(f"REPORT RequestId: {request_id}\tDuration: 0.00 ms")
    assert lines[5].endswith("\tStatus: error\tError Type: Runtime.ImportModuleError\t")
    result = analyze(recorder.segments)
    assert len(result.invocations) == 3
    for invocation in result.invocations:
        assert (invocation.cold_start, invocation.function_error, invocation.attempts) == (True, True, 3)
        assert invocation.init_ms is not None
    functions = segments_by_origin(recorder.segments, "AWS::Lambda::Function")
    message = "Unable to import module 'handlers.pipeline': No module named 'aws_xray_sdk'"
    for function in functions:  # awslambdaric sends no X-Ray cause with an init error: Lambda's own words
        assert function["cause"] == {
            "exceptions": [{"message": message, "type": "Runtime.ImportModuleError"}]
        }


def test_a_handler_errors_xray_cause_is_the_function_segments(
    recorder: Recorder, environments: FakeEnvironments
) -> None:
    cause = {
        "working_directory": "/var/task",
        "exceptions": [
            {
                "message": "boom",
                "type": "ValueError",
                "stack": [{"label": "h", "path": "/var/task/h.py", "line": 3}],
            }
        ],
        "paths": ["/var/task/h.py"],
    }
    environments.script = lambda _job, _number: ErrorInfo("ValueError", "boom", [], cause)
    with make_runtime(recorder, environments, concurrency=1, max_retry_attempts=0) as runtime:
        runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        assert runtime.drain(timeout=10)
    [function] = segments_by_origin(recorder.segments, "AWS::Lambda::Function")
    assert function["error"] is True
    assert function["cause"] == cause
    [record] = recorder.failures
    assert record["responsePayload"]["errorType"] == "ValueError"


def test_a_lost_environments_output_and_status_are_logged(
    recorder: Recorder, environments: FakeEnvironments
) -> None:
    def time_out(_job: Job, _number: int) -> ErrorInfo | None:
        raise EnvironmentLostError(
            ErrorInfo("Sandbox.Timedout", "Task timed out after 1.00 seconds"), ["still working"]
        )

    environments.script = time_out
    with make_runtime(recorder, environments, concurrency=1, max_retry_attempts=0) as runtime:
        request_id = runtime.invoke_async("tc-pipeline", {"n": 0}, HEADER)
        assert runtime.drain(timeout=10)
    lines = [line for function, line in recorder.lines if function == "tc-pipeline"]
    assert lines[:4] == [
        f"START RequestId: {request_id} Version: $LATEST",
        "still working",
        f"{request_id} Task timed out after 1.00 seconds",
        f"END RequestId: {request_id}",
    ]
    assert lines[4].endswith("\tStatus: timeout\t")


def test_unknown_functions_and_closed_runtimes_are_refused(runtime: LocalLambda) -> None:
    with pytest.raises(KeyError, match="not registered"):
        runtime.invoke_async("nope", {})
    runtime.close()
    with pytest.raises(RuntimeError, match="closed"):
        runtime.invoke_async("tc-pipeline", {})
