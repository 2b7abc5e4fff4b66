"""What the local Lambda service and an execution environment hand each other: a job in, its result out.

An environment (runtime_environment.Environment, or a fake in unit tests) takes one Job at a time and returns
a JobResult whose times are epoch seconds as the Runtime API saw them: the runtime asking for the event, the
runtime posting its response, the runtime asking for the next one.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from demo.runtime_config import FaultInjection

Interval = tuple[float, float]


@dataclass(frozen=True)
class LambdaPython:
    """The runtime an environment runs: an interpreter, and the folder that is its `LAMBDA_RUNTIME_DIR`
    (the emulator's bootstrap beside a `site-packages` holding awslambdaric; see runtime_python.py)."""

    interpreter: Path
    directory: Path
    client_version: str  # awslambdaric's

    @property
    def bootstrap(self) -> Path:
        return self.directory / "bootstrap.py"

    @property
    def site_packages(self) -> Path:
        return self.directory / "site-packages"

    def command(self) -> list[str]:
        """Isolated (-I: no PYTHON* variables, no user site, no script folder on the path), without the
        interpreter's own site-packages (-S), unbuffered (-u): the bootstrap then sets Lambda's path."""
        return [str(self.interpreter), "-I", "-S", "-u", str(self.bootstrap)]


@dataclass(frozen=True)
class EnvironmentSpec:
    function_name: str
    handler: str
    environment: dict[str, str]  # Lambda's variables and the function's (FunctionConfig.lambda_environment)
    memory_mb: int
    timeout_seconds: float
    faults: FaultInjection
    function_arn: str = ""
    task_root: Path | None = None  # the function's package: LAMBDA_TASK_ROOT
    runtime: LambdaPython | None = None  # None only for environments that run no process (tests' fakes)


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
    """An error as Lambda reports it: `errorType`, `errorMessage`, `stackTrace`, and the X-Ray cause the
    runtime sent with it (`Lambda-Runtime-Function-XRay-Error-Cause`), where it sent one."""

    error_type: str
    message: str
    stack_trace: list[str] = field(default_factory=list)
    cause: dict[str, Any] | None = None


@dataclass(frozen=True)
class JobResult:
    received_at: float  # the runtime had the event (its GET .../invocation/next returned)
    initialization: Interval | None  # on the environment's first job: the process started -> first /next
    invocation: Interval  # the event handed out -> the runtime began to post its response or error
    finished_at: float  # the runtime asked for its next event: the end of its overhead
    response: str | None  # the response the runtime posted (JSON, as the handler's return value)
    error: ErrorInfo | None
    init_error: bool  # the init failed (/init/error, or the runtime exited): the environment is gone
    output: list[str]  # what the runtime printed from the event on
    max_memory_mb: int
    # The runtime posting its response: its first byte to its last; None: at the end of `invocation`.
    response_sent: Interval | None = None
    init_output: list[str] = field(default_factory=list)  # what it printed before it asked for an event
