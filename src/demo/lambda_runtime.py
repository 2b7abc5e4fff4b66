"""A local Lambda service for asynchronous invokes, tracing as the Lambda service does.

Per function: its package, built as `sam build` builds it (lambda_package.py: the code root and its
requirements, nothing of the development environment) when the function is added; a queue; and a pool of
execution environments (runtime_environment.py: at most `concurrency` fresh python3.13 processes, each running
the real runtime interface client, awslambdaric, on the package alone, against its own Runtime API), created
on demand, so each environment's first invocation is a real cold start and a package that lacks a module
fails as it fails on Lambda (`Runtime.ImportModuleError`). An accepted event waits in
the queue until an environment is free (its `Dwell Time`); each try is an `Attempt #N`. A failed try is
retried after a delay (Lambda waits minutes; here `retry_delay_seconds`, doubling), and after the last one
the event goes to the on-failure destination. Segments go to the X-Ray daemon over UDP: per attempt the
`AWS::Lambda::Function` segment, in the function's `trace_format` (lambda_segments.py: v2 by default, v1 on
request), and once the event is done the `AWS::Lambda` service segment (HTTP 202, `Dwell Time`,
`Attempt #N`). The handler's own subsegments come from the X-Ray SDK in the environment with `parent_id` =
the Parent of its `_X_AMZN_TRACE_ID`, which awslambdaric sets from the Runtime API's `Lambda-Runtime-Trace-Id`
(v1: the `Invocation` id; v2: the function segment's own id); the daemon nests them there. An init error or a
handler error comes back as the runtime posted it (`errorType`, `errorMessage`, `stackTrace`, and its X-Ray
cause, which becomes the function segment's `cause`). A function with `extension_overhead_ms` keeps its
environment busy that long after each response, as a Lambda extension's post-invoke work does.

The log of each function holds what CloudWatch Logs would: on a cold start `INIT_START` and what the Init
printed (`INIT_REPORT` where it failed), then `START`, what the invocation printed, `END` and `REPORT`
(`Status: error` or `timeout` where the environment was lost or its Init failed). The `INIT_START` line
names the local runtime (its version ARN is Lambda's alone).
"""

import contextlib
import dataclasses
import logging
import math
import secrets
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

from demo.lambda_package import BuiltPackage
from demo.lambda_segments import (
    Attempt,
    Interval,
    function_segment,
    handler_parent_id,
    new_segment_id,
    service_segment,
)
from demo.runtime_config import PYTHON_RUNTIME, FunctionConfig, retry_delays
from demo.runtime_environment import Environment, EnvironmentLostError
from demo.runtime_failures import FailureDestination, on_failure_record, sqs_destination
from demo.runtime_jobs import EnvironmentSpec, ErrorInfo, Job, JobResult, LambdaPython
from demo.runtime_python import FunctionPackages
from demo.xray_daemon import send_document

logger = logging.getLogger(__name__)

LogSink = Callable[[str, str], None]  # (function name, one line of its log)
Status = Literal["succeeded", "failed", "dropped"]


def new_trace_id(now: float | None = None) -> str:
    return f"1-{int(now if now is not None else time.time()) & 0xFFFFFFFF:08x}-{secrets.token_hex(12)}"


@dataclass(frozen=True)
class TraceHeader:
    root: str
    parent: str | None
    sampled: bool

    @classmethod
    def parse(cls, header: str | None) -> "TraceHeader":
        """`Root=...;Parent=...;Sampled=1` as S3 passes it; a new trace where there is none."""
        fields: dict[str, str] = {}
        for part in (header or "").split(";"):
            name, _, value = part.strip().partition("=")
            fields[name] = value
        root = fields.get("Root") or new_trace_id()
        return cls(root=root, parent=fields.get("Parent") or None, sampled=fields.get("Sampled", "1") != "0")

    def for_invocation(self, parent_id: str) -> str:
        """The handler's `_X_AMZN_TRACE_ID`: this trace, `parent_id` the part its subsegments attach to."""
        return f"Root={self.root};Parent={parent_id};Sampled={1 if self.sampled else 0}"


