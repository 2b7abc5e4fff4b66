"""One execution environment: a worker process that imports the handler on its first job and runs jobs.

It imports nothing heavy itself, so the first invocation pays the real import of the handler module (its
`Initialization`). The environment is Lambda's (see FunctionConfig.lambda_environment), and each job sets
`_X_AMZN_TRACE_ID`, so the X-Ray SDK in the handler runs in Lambda mode and sends its subsegments to the
daemon. What the handler prints (Powertools JSON logs, EMF) is captured and returned with the result.
"""

import importlib
import io
import json
import os
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from demo.lambda_context import LocalLambdaContext
from demo.runtime_config import FaultInjection

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class EnvironmentSpec:
    function_name: str
    handler: str
    environment: dict[str, str]  # the whole environment of the process
    memory_mb: int
    timeout_seconds: float
    faults: FaultInjection


@dataclass(frozen=True)
class Job:
    event: Any
    request_id: str
    # Root=...;Parent=<v1: the Invocation subsegment id, v2: the function segment id>;Sampled=1
    trace_header: str
    sequence: int  # the event's number, for seeded fault decisions
    attempt: int
    injected_error: bool = False


@dataclass(frozen=True)
class ErrorInfo:
    error_type: str
    message: str
    stack_trace: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JobResult:
    received_at: float  # epoch seconds, when the environment got the job
    initialization: tuple[float, float] | None  # set on the environment's first job
    invocation: tuple[float, float]
    finished_at: float  # end of Overhead: the response is ready to go back
    response: str | None  # the handler's return value as JSON
    error: ErrorInfo | None
    init_error: bool  # the handler module failed to import (the environment is unusable)
    output: list[str]  # lines the handler printed
    max_memory_mb: int


class InjectedFunctionError(Exception):
    """Raised in place of the handler where fault injection decided on a function error."""


class _LineCapture(io.TextIOBase):
    """Stands in for stdout and stderr: keeps complete lines until the runtime collects them."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._partial = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            *complete, self._partial = (self._partial + text).split("\n")
            self._lines.extend(complete)
        return len(text)

    def take(self) -> list[str]:
        with self._lock:
            lines, self._lines = self._lines, []
            if self._partial:
                lines.append(self._partial)
                self._partial = ""
        return lines


class _ThrottleHook:
    """Throttles whole SDK calls to one service: decided once per call, every HTTP attempt refused."""

    def __init__(self, faults: FaultInjection, function_name: str) -> None:
        self._faults = faults
        self._function_name = function_name
        self._state = threading.local()
        self._rng = faults.rng("throttle", function_name, 0)

    def begin(self, job: Job) -> None:
        self._rng = self._faults.rng("throttle", self._function_name, job.sequence, job.attempt)

    def install(self) -> None:
        """Hook every client created from now on, through boto3 or botocore, whatever its session."""
        import botocore.session

        create_client = botocore.session.Session.create_client
        service = self._faults.throttle_service
        hook = self

        def create_hooked_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = create_client(session, *args, **kwargs)
            client.meta.events.register(f"before-call.{service}", hook.before_call)
            client.meta.events.register(f"before-send.{service}", hook.before_send)
            return client

        botocore.session.Session.create_client = create_hooked_client  # type: ignore[method-assign,assignment]

    def before_call(self, **_: Any) -> None:
        self._state.throttled = self._rng.random() < self._faults.throttle

    def before_send(self, request: Any, **_: Any) -> Any:
        if not getattr(self._state, "throttled", False):
            return None
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        code = self._faults.throttle_error_code
        body = json.dumps(
            {
                "__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                "message": "Rate of requests exceeds the allowed throughput.",
            }
        ).encode()
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "x-amzn-RequestId": os.urandom(26).hex().upper()[:52],
            "Content-Length": str(len(body)),
        }
        return AWSResponse(request.url, 400, HTTPHeaders.from_dict(headers), _RawBody(body))


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _load_handler(path: str) -> Handler:
    module_name, _, function_name = path.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), function_name)
    return handler


def _error_info(error: BaseException) -> ErrorInfo:
    """The error as Lambda's Python runtime reports it; the stack starts in the handler, not in this loop."""
    handler_frames = error.__traceback__.tb_next if error.__traceback__ is not None else None
    frames = traceback.format_tb(handler_frames) if handler_frames is not None else []
    return ErrorInfo(type(error).__name__, str(error), [frame.rstrip("\n") for frame in frames])


