"""Cold start and warm-path cost of the pipeline function, against a bare boto3 handler.

    .venv/bin/python -m bench.pipeline_cold_start [--runs 21] [--calls 5000] [--warm-repeats 3] [--src DIR]

Every measurement runs `bench/pipeline_child.py` in a fresh interpreter whose environment looks like the
Lambda one (LAMBDA_TASK_ROOT, function name, trace header, X-Ray daemon address), so Powertools' Tracer is
active as it is on Lambda: aws_xray_sdk is imported and botocore patched, and segments go to a UDP port
nobody listens on. Variants run interleaved, so a busy machine slows all of them alike. Packages that are
in the dev venv but would not be in the Lambda package (the closure of src/requirements.txt) are made
unimportable in the child, since X-Ray's `patch_all` imports whatever it finds (`requests`, ...).

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.pipeline_child import RESULT_MARKER
from bench.pipeline_importtime import ImportTree, group_self_times, parse_importtime
from demo.moto_server import moto_server

REPO = Path(__file__).resolve().parent.parent
CHILD = REPO / "bench" / "pipeline_child.py"
EVENT = REPO / "events" / "s3-put.json"
OURS = "handlers.pipeline"
BARE = "bare_pipeline_handler"
TABLE = "items"
# Lambda's _X_AMZN_TRACE_ID for a sampled invocation; the X-Ray SDK builds its facade segment from it.
TRACE_HEADER = "Root=1-67447b6c-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
# Libraries X-Ray's patch_all imports if it can (aws_xray_sdk.core.patcher), besides botocore and stdlib.
XRAY_PATCHABLE = frozenset(
    {"aiobotocore", "pynamodb", "requests", "mysql", "pymongo", "pymysql", "psycopg2", "psycopg", "pg8000"}
    | {"sqlalchemy", "httpx"}
)
PACKAGES = (
    "aws-lambda-powertools",
    "aws-xray-sdk",
    "boto3",
    "botocore",
    "pydantic",
    "pydantic-core",
    "wrapt",
)

# The handler's imports in the order it makes them, to see what each adds (each stage's import time is
# what it adds on top of the stages before it). The last stage is the module body: Logger(), Tracer() with
# its X-Ray patching, Metrics().
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("boto3 (+ botocore.config)", ("boto3", "botocore.config")),
    ("aws_lambda_powertools (Logger, Metrics, Tracer classes)", ("aws_lambda_powertools",)),
    ("aws_xray_sdk.core", ("aws_xray_sdk.core",)),
    ("pipeline.* domain modules (no pydantic on this path)", ("pipeline.processor", "pipeline.settings")),
    ("handlers.pipeline body (Logger(), Tracer() + patch_all, Metrics())", (OURS,)),
)


@dataclass(frozen=True)
class Variant:
    label: str
    module: str
    tracing: bool


# The brief's fake client (put_item returns {}), and a real botocore client answered in-process.
WARM_CLIENTS = ("fake", "botocore")
WARM_CLIENT_TEXT = {
    "fake": "DynamoDB client = an object whose `put_item` returns `{}` (no botocore, so no X-Ray subsegment "
    "for the call)",
    "botocore": "DynamoDB client = the real boto3 client, its HTTP send answered in-process by a "
    "`before-send` hook (serialising, signing, parsing and, with tracing on, X-Ray's DynamoDB subsegment are "
    "paid; the network is not)",
}

# The bare handler ignores the Powertools settings; it runs in the same environment as ours with tracing on.
BARE_VARIANT = Variant("bare boto3 handler (baseline)", BARE, tracing=True)
TRACED = Variant("handlers.pipeline, tracing on (as on Lambda)", OURS, tracing=True)
UNTRACED = Variant("handlers.pipeline, POWERTOOLS_TRACE_DISABLED=true", OURS, tracing=False)
VARIANTS = (BARE_VARIANT, TRACED, UNTRACED)


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


def lambda_closure(requirements_file: Path) -> set[str]:
    """Distributions `sam build` would package: the requirements and everything they depend on."""
    pending = [
        Requirement(line.split("#")[0].strip())
        for line in requirements_file.read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        extras = requirement.extras or {""}
        for text in requires:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(dependency)
    return seen


def absent_on_lambda(requirements_file: Path) -> list[str]:
    """Top-level modules installed in this venv whose distributions would not be in the Lambda package."""
    packaged = lambda_closure(requirements_file)
    absent = []
    for module, distributions in metadata.packages_distributions().items():
        if module.startswith("_") or module in sys.stdlib_module_names:
            continue
        if not any(canonicalize_name(name) in packaged for name in distributions):
            absent.append(module)
    # The project itself is the function code (LAMBDA_TASK_ROOT), not a dependency.
    return sorted(
        set(absent) - {"handlers", "pipeline", "common", "generator", "reporter", "traces", "cli", "demo"}
    )


def unused_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def lambda_environment(src: Path, aws: dict[str, str], xray_port: int, tracing: bool) -> dict[str, str]:
    """A Lambda-like environment, built from nothing so the developer's shell leaks nothing in."""
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": str(src),
        # Powertools enables its Tracer only when LAMBDA_TASK_ROOT is set and AWS_SAM_LOCAL is not; the X-Ray
        # SDK then uses its Lambda context, which takes the trace from _X_AMZN_TRACE_ID.
        "LAMBDA_TASK_ROOT": str(src),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": "tracecanary-pipeline",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/tracecanary-pipeline",
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
    if not tracing:
        environment["POWERTOOLS_TRACE_DISABLED"] = "true"
    return environment


