"""Settings of the local Lambda runtime: one function's configuration, retries, and injected faults."""

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

PYTHON_RUNTIME = "python3.13"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"  # LocalLambdaContext's account
CODE_ROOT = Path(__file__).resolve().parents[1]  # src/, what `sam build` packages as the function's code

# Lambda's two styles of function segment (DESIGN.md, "Lambda's two trace formats"); lambda_segments.py
# builds both. Named here, not there, so the worker process's import stays as light as Lambda's bootstrap.
TraceFormat = Literal["v1", "v2"]
TRACE_FORMATS: tuple[TraceFormat, ...] = ("v1", "v2")
DEFAULT_TRACE_FORMAT: TraceFormat = "v2"  # every function on AWS is moving to the new style


@dataclass(frozen=True)
class FaultInjection:
    """Faults that happen for real in the local runtime; each a probability in [0, 1], decisions seeded.

    - `throttle`: a downstream call (`throttle_service`) is throttled for its whole duration: every HTTP
      attempt the SDK makes gets DynamoDB's HTTP 400 `throttle_error_code` (a botocore before-send hook on
      every client the function creates), so the call fails after the SDK's retries (with their real
      backoff) and its X-Ray subsegment carries the flags the X-Ray SDK sets for it (`error`, and `fault`
      as it records the exception; `throttle` only for HTTP 429). The hook is the emulator's bootstrap's
      (lambda_bootstrap.py, outside the function's package), set on botocore when the function imports it;
      the decisions are the local Lambda's, per call, seeded by the event and attempt.
    - `error`: an attempt raises InjectedFunctionError instead of running the handler (nothing written),
      a function error Lambda retries; decided anew for each attempt, raised by the same bootstrap through
      awslambdaric's error path.
    - `drop`: an accepted event is never invoked (a lost object: no invocation, no trace of it).
    """

    throttle: float = 0.0
    error: float = 0.0
    drop: float = 0.0
    seed: int = 0
    throttle_service: str = "dynamodb"
    throttle_error_code: str = (
        "ThrottlingException"  # on-demand tables; provisioned: ProvisionedThroughput...
    )

    def __post_init__(self) -> None:
        for name in ("throttle", "error", "drop"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault {name}={value}: a probability must lie between 0 and 1")

    @property
    def any(self) -> bool:
        return self.throttle > 0 or self.error > 0 or self.drop > 0

    def decides(self, kind: str, function_name: str, sequence: int, attempt: int = 0) -> bool:
        """Whether fault `kind` hits this event/attempt; the same inputs always give the same answer."""
        probability: float = getattr(self, kind)
        if probability <= 0:
            return False
        return self.rng(kind, function_name, sequence, attempt).random() < probability

    def rng(self, kind: str, function_name: str, sequence: int, attempt: int = 0) -> random.Random:
        """A generator of its own per decision, so scheduling order never changes the outcome."""
        return random.Random(f"{self.seed}|{kind}|{function_name}|{sequence}|{attempt}")


def parse_faults(text: str, seed: int = 0) -> FaultInjection:
    """`throttle=0.1,error=0.05,drop=0.02` (the demo's `--inject`); any subset, empty for none."""
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, equals, number = item.partition("=")
        name = name.strip()
        if not equals or name not in ("throttle", "error", "drop"):
            raise ValueError(f"--inject {item!r}: expected throttle=P, error=P or drop=P")
        try:
            values[name] = float(number)
        except ValueError:
            raise ValueError(f"--inject {item!r}: {number!r} is not a number") from None
    return FaultInjection(
        throttle=values.get("throttle", 0.0),
        error=values.get("error", 0.0),
        drop=values.get("drop", 0.0),
        seed=seed,
    )


def retry_delays(max_retry_attempts: int, base_delay_seconds: float) -> list[float]:
    """The wait before each retry; Lambda waits 1 minute then 2, here `base` then twice `base`, and so on."""
    return [base_delay_seconds * 2**retry for retry in range(max_retry_attempts)]


@dataclass(frozen=True)
class FunctionConfig:
    """One function as template.yaml declares it, for the local runtime."""

    name: str
    handler: str  # `module.function`, as the template's Handler (e.g. handlers.pipeline.lambda_handler)
    environment: Mapping[str, str] = field(default_factory=dict)  # the function's own variables
    concurrency: int = 2  # execution environments at most (reserved concurrency)
    memory_mb: int = 512
    timeout_seconds: float = 30.0
    max_retry_attempts: int = 2  # async retries after the first attempt (Lambda: 0 to 2, default 2)
    retry_delay_seconds: float = 0.2  # before the first retry; doubles for each next one
    on_failure_queue_url: str | None = None  # SQS destination for events that exhausted their retries
    faults: FaultInjection = field(default_factory=FaultInjection)
    tracing: bool = True  # Tracing: Active
    code_root: Path = CODE_ROOT
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    trace_format: TraceFormat = DEFAULT_TRACE_FORMAT  # the style of the function segments sent to X-Ray
    # An emulated Lambda extension: after each response the environment stays busy this long (its
    # post-invoke work) before it takes the next event; 0: no extension.
    extension_overhead_ms: float = 0.0
    # Top-level modules left out of the function's package, as a bundler that missed them would (e.g.
    # aws_xray_sdk): the package is the code root and its requirements without them (lambda_package.py).
    package_without: tuple[str, ...] = ()
    # The function's layers, in the template's order: each a layer's content folder (its ContentUri, with a
    # requirements.txt), built as sam build builds a python3.13 layer and put where Lambda puts /opt/python.
    layers: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        module, dot, function = self.handler.rpartition(".")
        if not dot or not module or not function:
            raise ValueError(f"handler {self.handler!r}: expected module.function")
        if self.concurrency < 1:
            raise ValueError(f"concurrency {self.concurrency}: at least 1")
        if not 0 <= self.max_retry_attempts <= 2:
            raise ValueError(f"max_retry_attempts {self.max_retry_attempts}: Lambda allows 0 to 2")
        if self.trace_format not in TRACE_FORMATS:
            raise ValueError(f"trace_format {self.trace_format!r}: expected {' or '.join(TRACE_FORMATS)}")
        if not (math.isfinite(self.extension_overhead_ms) and self.extension_overhead_ms >= 0):
            raise ValueError(f"extension_overhead_ms {self.extension_overhead_ms}: 0 or more milliseconds")
        if isinstance(self.package_without, str):
            raise ValueError(f"package_without {self.package_without!r}: a tuple of module names")
        if isinstance(self.layers, (str, Path)):
            raise ValueError(f"layers {self.layers!r}: a tuple of layer folders")

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    def lambda_environment(self, daemon_address: str | None) -> dict[str, str]:
        """What the Lambda service sets in an execution environment, then the function's own variables.

        `_X_AMZN_TRACE_ID` is set per invocation by the runtime (awslambdaric, from the Runtime API's
        `Lambda-Runtime-Trace-Id`). `LAMBDA_TASK_ROOT` and `LAMBDA_RUNTIME_DIR` name the code root here; an
        execution environment sets them to its package and its runtime folder, and adds
        `AWS_LAMBDA_RUNTIME_API` and `AWS_LAMBDA_LOG_STREAM_NAME`.
        """
        variables = {
            "_HANDLER": self.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{PYTHON_RUNTIME}",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "LAMBDA_TASK_ROOT": str(self.code_root),
            "LAMBDA_RUNTIME_DIR": str(self.code_root),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
        }
        if self.tracing and daemon_address:
            host, _, port = daemon_address.rpartition(":")
            variables |= {
                "AWS_XRAY_DAEMON_ADDRESS": daemon_address,
                "_AWS_XRAY_DAEMON_ADDRESS": host,
                "_AWS_XRAY_DAEMON_PORT": port,
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            }
        # Reserved variables win over the function's, as in Lambda.
        return {**self.environment, **variables}
