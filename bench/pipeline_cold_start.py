"""Cold start and warm-path cost of both pipeline twins, against a bare boto3 handler.

    .venv/bin/python -m bench.pipeline_cold_start [--runs 21] [--no-bytecode-runs 5] [--calls 5000]
        [--warm-repeats 3] [--src DIR]

The twins are `handlers.pipeline` (Powertools' Tracer on the X-Ray SDK) and `handlers.pipeline_otel`
(OpenTelemetry, its packages in the layer `layers/opentelemetry/`). Every measurement runs
`bench/pipeline_child.py` in a fresh interpreter that sees only what Lambda would: the function's package and
the twin's layer as the local Lambda builds them (demo.lambda_package, sam build's way, cached in
.lambda-cache/), on the search path in Lambda's order (the package, then the layer's `python` folder where
Lambda has /opt/python), then the standard library; nothing of the dev venv (`-I -S`). Its environment looks
like the Lambda one (LAMBDA_TASK_ROOT, function name, trace header, X-Ray daemon address), so tracing is
active as on Lambda (spans and segments go to a UDP port nobody listens on). Variants run interleaved, so a
busy machine slows all of them alike.

Bytecode: sam build packages no bytecode and Lambda's file system is read-only, so on Lambda every cold start
compiles every module of the package and layer it imports. The main tables have bytecode warm instead (kept
in a scratch `pycache_prefix`, filled by one untimed import per variant first), which is what the code
itself costs; a second, shorter set of runs compiles as Lambda does (`-B`, the cache's packages hold none).

Prints a markdown section for BENCHMARKS.md. It reports numbers; it checks nothing.
"""

import argparse
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
from packaging.utils import canonicalize_name

from bench.pipeline_child import RESULT_MARKER
from bench.pipeline_importtime import ImportTree, group_self_times, parse_importtime
from demo.lambda_bootstrap import layer_paths
from demo.lambda_package import PackageBuilder, PackageRequest
from demo.moto_server import moto_server

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CHILD = BENCH / "pipeline_child.py"
EVENT = REPO / "events" / "s3-put.json"
LAYER = REPO / "layers" / "opentelemetry"
OURS = "handlers.pipeline"
TWIN = "handlers.pipeline_otel"
BARE = "bare_pipeline_handler"
TABLE = "items"
# Lambda's _X_AMZN_TRACE_ID for a sampled invocation; the X-Ray SDK builds its facade segment from it, the
# OpenTelemetry twin its SERVER span's parent.
TRACE_HEADER = "Root=1-67447b6c-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
PACKAGES = (
    "aws-lambda-powertools",
    "aws-xray-sdk",
    "boto3",
    "botocore",
    "pydantic",
    "wrapt",
    "aws-opentelemetry-distro",
    "opentelemetry-sdk",
    "opentelemetry-instrumentation-botocore",
    "protobuf",
)

# Each twin's imports in the order it makes them, to see what each adds (each stage's import time is what it
# adds on top of the stages before it). The last stage is the module body.
STAGES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    OURS: (
        ("boto3 (+ botocore.config)", ("boto3", "botocore.config")),
        ("aws_lambda_powertools (Logger, Metrics, Tracer classes)", ("aws_lambda_powertools",)),
        ("aws_xray_sdk.core", ("aws_xray_sdk.core",)),
        (
            "pipeline.* domain modules (no pydantic on this path)",
            ("pipeline.invocation", "pipeline.settings"),
        ),
        ("handlers.pipeline body (Logger(), Tracer() + patch_all)", (OURS,)),
    ),
    TWIN: (
        ("boto3 (+ botocore.config)", ("boto3", "botocore.config")),
        ("aws_lambda_powertools (Logger)", ("aws_lambda_powertools",)),
        ("pipeline.* domain modules", ("pipeline.invocation", "pipeline.settings")),
        ("OpenTelemetry SDK (trace, resources)", ("opentelemetry.sdk.trace", "opentelemetry.sdk.resources")),
        (
            "the distro's OTLPUdpSpanExporter (OTLP encoders, protobuf, the SDK's metrics)",
            ("amazon.opentelemetry.distro.otlp_udp_exporter",),
        ),
        (
            "opentelemetry.instrumentation.botocore (+ wrapt, semconv)",
            ("opentelemetry.instrumentation.botocore",),
        ),
        (
            "X-Ray propagator, AWS SDK extension (id generator, Lambda resource detector)",
            (
                "opentelemetry.propagators.aws",
                "opentelemetry.sdk.extension.aws.trace",
                "opentelemetry.sdk.extension.aws.resource",
            ),
        ),
        ("instrumentation.otel", ("instrumentation.otel",)),
        ("handlers.pipeline_otel body (Logger(), LambdaTracing.for_lambda(), instrument())", (TWIN,)),
    ),
}