@dataclass(frozen=True)
class EventOutcome:
    function_name: str
    sequence: int  # the order the function accepted its events in
    request_id: str
    trace_id: str
    status: Status
    attempts: int
    cold_starts: int
    response: str | None = None  # the last attempt's response (JSON)
    error: ErrorInfo | None = None  # the last attempt's error
    environments: tuple[int, ...] = ()  # the number of the environment each attempt ran in


@dataclass
class FunctionStats:
    accepted: int = 0
    dropped: int = 0
    invocations: int = 0  # attempts run
    cold_starts: int = 0
    function_errors: int = 0
    retries: int = 0
    sent_to_destination: int = 0
    environments: int = 0  # environments created
    error_types: dict[str, int] = field(default_factory=dict)  # function errors by `errorType`
    error_messages: dict[str, str] = field(default_factory=dict)  # the first `errorMessage` of each type


@dataclass
class _Delivery:
    """An accepted event through its attempts."""

    sequence: int
    event: Any
    request_id: str
    trace: TraceHeader
    accepted_at: float
    accepted_until: float = 0.0
    service_id: str = field(default_factory=new_segment_id)
    attempts: list[Attempt] = field(default_factory=list)
    environments: list[int] = field(default_factory=list)
    cold_starts: int = 0


class ExecutionEnvironment(Protocol):
    """What the service needs of an environment (runtime_environment.Environment; fakes in unit tests)."""

    usable: bool

    def run(self, job: Job) -> JobResult: ...

    def stop(self) -> None: ...


EnvironmentFactory = Callable[[EnvironmentSpec, int], ExecutionEnvironment]
SegmentSink = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, eq=False)
class _Slot:
    number: int  # 1, 2, ... in order of creation, per function
    environment: ExecutionEnvironment


class _SegmentSender:
    """Segment documents to the X-Ray daemon over UDP, as the Lambda service sends them to X-Ray."""

    def __init__(self, daemon_address: str | None, sink: SegmentSink | None = None) -> None:
        self.address = daemon_address
        self._sink = sink
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._lock = threading.Lock()

    def send(self, document: dict[str, Any]) -> None:
        if self._sink is not None:
            self._sink(document)
        elif self.address is not None:
            with self._lock:
                try:
                    send_document(self._socket, self.address, document)
                except OSError as error:  # as the X-Ray SDK: tracing never breaks the function
                    logger.warning(
                        "could not send a segment to the X-Ray daemon at %s: %s", self.address, error
                    )

    def close(self) -> None:
        self._socket.close()


