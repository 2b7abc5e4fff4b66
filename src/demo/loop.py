"""`make demo`: the whole loop on this machine, the project's real handlers against a moto server.

generator -> local S3 (moto, keeping each PUT's trace header) -> notification -> local Lambda runtime
(each function's package under awslambdaric in a fresh python3.13, real cold starts, Lambda's segments) ->
pipeline handler -> DynamoDB; every segment goes through a local X-Ray daemon into moto's X-Ray (on a
Transaction Search account, behind the local retrieval API); then the reporter handler turns the run's
windows into EMF.
"""

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import boto3

from common.emf import MetricsDetail
from common.variants import DEFAULT_VARIANTS, PipelineVariant, function_name
from demo.lambda_runtime import DirectoryLogSink, local_lambda
from demo.local_stack import LocalStack, create_local_stack
from demo.moto_server import moto_server
from demo.runtime_config import DEFAULT_TRACE_FORMAT, FunctionConfig, TraceFormat, parse_faults
from demo.s3_router import S3NotificationRouter
from demo.twins import HANDLERS, LAYERS, notified_variant
from demo.xray_daemon import xray_daemon

PERIOD = timedelta(minutes=1)  # the demo's reporting windows


def template_metrics_detail() -> MetricsDetail:
    """The template's default `MetricsDetail`, what a deployment without overrides runs."""
    from demo.template import load_template, parameter_default

    return MetricsDetail(parameter_default(load_template(), "MetricsDetail"))


@dataclass(frozen=True)
class DemoOptions:
    count: int = 30
    rate: float = 10.0
    arrival: str = "poisson"
    concurrency: int = 2
    inject: str = ""
    seed: int = 7
    output_dir: Path = Path(".demo")
    stack_name: str = "tracecanary-demo"
    lambda_trace_format: TraceFormat = DEFAULT_TRACE_FORMAT  # of every function's segments
    extension_overhead_ms: float = 0.0  # an emulated extension on the pipeline function; 0: none
    metrics_detail: MetricsDetail = field(default_factory=template_metrics_detail)  # template's default
    package_without: tuple[str, ...] = ()  # top-level modules the pipeline's package lacks (the seed's error)
    transaction_search: bool = False  # the account sends its spans to CloudWatch Transaction Search
    indexing_percent: float = 1.0  # of a Transaction Search account: the share BatchGetTraces finds
    trace_source: str = "auto"  # the reporter's TRACE_SOURCE
    variants: tuple[PipelineVariant, ...] = DEFAULT_VARIANTS  # the pipeline twins (PipelineVariants)
    stop: str | None = None  # generator or reporter: stops after the run's window, in the alarm preview only


@dataclass
class DemoRun:
    """What the run produced: the record lines, the windows, the runtime's own counts and where files went."""

    options: DemoOptions
    stack: LocalStack
    windows: list[datetime]
    emf: list[dict[str, Any]]  # the reporter's record lines (EMF where they declare metrics)
    reporter_logs: list[dict[str, Any]]
    runtime_stats: dict[str, Any] = field(default_factory=dict)
    endpoint_url: str = ""
    daemon_address: str = ""
    trace_ids: list[str] = field(default_factory=list)
    function_records: list[dict[str, Any]] = field(default_factory=list)  # the generator's and pipeline's