@dataclass(frozen=True)
class Variant:
    label: str
    module: str
    tracing: bool
    function: str = "tracecanary-pipeline"  # AWS_LAMBDA_FUNCTION_NAME: the twin's resource names its service
    layer: bool = False  # the OpenTelemetry layer on the path, where Lambda has /opt/python


# The brief's fake client (put_item returns {}), and a real botocore client answered in-process.
WARM_CLIENTS = ("fake", "botocore")
WARM_CLIENT_TEXT = {
    "fake": "DynamoDB client = an object whose `put_item` returns `{}` (no botocore, so no subsegment or "
    "CLIENT span for the call)",
    "botocore": "DynamoDB client = the real boto3 client, its HTTP send answered in-process by a "
    "`before-send` hook (serialising, signing, parsing and, with tracing on, X-Ray's DynamoDB subsegment or "
    "OpenTelemetry's CLIENT span are paid; the network is not)",
}

# The bare handler ignores the Powertools settings; it runs in the same environment as ours with tracing on.
BARE_VARIANT = Variant("bare boto3 handler (baseline)", BARE, tracing=True)
TRACED = Variant("handlers.pipeline, tracing on (as on Lambda)", OURS, tracing=True)
UNTRACED = Variant("handlers.pipeline, POWERTOOLS_TRACE_DISABLED=true", OURS, tracing=False)
OTEL = Variant(
    "handlers.pipeline_otel, OpenTelemetry layer (as on Lambda)",
    TWIN,
    tracing=True,
    function="tracecanary-pipeline-otel",
    layer=True,
)
VARIANTS = (BARE_VARIANT, TRACED, UNTRACED, OTEL)
TWINS = (TRACED, OTEL)  # the two as deployed


@dataclass
class ColdSamples:
    """Seconds per run. Wall time is what a user waits; CPU time is the same work without the time other
    processes on a shared machine took the CPU away (imports are CPU-bound once files are cached)."""

    import_wall: list[float] = field(default_factory=list)
    import_cpu: list[float] = field(default_factory=list)
    first_call_wall: list[float] = field(default_factory=list)
    first_call_cpu: list[float] = field(default_factory=list)
    total_wall: list[float] = field(default_factory=list)  # import + first call, in one interpreter
    total_cpu: list[float] = field(default_factory=list)