def run_child(
    environment: dict[str, str],
    absent: Sequence[str],
    mode: str,
    args: Iterable[str],
    flags: Sequence[str] = (),
) -> tuple[dict[str, Any], str]:
    """Run one measurement in a fresh interpreter; its result and its stderr."""
    command = [sys.executable, *flags, str(CHILD), ",".join(absent), mode, *args]
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
    cold: dict[Variant, ColdSamples]
    responses: dict[Variant, Any]
    stages_s: dict[str, list[float]]
    importtime: list[ImportTree]
    warm_ns: dict[tuple[str, Variant], list[list[int]]]
    warm_cpu_us: dict[tuple[str, Variant], list[float]]  # per call: the timed loop's CPU time / calls
    warm_responses: dict[tuple[str, Variant], Any]


def measure(
    src: Path, absent: list[str], *, runs: int, calls: int, warmup: int, warm_repeats: int
) -> Results:
    xray_port = unused_udp_port()
    results = Results(
        cold={variant: ColdSamples() for variant in VARIANTS},
        responses={},
        stages_s={label: [] for label, _ in STAGES},
        importtime=[],
        warm_ns={(client, variant): [] for client in WARM_CLIENTS for variant in VARIANTS},
        warm_cpu_us={(client, variant): [] for client in WARM_CLIENTS for variant in VARIANTS},
        warm_responses={},
    )
    with moto_server() as local_aws:
        aws = local_aws.environment()
        create_items_table(aws)
        environments = {
            variant: lambda_environment(src, aws, xray_port, variant.tracing) for variant in VARIANTS
        }
        for run in range(runs):
            # Rotate the order so no variant always runs right after another's cache-warming.
            shift = run % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                environment = environments[variant]
                samples = results.cold[variant]
                imported, _ = run_child(environment, absent, "import", [variant.module])
                samples.import_wall.append(imported["import_s"])
                samples.import_cpu.append(imported["import_cpu_s"])
                suffix = f"-{variant.module}-{variant.tracing}-{run}"
                invoked, _ = run_child(environment, absent, "invoke", [variant.module, str(EVENT), suffix])
                samples.first_call_wall.append(invoked["first_call_s"])
                samples.first_call_cpu.append(invoked["first_call_cpu_s"])
                samples.total_wall.append(invoked["import_s"] + invoked["first_call_s"])
                samples.total_cpu.append(invoked["import_cpu_s"] + invoked["first_call_cpu_s"])
                results.responses[variant] = invoked["response"]
            staged, _ = run_child(
                environments[TRACED], absent, "staged", [name for _, names in STAGES for name in names]
            )
            cumulative = staged["cumulative_cpu_s"]
            position, previous = 0, 0.0
            for label, names in STAGES:
                position += len(names)
                results.stages_s[label].append(cumulative[position - 1] - previous)
                previous = cumulative[position - 1]
        for _ in range(max(1, runs // 4)):
            _, stderr = run_child(environments[TRACED], absent, "import", [OURS], flags=("-X", "importtime"))
            results.importtime.append(parse_importtime(stderr))
    # The warm path needs no server: both kinds of client answer in-process.
    for _ in range(warm_repeats):
        for client, variant in results.warm_ns:
            arguments = [variant.module, str(EVENT), str(calls), str(warmup), client]
            warm, _ = run_child(environments[variant], absent, "warm", arguments)
            results.warm_ns[client, variant].append(warm["durations_ns"])
            results.warm_cpu_us[client, variant].append(warm["loop_cpu_s"] / calls * 1e6)
            results.warm_responses[client, variant] = warm["response"]
    return results


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x"


def render(
    results: Results,
    args: argparse.Namespace,
    absent: list[str],
    started: datetime,
    load_before: tuple[float, float, float],
) -> str:
    load = os.getloadavg()
    lines = [
        "## Pipeline function: cold start and warm overhead",
        "",
        f"`.venv/bin/python -m bench.pipeline_cold_start --runs {args.runs} --calls {args.calls} "
        f"--warmup {args.warmup} --warm-repeats {args.warm_repeats}`"
        + (f" `--src {args.src}`" if args.src != REPO / "src" else "")
        + f", {started:%Y-%m-%d %H:%M} UTC.",
        "",
        f"On: {len(os.sched_getaffinity(0))} CPUs ({cpu_model()}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; "
        + ", ".join(f"{package} {version(package)}" for package in PACKAGES)
        + f". Load average (1/5/15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}, after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (the machine is shared).",
        "",
        "What was run: each cold sample is a fresh interpreter (`bench/pipeline_child.py`) in a Lambda-like "
        "environment (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, a sampled `_X_AMZN_TRACE_ID`, "
        "AWS_XRAY_DAEMON_ADDRESS = an unused UDP port), so the Tracer imports aws_xray_sdk and patches "
        "botocore as on Lambda. Bytecode caches are warm (pip compiles them for the packaged dependencies "
        "too). Modules installed in the dev venv but outside the "
        f"closure of `src/requirements.txt` are made unimportable in the child ({len(absent)} top-level "
        f"modules, among them `{', '.join(sorted(set(absent) & XRAY_PATCHABLE)) or 'none'}`), because "
        "`patch_all` imports any library it can patch. The first call writes one item "
        "(a new key each run) to a moto server started by the benchmark (`AWS_ENDPOINT_URL`, dummy "
        "credentials). Variants run interleaved, in rotating order. The baseline is "
        "`bench/bare_pipeline_handler.py`: boto3 only, the same conditional PutItem, no validation, logs, "
        "metrics or tracing; both build their client on the first call.",
        "",
    ]
    lines += render_cold(results, args)
    lines += [
        "",
        "First-call responses: "
        + "; ".join(f"{variant.label}: `{json.dumps(results.responses[variant])}`" for variant in VARIANTS),
        "",
        f"### What each import adds (handlers.pipeline, tracing on; median of {args.runs} interpreters)",
        "",
        "Imported one after the other in the handler's own order; each row is the CPU time it adds on top "
        "of the rows above it.",
        "",
        "| stage | adds (ms CPU) | share |",
        "|---|---:|---:|",
    ]
    stage_medians = {label: statistics.median(values) for label, values in results.stages_s.items()}
    stage_total = sum(stage_medians.values())
    for label, value in stage_medians.items():
        lines.append(f"| {label} | {ms(value)} | {value / stage_total:.0%} |")
    lines.append(f"| total | {ms(stage_total)} | |")
    lines += render_importtime(results.importtime)
    lines += render_warm(results, args)
    lines += render_goals(results)
    return "\n".join(lines)


def render_cold(results: Results, args: argparse.Namespace) -> list[str]:
    def median(values: list[float]) -> str:
        return ms(statistics.median(values))

    base = results.cold[BARE_VARIANT]
    lines = [
        f"### Cold import ({args.runs} fresh interpreters per variant; milliseconds)",
        "",
        "| handler | wall median | wall p90 | wall min | CPU median | CPU p90 | vs bare (wall median) "
        "| vs bare (CPU median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in VARIANTS:
        samples = results.cold[variant]
        lines.append(
            f"| {variant.label} | {median(samples.import_wall)} | {ms(p90(samples.import_wall))} "
            f"| {ms(min(samples.import_wall))} | {median(samples.import_cpu)} "
            f"| {ms(p90(samples.import_cpu))} "
            f"| {ratio(statistics.median(samples.import_wall), statistics.median(base.import_wall))} "
            f"| {ratio(statistics.median(samples.import_cpu), statistics.median(base.import_cpu))} |"
        )
    lines += [
        "",
        f"### Cold import + first invocation ({args.runs} fresh interpreters per variant; milliseconds)",
        "",
        "The first call builds the DynamoDB client and writes one item to the moto server (whose own time "
        "is in the wall time, not in the handler's CPU time).",
        "",
        "| handler | first call wall median | first call CPU median | total wall median | total wall p90 "
        "| total CPU median | vs bare (wall median) | vs bare (CPU median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in VARIANTS:
        samples = results.cold[variant]
        lines.append(
            f"| {variant.label} | {median(samples.first_call_wall)} | {median(samples.first_call_cpu)} "
            f"| {median(samples.total_wall)} | {ms(p90(samples.total_wall))} | {median(samples.total_cpu)} "
            f"| {ratio(statistics.median(samples.total_wall), statistics.median(base.total_wall))} "
            f"| {ratio(statistics.median(samples.total_cpu), statistics.median(base.total_cpu))} |"
        )
    return lines


def render_importtime(trees: list[ImportTree]) -> list[str]:
    """Medians over the runs of `-X importtime` (which inflates every number; the shares are what count)."""
    groups: dict[str, list[float]] = {}
    for tree in trees:
        for group, micros in group_self_times(tree, OURS).items():
            groups.setdefault(group, []).append(micros)
    group_medians = sorted(
        ((group, statistics.median(values)) for group, values in groups.items()), key=lambda pair: -pair[1]
    )
    total = sum(value for _, value in group_medians)
    lines = [
        "",
        f"### `python -X importtime` of handlers.pipeline (tracing on; median of {len(trees)} runs)",
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
        for entry in tree.subtree(OURS):
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
        "built and sent by UDP. Each figure is the median over the processes of that process's per-call "
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
    def import_ratio(variant: Variant, clock: str) -> float:
        samples, base = results.cold[variant], results.cold[BARE_VARIANT]
        values = samples.import_wall if clock == "wall" else samples.import_cpu
        base_values = base.import_wall if clock == "wall" else base.import_cpu
        return statistics.median(values) / statistics.median(base_values)

    extra_ms = statistics.median(results.cold[TRACED].import_cpu) - statistics.median(
        results.cold[BARE_VARIANT].import_cpu
    )

    def overhead_us(client: str) -> float:
        ours = _warm_stat(results.warm_ns[client, TRACED], statistics.median)
        return (ours - _warm_stat(results.warm_ns[client, BARE_VARIANT], statistics.median)) / 1000

    def cpu_overhead_us(client: str) -> float:
        cpu = results.warm_cpu_us
        return statistics.median(cpu[client, TRACED]) - statistics.median(cpu[client, BARE_VARIANT])

    return [
        "",
        "### Against the goal (cold import at most 1.5x the bare handler's, warm overhead under 1 ms)",
        "",
        f"- Cold import, tracing on: {import_ratio(TRACED, 'cpu'):.2f}x the bare handler's in CPU time "
        f"({import_ratio(TRACED, 'wall'):.2f}x in wall time), +{ms(extra_ms)} ms CPU; with tracing off "
        f"{import_ratio(UNTRACED, 'cpu'):.2f}x CPU ({import_ratio(UNTRACED, 'wall'):.2f}x wall).",
        f"- Warm overhead, tracing on: {overhead_us('fake'):.0f} µs per invocation (wall median; "
        f"{cpu_overhead_us('fake'):.0f} µs CPU mean) with the fake client, {overhead_us('botocore'):.0f} µs "
        f"({cpu_overhead_us('botocore'):.0f} µs CPU) with the real botocore client, X-Ray's DynamoDB "
        "subsegment included.",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=21, help="fresh interpreters per cold variant (>= 15)")
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
    absent = absent_on_lambda(REPO / "src" / "requirements.txt")
    results = measure(
        args.src, absent, runs=args.runs, calls=args.calls, warmup=args.warmup, warm_repeats=args.warm_repeats
    )
    print(render(results, args, absent, started, load_before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