def run_demo(options: DemoOptions, out: TextIO) -> DemoRun:
    options.output_dir.mkdir(parents=True, exist_ok=True)
    parse_faults(options.inject, seed=options.seed)  # a bad --inject fails before anything starts
    with moto_server() as aws, _process_environment(aws.environment()):
        aws.reset()  # moto keeps its state per process: start from an empty account
        if options.transaction_search:
            aws.transaction_search.configure(
                destination="CloudWatchLogs", indexing_percent=options.indexing_percent
            )
        stack = create_local_stack(options.stack_name)
        print(
            f"local AWS (moto) at {aws.endpoint_url}; stack {stack.stack_name} from template.yaml", file=out
        )
        print(_account_description(options), file=out)
        print(_lambda_description(options), file=out)
        functions = function_configs(options, stack, aws.environment())
        *pipelines, generator, reporter = functions
        twins = dict(zip(options.variants, pipelines, strict=True))
        for old in (options.output_dir / "logs").glob("*.log"):
            old.unlink()  # each run's logs are its own: the sink appends
        logs = DirectoryLogSink(options.output_dir / "logs")
        with xray_daemon(aws.endpoint_url) as daemon:
            daemon_address = daemon.address
            with local_lambda(daemon.address, *functions, log=logs) as runtime:
                router = S3NotificationRouter(
                    boto3.client("sqs"),
                    stack.notifications_queue_url,
                    aws.trace_headers,
                    lambda event, header: _notify_twin(runtime, twins, stack, event, header),
                ).start()
                started = datetime.now(UTC)
                print(
                    f"generator: {options.count} objects at {options.rate:g}/s ({options.arrival}, seed "
                    f"{options.seed}) -> {_twins_description(options)} on up to {options.concurrency} "
                    f"execution environments{' each' if len(options.variants) > 1 else ''}",
                    file=out,
                    flush=True,
                )
                runtime.invoke_async(generator.name, _scheduled_event(started))
                _drain(runtime)  # the generator's run, and what the pipeline got of it so far
                router.finish()
                _drain(runtime)  # the last notifications, retries included
                windows = _windows_between(started, datetime.now(UTC))
                daemon.flush()  # every segment is in X-Ray before the reporter reads it
                _start_checkpoint_before(stack, windows[0])
                runtime.invoke_async(reporter.name, _scheduled_event(windows[-1] + PERIOD))
                _drain(runtime)
                stats = {name: vars(value) for name, value in runtime.stats().items()}
            daemon.flush()
        logs.close()
        emf, reporter_logs = _printed_json(logs.path(reporter.name))
        run = DemoRun(options, stack, windows, emf, reporter_logs, stats, aws.endpoint_url, daemon_address)
        run.trace_ids = _save_traces(stack, options.output_dir / "traces.json")
    generator_records, _ = _printed_json(logs.path(generator.name))
    pipeline_records = [record for twin in pipelines for record in _printed_json(logs.path(twin.name))[0]]
    run.function_records = [*generator_records, *pipeline_records]
    _save_emf([*generator_records, *pipeline_records, *emf], options.output_dir / "emf.jsonl")
    return run


@contextlib.contextmanager
def _process_environment(values: dict[str, str]) -> Iterator[None]:
    """Point this process's boto3 at moto for the run, and put the environment back afterwards."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _account_description(options: DemoOptions) -> str:
    if options.transaction_search:
        where = (
            f"spans go to CloudWatch Transaction Search ({options.indexing_percent:g} % indexed for "
            "BatchGetTraces; every trace readable through StartTraceRetrieval)"
        )
    else:
        where = "spans go to X-Ray (BatchGetTraces reads every trace)"
    return f"account: {where}; the reporter's trace source: {options.trace_source}"


def _lambda_description(options: DemoOptions) -> str:
    """Which of Lambda's trace formats the run writes, so a reader of its traces knows what to expect."""
    style = "new" if options.lambda_trace_format == "v2" else "old"
    described = f"local Lambda: trace format {options.lambda_trace_format} ({style}-style function segments)"
    if options.extension_overhead_ms > 0:
        described += (
            f"; the pipeline's extension works {options.extension_overhead_ms:g} ms after each response"
        )
    if options.package_without:
        described += f"; the pipeline's package lacks {', '.join(options.package_without)}"
    return described


def _twins_description(options: DemoOptions) -> str:
    if len(options.variants) == 1:
        return "pipeline"
    return f"pipeline twins {' and '.join(options.variants)} in turn"


def _notify_twin(
    runtime: Any,
    twins: dict[PipelineVariant, FunctionConfig],
    stack: LocalStack,
    event: Any,
    header: str | None,
) -> None:
    """As S3 notifies only the function whose filter the key matches (the stack's prefixes)."""
    variant = notified_variant(event, stack.synthetic_prefix)
    if variant in twins:
        runtime.invoke_async(twins[variant].name, event, header)


