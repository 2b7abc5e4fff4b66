"""One execution environment: a fresh python3.13 process running awslambdaric against its own Runtime API.

Started on its first job (a cold start), reused for later ones while it lives. The process is the runtime's
interpreter, isolated (`-I -S`: no `PYTHON*` variables, no site-packages of the machine), running the
emulator's bootstrap (lambda_bootstrap.py), which sets the search path to the function's package
(`LAMBDA_TASK_ROOT`), the runtime's packages and the standard library, and starts awslambdaric. Its
environment is the one Lambda sets (FunctionConfig.lambda_environment) plus `AWS_LAMBDA_RUNTIME_API` (this
environment's runtime_api.RuntimeApi), `AWS_LAMBDA_LOG_STREAM_NAME` and `PATH`; nothing else of ours.

Its phases as the Runtime API sees them: Init from the process's start to its first `GET /next`; the
invocation from the event handed out to the runtime's response (or error) post; the runtime's overhead from
there to its next `GET /next`. Init may take 10 s, Lambda's limit for on-demand environments; the invocation
the function's timeout, after which the process is killed (`Sandbox.Timedout`), as is one that exits
(`Runtime.ExitError`). An init error (`/init/error`, awslambdaric's `Runtime.ImportModuleError` and the like)
fails the job and ends the environment, so the next job starts a new one, as on Lambda. What the process
prints (stdout and stderr, one pipe, as CloudWatch Logs gets both) is split into lines, awslambdaric's
multi-line error records (lines joined by `\\r`) into their lines; what came before the first `GET /next` is
the Init's output. `Max Memory Used` is the process's peak resident set (`VmHWM`).

Not reproduced: Lambda's second try of a failed or timed-out Init in the invoke phase, freezing between
invocations, the memory limit (memory is reported, not enforced), the sandbox's file system (/tmp is the
machine's).
"""

import contextlib
import json
import os
import select
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from demo.lambda_bootstrap import FAULTS_VARIABLE
from demo.runtime_api import Invocation, PostedError, RuntimeApi
from demo.runtime_jobs import EnvironmentSpec, ErrorInfo, Job, JobResult, LambdaPython

INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit for the Init phase of an on-demand environment
_STOP_SECONDS = 1.0
_EXIT_AFTER_INIT_ERROR_SECONDS = 2.0  # awslambdaric exits right after posting its init error


