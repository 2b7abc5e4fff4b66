"""The parent's side of one execution environment: a spawned worker process and the pipe to it."""

import contextlib
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection

from demo.runtime_worker import EnvironmentSpec, ErrorInfo, Job, JobResult

_STOP_SECONDS = 1.0
# A bare interpreter, as Lambda's runtime bootstrap: nothing imported before the handler but the worker loop.
# (multiprocessing's spawn would first re-import the parent's __main__, and with it boto3 and Powertools.)
_BOOTSTRAP = "import sys; from demo.runtime_worker import main; main(int(sys.argv[1]))"


class EnvironmentLostError(Exception):
    """The environment ended during a job (timeout, crash): Lambda reports it as a function error."""

    def __init__(self, error: ErrorInfo) -> None:
        super().__init__(error.message)
        self.error = error


class Environment:
    """Started on its first job (a cold start), reused for later ones while it lives."""

    def __init__(self, spec: EnvironmentSpec, number: int) -> None:
        self.spec = spec
        self.number = number
        self.jobs = 0
        self.usable = True
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def run(self, job: Job) -> JobResult:
        """Run one job; raises EnvironmentLostError where the process timed out or died."""
        connection = self._start() if self._connection is None else self._connection
        self.jobs += 1
        try:
            connection.send(job)
            if not connection.poll(self.spec.timeout_seconds):
                self.stop(graceful=False)  # Lambda ends a timed-out environment at once
                raise EnvironmentLostError(
                    ErrorInfo(
                        "Sandbox.Timedout", f"Task timed out after {self.spec.timeout_seconds:.2f} seconds"
                    )
                )
            result: JobResult = connection.recv()
        except (EOFError, OSError, BrokenPipeError) as error:
            self.stop()
            raise EnvironmentLostError(
                ErrorInfo(
                    "Runtime.ExitError", f"RequestId: {job.request_id} Error: Runtime exited ({error!r})"
                )
            ) from None
        if result.init_error:
            self.stop()  # Lambda discards an environment whose init failed
        return result

    def stop(self, *, graceful: bool = True) -> None:
        """Ask the process to exit; terminate it if it does not (or at once), kill it if that fails too."""
        self.usable = False
        connection, process = self._connection, self._process
        self._connection = None
        if connection is not None:
            with contextlib.suppress(OSError, ValueError):  # already gone
                connection.send(None)
        if process is not None:
            try:
                process.wait(_STOP_SECONDS if graceful else 0)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(_STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(_STOP_SECONDS)
        if connection is not None:
            connection.close()

    def _start(self) -> Connection:
        ours, theirs = socket.socketpair()
        environment = {
            **self.spec.environment,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(path for path in sys.path if path),
        }
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and bootstrap
            [sys.executable, "-c", _BOOTSTRAP, str(theirs.fileno())],
            env=environment,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal reaches the runtime only, which stops us
        )
        theirs.close()
        connection = Connection(ours.detach())
        connection.send(self.spec)
        self._process, self._connection = process, connection
        return connection