def p90(values: Sequence[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Packaged:
    """The function's package and the OpenTelemetry layer, as the local Lambda builds them."""

    package: Path  # LAMBDA_TASK_ROOT
    layer: Path  # the layer's root: what Lambda's /opt holds of it

    @classmethod
    def build(cls, src: Path) -> "Packaged":
        builder = PackageBuilder()
        package = builder.build(PackageRequest.for_code(src)).path
        layer = builder.build_layer(PackageRequest.for_code(LAYER)).path
        compiled = [str(path) for root in (package, layer) for path in root.rglob("__pycache__")][:3]
        if compiled:  # then the no-bytecode runs would not compile what Lambda compiles
            raise SystemExit(f"the built package or layer holds bytecode, unlike sam build's: {compiled}")
        return cls(package, layer)

    def search_path(self, variant: Variant) -> list[str]:
        """Lambda's order: the code, its layer's folders; the bare handler's code is bench/."""
        code = [str(BENCH)] if variant.module == BARE else []
        layers = layer_paths([str(self.layer)]) if variant.layer else []
        return [*code, str(self.package), *layers]


def folder_size(folder: Path) -> int:
    """Bytes of the files under `folder`: the unzipped size Lambda's 250 MB limit counts."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def unused_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def lambda_environment(
    task_root: Path, aws: dict[str, str], xray_port: int, variant: Variant
) -> dict[str, str]:
    """A Lambda-like environment, built from nothing so the developer's shell leaks nothing in."""
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        # Powertools enables its Tracer only when LAMBDA_TASK_ROOT is set and AWS_SAM_LOCAL is not; the X-Ray
        # SDK then uses its Lambda context, which takes the trace from _X_AMZN_TRACE_ID.
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": f"{variant.module}.lambda_handler",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": variant.function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{variant.function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/25/[$LATEST]0123456789abcdef",
        "_X_AMZN_TRACE_ID": TRACE_HEADER,
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{xray_port}",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        # The function's own settings, as template.yaml sets them.
        "ITEMS_TABLE_NAME": TABLE,
        "PIPELINE_NAME": "tracecanary",
        "POWERTOOLS_SERVICE_NAME": "pipeline",
        "POWERTOOLS_METRICS_NAMESPACE": "TraceCanary",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        **aws,
    }
    if not variant.tracing:
        environment["POWERTOOLS_TRACE_DISABLED"] = "true"
    return environment


@dataclass(frozen=True)
class Interpreter:
    """How a child starts: isolated from the dev venv, with its bytecode warm in a scratch folder or none."""

    pycache: Path | None  # None: compile every module, write nothing (as Lambda runs a sam-built package)

    def flags(self) -> list[str]:
        if self.pycache is None:
            return ["-I", "-S", "-B"]
        return ["-I", "-S", "-X", f"pycache_prefix={self.pycache}"]


@dataclass(frozen=True)
class Sandbox:
    """One variant's Lambda-like process: its environment, its search path, how its interpreter starts."""

    environment: dict[str, str]
    search_path: list[str]
    interpreter: Interpreter


def run_child(
    sandbox: Sandbox, mode: str, args: Iterable[str], flags: Sequence[str] = ()
) -> tuple[dict[str, Any], str]:
    """Run one measurement in a fresh interpreter; its result and its stderr."""
    environment = sandbox.environment
    command = [
        sys.executable,
        *sandbox.interpreter.flags(),
        *flags,
        str(CHILD),
        os.pathsep.join(sandbox.search_path),
        mode,
        *args,
    ]
    completed = subprocess.run(
        command,
        env=environment,
        cwd=environment["LAMBDA_TASK_ROOT"],  # Lambda starts the runtime in the task root
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(
            f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_MARKER))
    return result, completed.stderr


def create_items_table(aws: dict[str, str]) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=aws["AWS_ENDPOINT_URL"],
        region_name=aws["AWS_REGION"],
        aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=aws["AWS_SESSION_TOKEN"],
    )
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "itemID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "itemID", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class Results:
    packaged: Packaged
    cold: dict[Variant, ColdSamples]
    cold_uncompiled: dict[Variant, ColdSamples]  # no bytecode, as on Lambda
    responses: dict[Variant, Any]
    stages_s: dict[str, dict[str, list[float]]]  # by twin module, then stage
    importtime: dict[str, list[ImportTree]]  # by twin module
    warm_ns: dict[tuple[str, Variant], list[list[int]]]
    warm_cpu_us: dict[tuple[str, Variant], list[float]]  # per call: the timed loop's CPU time / calls
    warm_responses: dict[tuple[str, Variant], Any]


def measure(
    src: Path, *, runs: int, uncompiled_runs: int, calls: int, warmup: int, warm_repeats: int
) -> Results:
    xray_port = unused_udp_port()
    packaged = Packaged.build(src)
    results = Results(
        packaged=packaged,
        cold={variant: ColdSamples() for variant in VARIANTS},
        cold_uncompiled={variant: ColdSamples() for variant in VARIANTS},
        responses={},
        stages_s={module: {label: [] for label, _ in stages} for module, stages in STAGES.items()},
        importtime={twin.module: [] for twin in TWINS},
        warm_ns={(client, variant): [] for client in WARM_CLIENTS for variant in VARIANTS},
        warm_cpu_us={(client, variant): [] for client in WARM_CLIENTS for variant in VARIANTS},
        warm_responses={},
    )
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as scratch, moto_server() as local_aws:
        warm = Interpreter(Path(scratch) / "pycache")
        aws = local_aws.environment()
        create_items_table(aws)
        sandboxes = {
            variant: Sandbox(
                lambda_environment(packaged.package, aws, xray_port, variant),
                packaged.search_path(variant),
                warm,
            )
            for variant in VARIANTS
        }
        uncompiled = {
            variant: Sandbox(sandbox.environment, sandbox.search_path, Interpreter(None))
            for variant, sandbox in sandboxes.items()
        }
        for variant in VARIANTS:  # untimed: the bytecode of all a first call imports, into the scratch folder
            arguments = [variant.module, str(EVENT), f"-{variant.module}-{variant.tracing}-bytecode"]
            run_child(sandboxes[variant], "invoke", arguments)
        for setups, count, cold in (
            (sandboxes, runs, results.cold),
            (uncompiled, uncompiled_runs, results.cold_uncompiled),
        ):
            for run in range(count):
                # Rotate the order so no variant always runs right after another's cache-warming.
                shift = run % len(VARIANTS)
                for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                    sandbox, samples = setups[variant], cold[variant]
                    imported, _ = run_child(sandbox, "import", [variant.module])
                    samples.import_wall.append(imported["import_s"])
                    samples.import_cpu.append(imported["import_cpu_s"])
                    compiled = sandbox.interpreter.pycache is not None
                    suffix = f"-{variant.module}-{variant.tracing}-{compiled}-{run}"
                    invoked, _ = run_child(sandbox, "invoke", [variant.module, str(EVENT), suffix])
                    samples.first_call_wall.append(invoked["first_call_s"])
                    samples.first_call_cpu.append(invoked["first_call_cpu_s"])
                    samples.total_wall.append(invoked["import_s"] + invoked["first_call_s"])
                    samples.total_cpu.append(invoked["import_cpu_s"] + invoked["first_call_cpu_s"])
                    results.responses[variant] = invoked["response"]
        for _ in range(runs):
            for twin in TWINS:
                names = [name for _, stage in STAGES[twin.module] for name in stage]
                staged, _ = run_child(sandboxes[twin], "staged", names)
                cumulative = staged["cumulative_cpu_s"]
                position, previous = 0, 0.0
                for label, stage in STAGES[twin.module]:
                    position += len(stage)
                    results.stages_s[twin.module][label].append(cumulative[position - 1] - previous)
                    previous = cumulative[position - 1]
        for _ in range(max(1, runs // 4)):
            for twin in TWINS:
                _, stderr = run_child(sandboxes[twin], "import", [twin.module], flags=("-X", "importtime"))
                results.importtime[twin.module].append(parse_importtime(stderr))
        # The warm path needs no server: both kinds of client answer in-process.
        for _ in range(warm_repeats):
            for client, variant in results.warm_ns:
                arguments = [variant.module, str(EVENT), str(calls), str(warmup), client]
                measured, _ = run_child(sandboxes[variant], "warm", arguments)
                results.warm_ns[client, variant].append(measured["durations_ns"])
                results.warm_cpu_us[client, variant].append(measured["loop_cpu_s"] / calls * 1e6)
                results.warm_responses[client, variant] = measured["response"]
    return results


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def packaged_version(package: str, packaged: Packaged) -> str:
    """The version in the built package or layer (what the child imports), not the dev venv's."""
    folders = [str(packaged.package), *layer_paths([str(packaged.layer)])]
    for distribution in metadata.distributions(path=folders):
        if canonicalize_name(distribution.metadata["Name"] or "") == canonicalize_name(package):
            return str(distribution.version)
    return "not packaged"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x"


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def render(
    results: Results, args: argparse.Namespace, started: datetime, load_before: tuple[float, float, float]
) -> str:
    load = os.getloadavg()
    packaged = results.packaged
    package_size, layer_size = folder_size(packaged.package), folder_size(packaged.layer)
    lines = [
        "## Pipeline function: cold start and warm overhead, both twins",
        "",
        f"`.venv/bin/python -m bench.pipeline_cold_start --runs {args.runs} --no-bytecode-runs "
        f"{args.no_bytecode_runs} --calls {args.calls} --warmup {args.warmup} --warm-repeats "
        f"{args.warm_repeats}`"
        + (f" `--src {args.src}`" if args.src != REPO / "src" else "")
        + f", {started:%Y-%m-%d %H:%M} UTC.",
        "",
        f"On: {len(os.sched_getaffinity(0))} CPUs ({cpu_model()}), {platform.system()} {platform.release()} "
        f"{platform.machine()}, Python {platform.python_version()}; "
        + ", ".join(f"{package} {packaged_version(package, packaged)}" for package in PACKAGES)
        + f". Load average (1/5/15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}, after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (the machine is shared).",
        "",
        "What was run: each cold sample is a fresh interpreter (`bench/pipeline_child.py`, `-I -S`) whose "
        "search path is the function's package as the local Lambda builds it (sam build's way, "
        f"{megabytes(package_size)} unzipped), for the OpenTelemetry twin followed by its layer's folders "
        f"where Lambda has /opt/python ({megabytes(layer_size)} unzipped; "
        f"{megabytes(package_size + layer_size)} of Lambda's 250 MB with the package), then the standard "
        "library: nothing of the dev venv. Its environment is Lambda-like (LAMBDA_TASK_ROOT, _HANDLER, "
        "AWS_LAMBDA_FUNCTION_NAME, a sampled `_X_AMZN_TRACE_ID`, AWS_XRAY_DAEMON_ADDRESS = an unused UDP "
        "port), so Powertools' Tracer imports aws_xray_sdk and patches botocore, and the twin sets up "
        "OpenTelemetry and sends its spans, as on Lambda. Bytecode is warm (a scratch `pycache_prefix` "
        "filled by one untimed first call per variant) except in the table that says otherwise. The first "
        "call writes one item (a new key each run) to a moto server started by the benchmark "
        "(`AWS_ENDPOINT_URL`, dummy credentials). Variants run interleaved, in rotating order. The baseline "
        "is `bench/bare_pipeline_handler.py` (its boto3 the package's): the same conditional PutItem, no "
        "validation, logs, metrics or tracing; all build their client on the first call.",
        "",
    ]
    lines += render_cold(results.cold, args.runs, "")
    lines += [
        "",
        "First-call responses: "
        + "; ".join(f"{variant.label}: `{json.dumps(results.responses[variant])}`" for variant in VARIANTS),
    ]
    lines += render_cold(
        results.cold_uncompiled,
        args.no_bytecode_runs,
        ", no bytecode: every module of the package and layer compiled, as on Lambda",
        note="Run with `-B` on the cache's package and layer, which hold no bytecode (sam build writes none "
        "and Lambda's file system is read-only): what a cold start on Lambda compiles besides running. The "
        "standard library keeps its bytecode, as Lambda's runtime has it.",
    )
    for twin in TWINS:
        lines += render_stages(results.stages_s[twin.module], twin, args.runs)
    for twin in TWINS:
        lines += render_importtime(results.importtime[twin.module], twin.module)
    lines += render_warm(results, args)
    lines += render_goals(results)
    return "\n".join(lines)


def render_cold(cold: dict[Variant, ColdSamples], runs: int, condition: str, note: str = "") -> list[str]:
    def median(values: list[float]) -> str:
        return ms(statistics.median(values))

    base = cold[BARE_VARIANT]
    lines = [
        "",
        f"### Cold import ({runs} fresh interpreters per variant{condition}; milliseconds)",
        "",
        *([note, ""] if note else []),
        "| handler | wall median | wall p90 | wall min | CPU median | CPU p90 | vs bare (wall median) "
        "| vs bare (CPU median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in VARIANTS:
        samples = cold[variant]
        lines.append(
            f"| {variant.label} | {median(samples.import_wall)} | {ms(p90(samples.import_wall))} "
            f"| {ms(min(samples.import_wall))} | {median(samples.import_cpu)} "
            f"| {ms(p90(samples.import_cpu))} "
            f"| {ratio(statistics.median(samples.import_wall), statistics.median(base.import_wall))} "
            f"| {ratio(statistics.median(samples.import_cpu), statistics.median(base.import_cpu))} |"
        )
    lines += [
        "",
        f"### Cold import + first invocation ({runs} fresh interpreters per variant{condition}; "
        "milliseconds)",
        "",
        "The first call builds the DynamoDB client and writes one item to the moto server (whose own time "
        "is in the wall time, not in the handler's CPU time).",
        "",
        "| handler | first call wall median | first call CPU median | total wall median | total wall p90 "
        "| total CPU median | vs bare (wall median) | vs bare (CPU median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in VARIANTS:
        samples = cold[variant]
        lines.append(
            f"| {variant.label} | {median(samples.first_call_wall)} | {median(samples.first_call_cpu)} "
            f"| {median(samples.total_wall)} | {ms(p90(samples.total_wall))} | {median(samples.total_cpu)} "
            f"| {ratio(statistics.median(samples.total_wall), statistics.median(base.total_wall))} "
            f"| {ratio(statistics.median(samples.total_cpu), statistics.median(base.total_cpu))} |"
        )
    return lines


def render_stages(stages_s: dict[str, list[float]], twin: Variant, runs: int) -> list[str]:
    lines = [
        "",
        f"### What each import adds ({twin.module}, tracing on; median of {runs} interpreters)",
        "",
        "Imported one after the other in the handler's own order; each row is the CPU time it adds on top "
        "of the rows above it.",
        "",
        "| stage | adds (ms CPU) | share |",
        "|---|---:|---:|",
    ]
    medians = {label: statistics.median(values) for label, values in stages_s.items()}
    total = sum(medians.values())
    lines += [f"| {label} | {ms(value)} | {value / total:.0%} |" for label, value in medians.items()]
    lines.append(f"| total | {ms(total)} | |")
    return lines


def render_importtime(trees: list[ImportTree], root: str) -> list[str]:
    """Medians over the runs of `-X importtime` (which inflates every number; the shares are what count)."""
    groups: dict[str, list[float]] = {}
    for tree in trees:
        for group, micros in group_self_times(tree, root).items():
            groups.setdefault(group, []).append(micros)
    group_medians = sorted(
        ((group, statistics.median(values)) for group, values in groups.items()), key=lambda pair: -pair[1]
    )
    total = sum(value for _, value in group_medians)
    lines = [
        "",
        f"### `python -X importtime` of {root} (tracing on; median of {len(trees)} runs)",
        "",
        "Self time summed by who owns the module (stdlib modules counted once, under whoever imports them "
        "first; importtime's own overhead inflates the absolute numbers):",
        "",
        "| owner | self time (ms) | share |",
        "|---|---:|---:|",
    ]
    lines += [f"| {group} | {micros / 1000:.1f} | {micros / total:.0%} |" for group, micros in group_medians]
    lines.append(f"| total | {total / 1000:.1f} | |")
    cumulative: dict[str, list[int]] = {}
    for tree in trees:
        for entry in tree.subtree(root):
            cumulative.setdefault(entry.name, []).append(entry.cumulative_us)
    top = sorted(
        (
            (name, statistics.median(values))
            for name, values in cumulative.items()
            if len(values) == len(trees)
        ),
        key=lambda pair: -pair[1],
    )
    lines += ["", "Top cumulative entries:", "", "| module | cumulative (ms) |", "|---|---:|"]
    lines += [f"| `{name}` | {micros / 1000:.1f} |" for name, micros in top[:20]]
    return lines


def render_warm(results: Results, args: argparse.Namespace) -> list[str]:
    lines = [
        "",
        f"### Warm path ({args.calls} calls after {args.warmup} warm-up, {args.warm_repeats} fresh processes "
        "per variant; microseconds per invocation)",
        "",
        "In-process, the real `lambda_handler` with its decorators and `item_store` replaced by one "
        "returning a `DynamoDbItemStore` over the client below (the bare handler gets the same client), "
        "the same event every call; every call is a write. stdout (logs, EMF) goes to /dev/null at the "
        "file-descriptor level, so printing is paid but not shown; with tracing on, X-Ray subsegments are "
        "built and sent by UDP, and the twin's spans are built, flushed and sent as OTLP by UDP every "
        "invocation. Each figure is the median over the processes of that process's per-call "
        "statistic; CPU mean is the timed loop's CPU time over the calls (it leaves out preemption by "
        "other processes, which on a shared machine is most of what the wall mean adds).",
    ]
    for client in WARM_CLIENTS:
        base_median = _warm_stat(results.warm_ns[client, BARE_VARIANT], statistics.median)
        lines += [
            "",
            f"{WARM_CLIENT_TEXT[client]}:",
            "",
            "| handler | wall median | wall p90 | wall mean | CPU mean | overhead vs bare (wall median) "
            "| overhead vs bare (CPU mean) | ratio (wall median) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        base_cpu = statistics.median(results.warm_cpu_us[client, BARE_VARIANT])
        for variant in VARIANTS:
            repeats = results.warm_ns[client, variant]
            median = _warm_stat(repeats, statistics.median)
            cpu = statistics.median(results.warm_cpu_us[client, variant])
            lines.append(
                f"| {variant.label} | {median / 1000:.1f} | {_warm_stat(repeats, p90) / 1000:.1f} "
                f"| {_warm_stat(repeats, statistics.fmean) / 1000:.1f} | {cpu:.1f} "
                f"| {(median - base_median) / 1000:+.1f} | {cpu - base_cpu:+.1f} "
                f"| {median / base_median:.1f}x |"
            )
    lines += [
        "",
        "Warm responses (fake client): "
        + "; ".join(
            f"{variant.label}: `{json.dumps(results.warm_responses['fake', variant])}`"
            for variant in VARIANTS
        ),
    ]
    return lines


def _warm_stat(repeats: list[list[int]], statistic: Any) -> float:
    return float(statistics.median(statistic(durations) for durations in repeats))


def render_goals(results: Results) -> list[str]:
    def cold_ratio(cold: dict[Variant, ColdSamples], variant: Variant, measure: str) -> float:
        values: list[float] = getattr(cold[variant], measure)
        base: list[float] = getattr(cold[BARE_VARIANT], measure)
        return statistics.median(values) / statistics.median(base)

    def extra_ms(variant: Variant) -> float:
        cold = results.cold
        return statistics.median(cold[variant].import_cpu) - statistics.median(cold[BARE_VARIANT].import_cpu)

    def overhead_us(client: str, variant: Variant) -> float:
        ours = _warm_stat(results.warm_ns[client, variant], statistics.median)
        return (ours - _warm_stat(results.warm_ns[client, BARE_VARIANT], statistics.median)) / 1000

    def cpu_overhead_us(client: str, variant: Variant) -> float:
        cpu = results.warm_cpu_us
        return statistics.median(cpu[client, variant]) - statistics.median(cpu[client, BARE_VARIANT])

    def twin_lines(variant: Variant) -> list[str]:
        cold, uncompiled = results.cold, results.cold_uncompiled
        return [
            f"- Cold import: {cold_ratio(cold, variant, 'import_cpu'):.2f}x the bare handler's in CPU time "
            f"({cold_ratio(cold, variant, 'import_wall'):.2f}x in wall time), +{ms(extra_ms(variant))} ms "
            "CPU; "
            f"import + first call {cold_ratio(cold, variant, 'total_cpu'):.2f}x CPU; without bytecode, as on "
            f"Lambda, import + first call {cold_ratio(uncompiled, variant, 'total_cpu'):.2f}x CPU "
            f"({ms(statistics.median(uncompiled[variant].total_cpu))} ms).",
            f"- Warm overhead: {overhead_us('fake', variant):.0f} µs per invocation (wall median; "
            f"{cpu_overhead_us('fake', variant):.0f} µs CPU mean) with the fake client, "
            f"{overhead_us('botocore', variant):.0f} µs ({cpu_overhead_us('botocore', variant):.0f} µs CPU) "
            "with the real botocore client, the DynamoDB call's subsegment or span included.",
        ]

    return [
        "",
        "### handlers.pipeline against its goal (cold import at most 1.5x the bare handler's, warm overhead "
        "under 1 ms)",
        "",
        *twin_lines(TRACED),
        f"- With tracing off: cold import {cold_ratio(results.cold, UNTRACED, 'import_cpu'):.2f}x CPU "
        f"({cold_ratio(results.cold, UNTRACED, 'import_wall'):.2f}x wall).",
        "",
        "### handlers.pipeline_otel, the OpenTelemetry twin (no goal set)",
        "",
        *twin_lines(OTEL),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=21, help="fresh interpreters per cold variant (>= 15)")
    parser.add_argument(
        "--no-bytecode-runs", type=int, default=5, help="fresh interpreters per variant compiling everything"
    )
    parser.add_argument("--calls", type=int, default=5000, help="timed warm calls per process")
    parser.add_argument("--warmup", type=int, default=500, help="untimed warm calls first")
    parser.add_argument("--warm-repeats", type=int, default=3, help="warm processes per variant")
    parser.add_argument(
        "--src", type=Path, default=REPO / "src", help="code root to measure (e.g. a scratch copy)"
    )
    args = parser.parse_args(argv)
    args.src = args.src.resolve()
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    results = measure(
        args.src,
        runs=args.runs,
        uncompiled_runs=args.no_bytecode_runs,
        calls=args.calls,
        warmup=args.warmup,
        warm_repeats=args.warm_repeats,
    )
    print(render(results, args, started, load_before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