class EnvironmentLostError(Exception):
    """The environment ended during a job (timeout, crash): Lambda reports it as a function error."""

    def __init__(self, error: ErrorInfo, output: list[str] | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.output = output or []  # what the runtime printed during the job


class _Output:
    """The process's stdout and stderr, read as it writes them, handed out a batch of lines at a time.

    A thread reads whatever arrives (a runtime that prints much never blocks on a full pipe); `take` reads
    what is left first, so a line the runtime wrote before it called the API is never handed out late. The
    thread alone closes the pipe, at its end or once asked to.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        os.set_blocking(fd, False)
        self._lock = threading.Lock()
        self._pending = b""
        self._lines: list[str] = []
        self._open = True  # the pipe: closed by the reading thread only
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="environment-output", daemon=True)
        self._thread.start()

    def take(self, *, final: bool = False) -> list[str]:
        """Every complete line written so far (and, `final`, an unfinished last one)."""
        with self._lock:
            if self._open:
                self._read_available()
            if final and self._pending:
                self._add(self._pending)
                self._pending = b""
            lines, self._lines = self._lines, []
        return lines

    def close(self) -> None:
        with self._lock:
            self._closing = True

    def _run(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self._fd], [], [], 0.2)
                with self._lock:
                    if (ready and self._read_available()) or self._closing:
                        return
        finally:
            with self._lock:
                self._open = False
                os.close(self._fd)

    def _read_available(self) -> bool:
        """Called with the lock held, the pipe open; True at the end of the stream."""
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                return False
            if not chunk:
                return True
            *complete, self._pending = (self._pending + chunk).split(b"\n")
            for line in complete:
                self._add(line)

    def _add(self, raw: bytes) -> None:
        """One line, or one of awslambdaric's records whose lines it joins with `\\r` (CRLF ends a line)."""
        self._lines.extend(raw.decode("utf-8", errors="replace").removesuffix("\r").split("\r"))


class Environment:
    """A process started on the first job and the Runtime API it talks to."""

    def __init__(self, spec: EnvironmentSpec, number: int) -> None:
        if spec.runtime is None or spec.task_root is None:
            raise ValueError(f"function {spec.function_name}: an environment needs a runtime and a package")
        self.spec = spec
        self.number = number
        self.jobs = 0
        self.usable = True
        self._runtime: LambdaPython = spec.runtime
        self._task_root: Path = spec.task_root
        self._api: RuntimeApi | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output: _Output | None = None
        self._job: Job | None = None
        self._throttle_rng = spec.faults.rng("throttle", spec.function_name, 0)
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def api_address(self) -> str | None:
        return self._api.address if self._api is not None else None

    def run(self, job: Job) -> JobResult:
        """Run one job; raises EnvironmentLostError where the runtime timed out, died or never started."""
        initialization = None
        init_output: list[str] = []
        if self._process is None:
            started = time.time()
            api = self._start()
            waited = api.wait_ready(started + INIT_TIMEOUT_SECONDS)
            init_output = self._take_output()
            if waited != "ready":
                return self._failed_init(job, waited, started, init_output)
            assert api.state.init_done_at is not None
            initialization = (started, api.state.init_done_at)
        api = self._require_api()
        self.jobs += 1
        invocation = Invocation(
            request_id=job.request_id,
            body=json.dumps(job.event).encode(),
            trace_header=job.trace_header,
            function_arn=self.spec.function_arn,
            timeout_seconds=self.spec.timeout_seconds,
            context=job,
        )
        with self._lock:
            self._job = job
            self._throttle_rng = self.spec.faults.rng(
                "throttle", self.spec.function_name, job.sequence, job.attempt
            )
        deadline = time.time() + self.spec.timeout_seconds
        api.hand(invocation)
        waited = api.wait_answered(invocation, deadline)
        if waited != "answered":
            self.stop(graceful=False)
            raise EnvironmentLostError(self._lost_error(job, waited), self._take_output(final=True))
        if api.wait_next(invocation, deadline) != "next":
            self.stop()  # it answered, then exited (or kept busy past its timeout): it takes no more events
        assert invocation.handed_at is not None
        assert invocation.response_started is not None
        assert invocation.response_received is not None
        finished = invocation.next_at if invocation.next_at is not None else time.time()
        error = _error_info(invocation.error) if invocation.error is not None else None
        return JobResult(
            received_at=invocation.handed_at,
            initialization=initialization,
            invocation=(invocation.handed_at, invocation.response_started),
            response_sent=(invocation.response_started, invocation.response_received),
            finished_at=finished,
            response=invocation.response.decode("utf-8", errors="replace")
            if invocation.response is not None
            else None,
            error=error,
            init_error=False,
            init_output=init_output,
            output=self._take_output(),
            max_memory_mb=invocation.max_memory_mb,
        )

    def stop(self, *, graceful: bool = True) -> None:
        """End the process: at once (a timeout), or given a moment to end first; then its API."""
        self.usable = False
        process, api, output = self._process, self._api, self._output
        if process is not None and process.poll() is None:
            if not graceful:
                process.kill()
            else:
                process.terminate()
            try:
                process.wait(_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(_STOP_SECONDS)
        if api is not None:
            api.close()
        if output is not None:
            output.close()

    def _start(self) -> RuntimeApi:
        api = RuntimeApi(self._decide_fault, self._max_memory_mb)
        environment = {
            **self.spec.environment,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "LAMBDA_TASK_ROOT": str(self._task_root),
            "LAMBDA_RUNTIME_DIR": str(self._runtime.directory),
            "AWS_LAMBDA_LOG_STREAM_NAME": _log_stream_name(),
            "PATH": os.pathsep.join(
                [str(self._runtime.interpreter.parent), "/usr/local/bin", "/usr/bin", "/bin"]
            ),
        }
        faults = self._fault_settings()
        if faults:
            environment[FAULTS_VARIABLE] = json.dumps(faults)
        process = subprocess.Popen(  # noqa: S603 - the runtime's interpreter and the emulator's bootstrap
            self._runtime.command(),
            env=environment,
            cwd=self._task_root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches the local Lambda only, which stops us
        )
        assert process.stdout is not None
        self._output = _Output(os.dup(process.stdout.fileno()))
        process.stdout.close()
        self._api, self._process = api, process
        threading.Thread(
            target=self._watch, args=(process, api), name="environment-exit", daemon=True
        ).start()
        return api

    @staticmethod
    def _watch(process: "subprocess.Popen[bytes]", api: RuntimeApi) -> None:
        api.runtime_exited(process.wait())

    def _require_api(self) -> RuntimeApi:
        if self._api is None:
            raise RuntimeError("the environment has not started")
        return self._api

    def _take_output(self, *, final: bool = False) -> list[str]:
        return self._output.take(final=final) if self._output is not None else []

    def _failed_init(self, job: Job, waited: str, started: float, output: list[str]) -> JobResult:
        """Init ended in an error the runtime posted, or the runtime exited: the job fails with it."""
        api = self._require_api()
        if waited == "init_error":
            assert api.state.init_error is not None
            assert api.state.init_error_at is not None
            ended, memory = api.state.init_error_at, api.state.init_error_memory_mb
            error = _error_info(api.state.init_error)
            with contextlib.suppress(subprocess.TimeoutExpired):
                if self._process is not None:
                    self._process.wait(_EXIT_AFTER_INIT_ERROR_SECONDS)
        elif waited == "exited":
            ended, memory = time.time(), 0  # gone: nothing left to measure
            error = ErrorInfo(
                "Runtime.ExitError", f"RequestId: {job.request_id} Error: {self._exit_reason()}"
            )
        else:
            self.stop(graceful=False)
            raise EnvironmentLostError(
                ErrorInfo("Sandbox.Timedout", f"Init timed out after {INIT_TIMEOUT_SECONDS:.2f} seconds"),
                output + self._take_output(final=True),
            )
        output += self._take_output(final=True)
        self.stop()
        self.jobs += 1
        return JobResult(
            received_at=ended,
            initialization=(started, ended),
            invocation=(ended, ended),
            finished_at=ended,
            response=None,
            error=error,
            init_error=True,
            init_output=output,
            output=[],
            max_memory_mb=memory,
        )

    def _lost_error(self, job: Job, waited: str) -> ErrorInfo:
        if waited == "timeout":
            return ErrorInfo(
                "Sandbox.Timedout", f"Task timed out after {self.spec.timeout_seconds:.2f} seconds"
            )
        return ErrorInfo("Runtime.ExitError", f"RequestId: {job.request_id} Error: {self._exit_reason()}")

    def _exit_reason(self) -> str:
        status = self._process.poll() if self._process is not None else None
        if status is None:
            return "Runtime exited without providing a reason"
        if status < 0:
            return f"Runtime exited with error: signal: {_signal_name(-status)}"
        return f"Runtime exited with error: exit status {status}"

    def _fault_settings(self) -> dict[str, object]:
        faults = self.spec.faults
        settings: dict[str, object] = {}
        if faults.throttle > 0:
            settings["throttle"] = {
                "service": faults.throttle_service,
                "error_code": faults.throttle_error_code,
            }
        if faults.error > 0:
            settings["error"] = True
        return settings

    def _decide_fault(self, kind: str, invocation: Invocation) -> dict[str, object]:
        """The bootstrap's question for the invocation in progress: the same seeded decisions as ever."""
        job = invocation.context
        if not isinstance(job, Job):
            return {"inject": False}
        if kind == "error":
            return {"inject": job.injected_error, "attempt": job.attempt}
        if kind == "throttle":
            with self._lock:
                return {"inject": self._throttle_rng.random() < self.spec.faults.throttle}
        return {"inject": False}

    def _max_memory_mb(self) -> int:
        """The process's peak resident set so far (Lambda's `Max Memory Used`), from /proc."""
        if self._process is None:
            return 0
        try:
            status = Path(f"/proc/{self._process.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
        return 0


def _error_info(error: PostedError) -> ErrorInfo:
    return ErrorInfo(error.error_type, error.message, error.stack_trace, error.cause)


def _log_stream_name(now: datetime | None = None) -> str:
    """As Lambda names an environment's log stream: `YYYY/MM/DD/[$LATEST]<32 hex>`."""
    day = (now or datetime.now(UTC)).strftime("%Y/%m/%d")
    return f"{day}/[$LATEST]{uuid.uuid4().hex}"


_SIGNALS = {6: "aborted", 9: "killed", 11: "segmentation fault", 15: "terminated"}  # as Go spells them


def _signal_name(number: int) -> str:
    return _SIGNALS.get(number, f"signal {number}")