def function_configs(options: DemoOptions, stack: LocalStack, aws: dict[str, str]) -> list[FunctionConfig]:
    """The template's functions, configured as template.yaml configures them, pointed at moto: a pipeline
    twin for each of `options.variants`, then the generator and the reporter."""
    span = options.count / options.rate if options.arrival != "burst" else 0.0
    shared = {
        **aws,
        "PIPELINE_NAME": stack.stack_name,
        "POWERTOOLS_METRICS_NAMESPACE": "TraceCanary",
        "METRICS_DETAIL": options.metrics_detail.value,  # as the template's Globals set it
    }
    pipelines = [
        FunctionConfig(
            name=function_name(stack.stack_name, variant),
            handler=HANDLERS[variant],
            environment={
                **shared,
                **stack.pipeline_environment(),
                "POWERTOOLS_SERVICE_NAME": variant.function_suffix,  # as template.yaml names each twin's
            },
            concurrency=options.concurrency,
            on_failure_queue_url=stack.failure_queue_url,
            faults=parse_faults(options.inject, seed=options.seed),
            trace_format=options.lambda_trace_format,
            extension_overhead_ms=options.extension_overhead_ms,
            package_without=options.package_without,
            layers=LAYERS[variant],
        )
        for variant in options.variants
    ]
    generator = FunctionConfig(
        name=f"{stack.stack_name}-generator",
        handler="handlers.generator.lambda_handler",
        environment={
            **shared,
            "INCOMING_BUCKET": stack.bucket,
            "SYNTHETIC_PREFIX": stack.synthetic_prefix,
            "GENERATOR_COUNT": str(options.count),
            "GENERATOR_SPAN_SECONDS": f"{span:.3f}",
            "GENERATOR_ARRIVAL": options.arrival,
            "GENERATOR_SEED": str(options.seed),
            "GENERATOR_SEGMENT_NAME": f"{stack.stack_name}-generator",
            "MANIFEST_TABLE": stack.tables["ManifestTable"],
            "PIPELINE_VARIANTS": ",".join(options.variants),
        },
        concurrency=1,
        timeout_seconds=span + 60,
        max_retry_attempts=0,  # as in template.yaml: a late re-run would plan traffic outside its window
        trace_format=options.lambda_trace_format,
    )
    reporter = FunctionConfig(
        name=f"{stack.stack_name}-reporter",
        handler="handlers.reporter.lambda_handler",
        environment={
            **shared,
            "POWERTOOLS_SERVICE_NAME": "reporter",
            "MANIFEST_TABLE_NAME": stack.tables["ManifestTable"],
            "ITEMS_TABLE_NAME": stack.items_table,
            "REPORTER_STATE_TABLE_NAME": stack.tables["ReporterStateTable"],
            "REPORT_PERIOD_MINUTES": "1",
            "REPORT_LAG_MINUTES": "0",  # the demo closes a window once the pipeline is drained
            "TRACE_SOURCE": options.trace_source,
        },
        concurrency=1,
        timeout_seconds=300,
        max_retry_attempts=0,
        trace_format=options.lambda_trace_format,
    )
    return [*pipelines, generator, reporter]


def _drain(runtime: Any) -> None:
    if not runtime.drain(timeout=300):
        raise RuntimeError("the local Lambda runtime did not finish its events within 300 s")


def _scheduled_event(time_of: datetime) -> dict[str, Any]:
    """An EventBridge scheduled event, as the template's schedules send them."""
    return {
        "version": "0",
        "id": "tracecanary-demo",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def _windows_between(start: datetime, end: datetime) -> list[datetime]:
    first = datetime.fromtimestamp(start.timestamp() // 60 * 60, UTC)
    windows = [first]
    while windows[-1] + PERIOD <= end:
        windows.append(windows[-1] + PERIOD)
    return windows


def _start_checkpoint_before(stack: LocalStack, first_window: datetime) -> None:
    """Checkpoint the window before the run, so the reporter emits every window of it, oldest first."""
    from reporter.checkpoints import DynamoDbCheckpointStore
    from reporter.windows import Window

    checkpoints = DynamoDbCheckpointStore(
        boto3.client("dynamodb"), stack.tables["ReporterStateTable"], stack.stack_name
    )
    checkpoints.claim(Window(first_window - PERIOD, first_window))


def _printed_json(log: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A function's printed JSON lines, split into record lines (EMF or plain) and the other log lines."""
    lines = (
        [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        if log.exists()
        else []
    )
    records = [line for line in lines if "record" in line or "_aws" in line]
    return records, [line for line in lines if "record" not in line and "_aws" not in line]


def _save_traces(stack: LocalStack, path: Path) -> list[str]:
    """Every trace of the run in BatchGetTraces form, for `tracecanary analyze` and `show` (read through the
    source the account needs, so a Transaction Search account's traces are all there too)."""
    from generator.manifest import DynamoDbManifest
    from traces.sources.choose import trace_source

    records = DynamoDbManifest(boto3.client("dynamodb"), stack.tables["ManifestTable"]).read_window(
        time.time() - 3600, time.time() + 60
    )
    trace_ids = [record.trace_id for record in records]
    batch = trace_source("auto", retrieval_options={"poll_delay": 0.1, "max_poll_delay": 0.5}).get_traces(
        trace_ids
    )
    path.write_text(json.dumps({"Traces": batch.traces}, indent=1) + "\n")
    return trace_ids


def _save_emf(lines: list[dict[str, Any]], path: Path) -> None:
    with path.open("w") as output:
        for line in lines:
            output.write(json.dumps(line, separators=(",", ":")) + "\n")
