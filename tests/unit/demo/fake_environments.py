"""Execution environments without processes: each job's outcome comes from a script."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from demo.runtime_environment import EnvironmentLostError
from demo.runtime_jobs import EnvironmentSpec, ErrorInfo, Job, JobResult

# Given the job and the environment's number, return None (success), an ErrorInfo (function error), or
# raise EnvironmentLostError (timeout, crash).
Script = Callable[[Job, int], ErrorInfo | None]


def succeed(_job: Job, _number: int) -> ErrorInfo | None:
    return None


def fail(_job: Job, _number: int) -> ErrorInfo | None:
    return ErrorInfo("RecordsFailedError", "1 of 1 records failed", ['  File "handler.py", line 1, in h'])


@dataclass
class FakeEnvironments:
    """The factory the runtime calls; remembers every environment it made and every job they ran."""

    script: Script = succeed
    gate: threading.Event | None = None  # when set, jobs wait for it: environments stay busy
    init_error: ErrorInfo | None = None  # when set, every environment's Init fails with it
    made: list["FakeEnvironment"] = field(default_factory=list)
    started: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def __call__(self, spec: EnvironmentSpec, number: int) -> "FakeEnvironment":
        environment = FakeEnvironment(self, spec, number)
        self.made.append(environment)
        return environment


@dataclass
class FakeEnvironment:
    owner: FakeEnvironments
    spec: EnvironmentSpec
    number: int
    usable: bool = True
    jobs: list[Job] = field(default_factory=list)

    def run(self, job: Job) -> JobResult:
        received = time.time()
        self.jobs.append(job)
        self.owner.started.release()
        if self.owner.gate is not None:
            self.owner.gate.wait(10)
        cold = len(self.jobs) == 1
        if cold and self.owner.init_error is not None:  # as the real environment: Init failed, it is gone
            self.usable = False
            return JobResult(
                received_at=received,
                initialization=(received, received + 0.05),
                invocation=(received + 0.05, received + 0.05),
                finished_at=received + 0.05,
                response=None,
                error=self.owner.init_error,
                init_error=True,
                output=[],
                init_output=["init: imported"],
                max_memory_mb=40,
            )
        try:
            if job.injected_error:  # as the worker does: the handler is not called
                error: ErrorInfo | None = ErrorInfo("InjectedFunctionError", "injected function error")
            else:
                error = self.owner.script(job, self.number)
        except EnvironmentLostError:
            self.usable = False
            raise
        now = time.time()
        initialization = (received, now) if cold else None
        return JobResult(
            received_at=received,
            initialization=initialization,
            invocation=(now, now + 0.001),
            response_sent=(now + 0.001, now + 0.00105),
            finished_at=now + 0.0011,
            response=None if error else '{"written": 1}',
            error=error,
            init_error=False,
            output=[f'{{"message": "handled", "request": "{job.request_id}"}}'],
            init_output=["init: imported"] if cold else [],
            max_memory_mb=64,
        )

    def stop(self) -> None:
        self.usable = False


def segments_by_origin(documents: list[dict[str, Any]], origin: str) -> list[dict[str, Any]]:
    return [document for document in documents if document.get("origin") == origin]