class FunctionService:
    """One function: its event queue, environments, retries and destination."""

    def __init__(
        self,
        config: FunctionConfig,
        *,
        sender: _SegmentSender,
        log: LogSink,
        record_outcome: Callable[[EventOutcome], None],
        destination: FailureDestination | None,
        environment_factory: EnvironmentFactory = Environment,
        package: tuple[Path, LambdaPython] | None = None,
    ) -> None:
        """`package`: the function's package and the runtime to run it (None: environments of their own)."""
        self.config = config
        self._new_environment = environment_factory
        self.stats = FunctionStats()
        self._sender = sender
        self._log = log
        self._record_outcome = record_outcome
        self._destination = destination
        self._spec = EnvironmentSpec(
            function_name=config.name,
            handler=config.handler,
            environment=config.lambda_environment(sender.address if config.tracing else None),
            memory_mb=config.memory_mb,
            timeout_seconds=config.timeout_seconds,
            faults=config.faults,
            function_arn=config.arn,
            task_root=package[0] if package else None,
            runtime=package[1] if package else None,
        )
        version = PYTHON_RUNTIME.replace("python", "python:")
        self._runtime_version = (
            f"{version}.local\tRuntime: awslambdaric {package[1].client_version}"
            if package
            else f"{version}.local"
        )
        self._delays = retry_delays(config.max_retry_attempts, config.retry_delay_seconds)
        self._condition = threading.Condition()
        self._ready: deque[_Delivery] = deque()
        self._environments: list[_Slot] = []
        self._idle: list[_Slot] = []
        self._outstanding = 0
        self._sequence = 0
        self._timers: set[threading.Timer] = set()
        self._closed = False
        self._dispatcher = threading.Thread(
            target=self._dispatch, name=f"{config.name}-dispatch", daemon=True
        )
        self._dispatcher.start()

    def invoke_async(self, event: Any, trace_header: str | None) -> str:
        accepted_at = time.time()
        trace = TraceHeader.parse(trace_header)
        with self._condition:
            if self._closed:
                raise RuntimeError(f"function {self.config.name}: the local Lambda runtime is closed")
            sequence = self._sequence
            self._sequence += 1
            delivery = _Delivery(sequence, event, str(uuid.uuid4()), trace, accepted_at)
            self.stats.accepted += 1
            if self.config.faults.decides("drop", self.config.name, sequence):
                self.stats.dropped += 1  # accepted (202), then lost: no invocation, no segment
                dropped = True
            else:
                dropped = False
                self._outstanding += 1
                delivery.accepted_until = time.time()
                self._ready.append(delivery)
                self._condition.notify_all()
        if dropped:
            self._finish(delivery, "dropped", None)
        return delivery.request_id

    def drain(self, deadline: float | None) -> bool:
        with self._condition:
            while self._outstanding and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return self._outstanding == 0

    def close(self) -> None:
        with self._condition:
            self._closed = True
            for timer in self._timers:
                timer.cancel()
            self._condition.notify_all()
            slots = list(self._environments)
        self._dispatcher.join()
        # All at once: a busy environment may take a moment to end, the idle ones need none.
        stopping = [threading.Thread(target=slot.environment.stop, daemon=True) for slot in slots]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()

    def _dispatch(self) -> None:
        """Hand each event, in order, to a free environment: a warm one first, else a new one."""
        while True:
            with self._condition:
                while not self._closed and not (self._ready and (self._idle or self._can_grow())):
                    self._condition.wait()
                if self._closed:
                    return
                delivery = self._ready.popleft()
                if self._idle:
                    slot = self._idle.pop()  # the most recently used: the warmest
                else:
                    self.stats.environments += 1
                    number = self.stats.environments
                    slot = _Slot(number, self._new_environment(self._spec, number))
                    self._environments.append(slot)
                started = time.time()  # the event leaves the queue: Dwell Time ends, the attempt begins
            threading.Thread(
                target=self._attempt,
                args=(delivery, slot, started),
                name=f"{self.config.name}-attempt",
                daemon=True,
            ).start()

    def _can_grow(self) -> bool:
        return sum(1 for slot in self._environments if slot.environment.usable) < self.config.concurrency

    def _attempt(self, delivery: _Delivery, slot: "_Slot", started: float) -> None:
        number = len(delivery.attempts) + 1
        attempt = Attempt(
            interval=(started, started), function=(started, started), invocation=(started, started)
        )
        attempt.request_id = delivery.request_id
        job = Job(
            event=delivery.event,
            request_id=delivery.request_id,
            trace_header=delivery.trace.for_invocation(handler_parent_id(attempt, self.config.trace_format)),
            sequence=delivery.sequence,
            attempt=number,
            injected_error=self.config.faults.decides("error", self.config.name, delivery.sequence, number),
        )
        result: JobResult | None = None
        lost_output: list[str] = []
        try:
            result = slot.environment.run(job)
            error = result.error
        except EnvironmentLostError as lost:
            error, lost_output = lost.error, lost.output
        responded = time.time()  # the service has the response (or knows the environment is gone)
        extension = self._run_extension(responded) if result is not None and slot.environment.usable else None
        ended = time.time()
        with self._condition:
            if self._closed:
                return  # the runtime stopped under this attempt: nothing more to report
        self._fill_attempt(attempt, (started, ended), result, error, extension)
        delivery.attempts.append(attempt)
        delivery.environments.append(slot.number)
        if result is not None and result.initialization is not None:
            delivery.cold_starts += 1
        self._write_log(delivery, attempt, result, error, lost_output)
        if self.config.tracing and delivery.trace.sampled:
            self._sender.send(
                function_segment(
                    trace_id=delivery.trace.root,
                    function_name=self.config.name,
                    function_arn=self.config.arn,
                    attempt=attempt,
                    trace_format=self.config.trace_format,
                )
            )
        with self._condition:
            self.stats.invocations += 1
            self.stats.cold_starts += 1 if attempt.initialization else 0
            if error is not None:
                self.stats.function_errors += 1
                self.stats.error_types[error.error_type] = self.stats.error_types.get(error.error_type, 0) + 1
                self.stats.error_messages.setdefault(error.error_type, error.message)
            if slot.environment.usable:
                self._idle.append(slot)
            else:
                self._environments.remove(slot)
            self._condition.notify_all()
            retry = error is not None and number <= len(self._delays) and not self._closed
            if retry:
                self.stats.retries += 1
                self._schedule_retry(delivery, self._delays[number - 1])
        if not retry:
            self._finish(delivery, "failed" if error else "succeeded", result)

    def _run_extension(self, responded: float) -> Interval | None:
        """An emulated extension's post-invoke work: the environment is not free until it is done."""
        if self.config.extension_overhead_ms <= 0:
            return None
        time.sleep(self.config.extension_overhead_ms / 1000)
        return (responded, time.time())

    @staticmethod
    def _fill_attempt(
        attempt: Attempt,
        times: tuple[float, float],
        result: JobResult | None,
        error: ErrorInfo | None,
        extension: Interval | None,
    ) -> None:
        """`times`: the event left the queue, the environment was free (the runtime asked for its next
        event, or the environment was lost, then any extension's work)."""
        started, ended = times
        attempt.interval = (started, ended)
        if result is None:  # the environment was lost: all Lambda knows is when the try began and ended
            attempt.function = attempt.invocation = (started, ended)
        else:
            function_start = result.initialization[1] if result.initialization else result.received_at
            sent = result.response_sent or (result.invocation[1], result.invocation[1])
            attempt.initialization = result.initialization
            attempt.function = (function_start, result.finished_at)
            attempt.invocation = result.invocation
            attempt.response = sent
            attempt.overhead = (sent[1], result.finished_at)  # the runtime's work until it asks for more
            attempt.extension = extension
        if error is not None:
            attempt.error = error.message or error.error_type
            attempt.error_type = error.error_type
            attempt.error_cause = error.cause

    def _schedule_retry(self, delivery: _Delivery, delay: float) -> None:
        """Called with the condition held."""

        def requeue() -> None:
            with self._condition:
                self._timers.discard(timer)
                if self._closed:
                    return
                self._ready.append(delivery)
                self._condition.notify_all()

        timer = threading.Timer(delay, requeue)
        timer.daemon = True
        self._timers.add(timer)
        timer.start()

    def _finish(self, delivery: _Delivery, status: Status, result: JobResult | None) -> None:
        last = delivery.attempts[-1] if delivery.attempts else None
        error = None
        if last is not None and last.error is not None:
            error = ErrorInfo(
                last.error_type,
                last.error,
                result.error.stack_trace if result and result.error else [],
                last.error_cause,
            )
        if status != "dropped" and self.config.tracing and delivery.trace.sampled:
            self._sender.send(
                service_segment(
                    trace_id=delivery.trace.root,
                    parent_id=delivery.trace.parent,
                    function_name=self.config.name,
                    function_arn=self.config.arn,
                    accepted_at=delivery.accepted_at,
                    accepted_until=delivery.accepted_until,
                    attempts=delivery.attempts,
                    segment_id=delivery.service_id,
                    request_id=delivery.request_id,
                )
            )
        if status == "failed" and error is not None and self._destination is not None:
            self._destination(
                on_failure_record(
                    function_arn=self.config.arn,
                    request_id=delivery.request_id,
                    event=delivery.event,
                    attempts=len(delivery.attempts),
                    error_type=error.error_type,
                    error_message=error.message,
                    stack_trace=error.stack_trace,
                )
            )
            with self._condition:
                self.stats.sent_to_destination += 1
        self._record_outcome(
            EventOutcome(
                function_name=self.config.name,
                sequence=delivery.sequence,
                request_id=delivery.request_id,
                trace_id=delivery.trace.root,
                status=status,
                attempts=len(delivery.attempts),
                cold_starts=delivery.cold_starts,
                environments=tuple(delivery.environments),
                response=result.response if result is not None else None,
                error=error,
            )
        )
        if status != "dropped":
            with self._condition:
                self._outstanding -= 1
                self._condition.notify_all()

    def _write_log(
        self,
        delivery: _Delivery,
        attempt: Attempt,
        result: JobResult | None,
        error: ErrorInfo | None,
        lost_output: list[str],
    ) -> None:
        """The lines CloudWatch Logs would hold: the Init's on a cold start, START, what the invocation
        printed, END and REPORT."""
        name, request_id = self.config.name, delivery.request_id
        init_failed = result is not None and result.init_error and error is not None
        if result is not None and result.initialization is not None:
            self._log(name, f"INIT_START Runtime Version: {self._runtime_version}")
            for line in result.init_output:
                self._log(name, line)
            if init_failed and error is not None:
                init_ms = (result.initialization[1] - result.initialization[0]) * 1000
                self._log(
                    name,
                    f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: error\t"
                    f"Error Type: {error.error_type}",
                )
        self._log(name, f"START RequestId: {request_id} Version: $LATEST")
        for line in result.output if result is not None else lost_output:
            self._log(name, line)
        if result is None and error is not None:
            self._log(name, f"{request_id} {error.message}")
        self._log(name, f"END RequestId: {request_id}")
        duration_ms = (attempt.invocation[1] - attempt.invocation[0]) * 1000
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {self.config.memory_mb} MB\t"
            f"Max Memory Used: {result.max_memory_mb if result else 0} MB\t"
        )
        if attempt.initialization is not None:
            init_ms = (attempt.initialization[1] - attempt.initialization[0]) * 1000
            report += f"Init Duration: {init_ms:.2f} ms\t"
        if error is not None and (result is None or init_failed):
            status = "timeout" if error.error_type == "Sandbox.Timedout" else "error"
            report += f"Status: {status}\t"
            if status == "error":
                report += f"Error Type: {error.error_type}\t"
        if self.config.tracing and delivery.trace.sampled:
            report += f"\nXRAY TraceId: {delivery.trace.root}\tSegmentId: {attempt.segment_id}\tSampled: true"
        for line in report.split("\n"):
            self._log(name, line)