def _max_memory_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # kilobytes on Linux


def main(fd: int) -> None:
    """Entry point of the worker process; `fd` is its end of a socket pair with the runtime."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the runtime, which stops us cleanly
    connection = Connection(fd)
    try:
        run_environment(connection, connection.recv())
    except EOFError:
        pass  # the runtime went away: so do we
    finally:
        connection.close()


def run_environment(connection: Connection, spec: EnvironmentSpec) -> None:
    """The process's main loop: a Job in, a JobResult out, until None arrives. The environment is set."""
    capture = _LineCapture()
    sys.stdout = sys.stderr = capture
    handler: Handler | None = None
    throttle = _ThrottleHook(spec.faults, spec.function_name) if spec.faults.throttle > 0 else None
    while True:
        job: Job | None = connection.recv()
        if job is None:
            return
        received_at = time.time()
        initialization = None
        if handler is None:
            try:
                if throttle is not None:
                    throttle.install()  # before the import: a handler may create its clients at import time
                handler = _load_handler(spec.handler)
            except Exception as error:  # noqa: BLE001 - reported as Runtime.ImportModuleError, like Lambda
                ended = time.time()
                print(f"[ERROR] Runtime.ImportModuleError: {error}", file=capture)
                connection.send(
                    JobResult(
                        received_at=received_at,
                        initialization=(received_at, ended),
                        invocation=(ended, ended),
                        finished_at=ended,
                        response=None,
                        error=ErrorInfo("Runtime.ImportModuleError", str(error)),
                        init_error=True,
                        output=capture.take(),
                        max_memory_mb=_max_memory_mb(),
                    )
                )
                return
            initialization = (received_at, time.time())
        connection.send(
            _invoke(
                handler,
                job=job,
                spec=spec,
                initialization=initialization,
                received_at=received_at,
                capture=capture,
                throttle=throttle,
            )
        )


def _invoke(
    handler: Handler,
    *,
    job: Job,
    spec: EnvironmentSpec,
    initialization: tuple[float, float] | None,
    received_at: float,
    capture: _LineCapture,
    throttle: _ThrottleHook | None,
) -> JobResult:
    os.environ["_X_AMZN_TRACE_ID"] = job.trace_header
    if throttle is not None:
        throttle.begin(job)
    context = LocalLambdaContext(
        function_name=spec.function_name,
        memory_limit_in_mb=spec.memory_mb,
        timeout_seconds=spec.timeout_seconds,
        aws_request_id=job.request_id,
    )
    response: str | None = None
    error: ErrorInfo | None = None
    started = time.time()
    try:
        if job.injected_error:
            raise InjectedFunctionError(f"injected function error (attempt {job.attempt})")
        response = json.dumps(handler(job.event, context))
    except Exception as failure:  # noqa: BLE001 - a function error is a result, as in Lambda
        error = _error_info(failure)
        print(f"[ERROR] {error.error_type}: {error.message}", file=capture)
        print("Traceback (most recent call last):", *error.stack_trace, sep="\n", file=capture)
    ended = time.time()
    output = capture.take()
    return JobResult(
        received_at=received_at,
        initialization=initialization,
        invocation=(started, ended),
        finished_at=time.time(),
        response=response,
        error=error,
        init_error=False,
        output=output,
        max_memory_mb=_max_memory_mb(),
    )