class LocalLambda:
    """The local Lambda service: register functions, invoke them asynchronously, drain, close."""

    def __init__(
        self,
        daemon_address: str | None,
        log: LogSink | None = None,
        *,
        segment_sink: SegmentSink | None = None,
        environment_factory: EnvironmentFactory | None = None,
        packages: FunctionPackages | None = None,
    ) -> None:
        """`daemon_address`: `HOST:PORT` of the X-Ray daemon (None: no tracing); `log` gets each function's
        log lines; `packages` builds each function's package and the runtime (default: in the package cache);
        `segment_sink` and `environment_factory` replace UDP and the runtime's processes (tests; with an
        environment factory and no `packages`, no package is built)."""
        self._sender = _SegmentSender(daemon_address, segment_sink)
        if environment_factory is None:
            self._environment_factory: EnvironmentFactory = Environment
            self._packages: FunctionPackages | None = packages or FunctionPackages()
        else:
            self._environment_factory, self._packages = environment_factory, packages
        self._log: LogSink = log or (lambda _name, _line: None)
        self._functions: dict[str, FunctionService] = {}
        self._outcomes: list[EventOutcome] = []
        self._outcomes_lock = threading.Lock()

    def add_function(self, config: FunctionConfig, destination: FailureDestination | None = None) -> None:
        """Register a function; its on-failure destination is `config.on_failure_queue_url` unless given."""
        if config.name in self._functions:
            raise ValueError(f"function {config.name} is already registered")
        if destination is None and config.on_failure_queue_url:
            destination = sqs_destination(config.on_failure_queue_url)
        package = self._packages.prepare(config) if self._packages is not None else None
        self._functions[config.name] = FunctionService(
            config,
            sender=self._sender,
            log=self._log,
            record_outcome=self._record_outcome,
            destination=destination,
            environment_factory=self._environment_factory,
            package=package,
        )

    def invoke_async(self, function_name: str, event: Any, trace_header: str | None = None) -> str:
        """Accept an event as `Invoke` with `InvocationType=Event` does (HTTP 202); return its request id.

        `trace_header` as the caller passes it (S3: `Root=...;Parent=<its PutObject subsegment>;Sampled=1`);
        None starts a new trace.
        """
        return self._function(function_name).invoke_async(event, trace_header)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every accepted event is done (retries included); False if `timeout` ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        return all(service.drain(deadline) for service in list(self._functions.values()))

    def outcomes(self) -> list[EventOutcome]:
        with self._outcomes_lock:
            return list(self._outcomes)

    def package_builds(self) -> list[BuiltPackage]:
        """Each function's package as it was found or built, in the order the functions were added."""
        return list(self._packages.builds) if self._packages is not None else []

    def stats(self) -> dict[str, FunctionStats]:
        return {
            name: dataclasses.replace(
                service.stats,
                error_types=dict(service.stats.error_types),
                error_messages=dict(service.stats.error_messages),
            )
            for name, service in self._functions.items()
        }

    def close(self) -> None:
        """Stop every environment (worker processes end) and cancel pending retries."""
        for service in self._functions.values():
            service.close()
        self._sender.close()

    def __enter__(self) -> "LocalLambda":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _function(self, name: str) -> FunctionService:
        try:
            return self._functions[name]
        except KeyError:
            raise KeyError(f"function {name} is not registered; known: {sorted(self._functions)}") from None

    def _record_outcome(self, outcome: EventOutcome) -> None:
        with self._outcomes_lock:
            self._outcomes.append(outcome)


@contextlib.contextmanager
def local_lambda(
    daemon_address: str | None,
    *functions: FunctionConfig,
    log: LogSink | None = None,
    packages: FunctionPackages | None = None,
) -> Iterator[LocalLambda]:
    """A LocalLambda with `functions` registered (their packages built or found in the cache); closed on
    exit (also on KeyboardInterrupt)."""
    runtime = LocalLambda(daemon_address, log, packages=packages)
    try:
        for config in functions:
            runtime.add_function(config)
        yield runtime
    finally:
        runtime.close()


class DirectoryLogSink:
    """A LogSink writing each function's log to `<directory>/<function>.log`, a line at a time."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._lock = threading.Lock()
        self._files: dict[str, TextIO] = {}

    def __call__(self, function_name: str, line: str) -> None:
        with self._lock:
            handle = self._files.get(function_name)
            if handle is None:
                handle = self._files[function_name] = self.path(function_name).open("a", encoding="utf-8")
            handle.write(line + "\n")
            handle.flush()

    def path(self, function_name: str) -> Path:
        return self.directory / f"{function_name}.log"

    def close(self) -> None:
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()
