"""`tracecanary demo`: tracecanary on this machine against a local moto server, no AWS account needed."""

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any

from common.emf import MetricsDetail
from common.errors import UserError
from common.variants import DEFAULT_VARIANTS, PipelineVariant
from demo.runtime_config import DEFAULT_TRACE_FORMAT, TRACE_FORMATS


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the whole loop on this machine against a moto server (no AWS account needed)",
        description="Starts a local AWS (moto), a local X-Ray daemon and a local Lambda runtime, runs the "
        "generator, lets the pipeline process every object, runs the reporter for the run's windows, and "
        "prints the figures and every alarm of template.yaml evaluated on them. Files go to --output-dir.",
    )
    parser.add_argument("--count", type=_positive_int, default=30, help="objects to send (default 30)")
    parser.add_argument("--rate", type=_positive_float, default=10.0, help="objects per second (default 10)")
    parser.add_argument("--arrival", choices=["burst", "uniform", "poisson"], default="poisson")
    parser.add_argument(
        "--concurrency", type=_positive_int, default=2, help="execution environments (default 2)"
    )
    parser.add_argument(
        "--inject",
        default="",
        metavar="SPEC",
        help="faults that happen for real, e.g. throttle=0.1,error=0.05,drop=0.02 (probabilities)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the traffic and the faults (default 7)")
    parser.add_argument(
        "--output-dir", type=Path, default=Path(".demo"), help="where files go (default .demo)"
    )
    parser.add_argument(
        "--lambda-trace-format",
        choices=TRACE_FORMATS,
        default=DEFAULT_TRACE_FORMAT,
        help="the style of Lambda's function segments: v2, the new style (no Invocation subsegment, "
        "annotations aws:responseLatency, ...), or v1, the old one (default %(default)s)",
    )
    parser.add_argument(
        "--extension-overhead-ms",
        type=_non_negative_milliseconds,
        default=0.0,
        metavar="MS",
        help="emulate a Lambda extension on the pipeline: its environment stays busy MS after each "
        "response (default 0: no extension)",
    )
    parser.add_argument(
        "--package-without",
        action="append",
        default=[],
        metavar="MODULE",
        help="build the pipeline's package without this top-level module (e.g. aws_xray_sdk, as the seed's "
        "bundler did): every invocation then fails as on Lambda, with Runtime.ImportModuleError",
    )
    parser.add_argument(
        "--transaction-search",
        action="store_true",
        help="run on an account that sends its spans to CloudWatch Transaction Search: BatchGetTraces finds "
        "only the indexed share (--indexing-percent), StartTraceRetrieval finds every trace",
    )
    parser.add_argument(
        "--indexing-percent",
        type=_percent,
        default=1.0,
        metavar="PERCENT",
        help="with --transaction-search: the share of traces indexed for BatchGetTraces (default 1, as AWS)",
    )
    parser.add_argument(
        "--trace-source",
        choices=("auto", "xray", "transaction-search"),
        default="auto",
        help="how the reporter reads traces (the template's TraceSource; default auto: it asks the account)",
    )
    parser.add_argument(
        "--variants",
        type=_variants,
        default=DEFAULT_VARIANTS,
        metavar="VARIANTS",
        help="the pipeline twins to run, as the template parameter PipelineVariants: powertools (default) "
        "or powertools,opentelemetry (the OpenTelemetry twin beside it, each object to one of them in turn, "
        "and a table that puts the two side by side)",
    )
    parser.add_argument(
        "--metrics-detail",
        choices=[detail.value for detail in MetricsDetail],
        default=None,
        help="which figures become CloudWatch metrics, as the template parameter MetricsDetail "
        "(default: the template's, standard); the rest stay plain fields of the EMF lines",
    )
    parser.add_argument(
        "--stop",
        choices=("generator", "reporter"),
        default=None,
        help="the one named stops after the run's window: the alarm preview goes on past the real run as "
        "a deployed stack's schedule would (modelled lines, said so) and shows when the heartbeat alarm "
        "fires (default: nothing stops)",
    )
    parser.set_defaults(run=run)

    local = subparsers.add_parser(
        "local-stack",
        help="serve the stack's storage on a local moto server for `sam local invoke`",
        description="Starts a moto server with the template's bucket, tables and queues, writes an "
        "--env-vars file for SAM CLI, and runs until Ctrl-C.",
    )
    local.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    local.add_argument("--port", type=int, default=4566, help="port (default: 4566)")
    local.add_argument(
        "--container-host",
        default="127.0.0.1",
        help="how the Lambda container reaches this machine (default 127.0.0.1, with --docker-network host; "
        "host.docker.internal on Docker Desktop)",
    )
    local.add_argument("--env-file", type=Path, default=Path(".demo/env.json"))
    local.set_defaults(run=run_local_stack)


def run_local_stack(args: argparse.Namespace) -> int:
    from demo.local_services import serve_local_stack

    serve_local_stack(args.host, args.port, args.container_host, args.env_file, sys.stdout)
    return 0


def _variants(text: str) -> tuple[PipelineVariant, ...]:
    """The twins to run: those the template can deploy, as the demo runs the template's functions."""
    from demo.template import load_template, offered_variants

    try:
        return offered_variants(load_template(), text, where="PipelineVariants")
    except UserError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, got {text!r}") from None
    if not (math.isfinite(value) and 0 <= value <= 100):
        raise argparse.ArgumentTypeError(f"must be 0 to 100, got {text}")
    return value


def _non_negative_milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of milliseconds, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be 0 or more milliseconds, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    from demo.loop import DemoOptions, run_demo
    from demo.runtime_config import parse_faults
    from demo.summary import build_summary, not_complete, render, write_summary
    from demo.twins import twins_section

    try:
        parse_faults(args.inject, seed=args.seed)
    except ValueError as error:
        raise UserError(f"--inject: {error}") from None
    from demo.lambda_package import check_left_out

    package_without = tuple(check_left_out(name) for name in args.package_without)  # a bad name: one line
    detail: dict[str, Any] = (
        {} if args.metrics_detail is None else {"metrics_detail": MetricsDetail(args.metrics_detail)}
    )
    options = DemoOptions(
        count=args.count,
        rate=args.rate,
        arrival=args.arrival,
        concurrency=args.concurrency,
        inject=args.inject,
        seed=args.seed,
        output_dir=args.output_dir,
        lambda_trace_format=args.lambda_trace_format,
        extension_overhead_ms=args.extension_overhead_ms,
        package_without=package_without,
        transaction_search=args.transaction_search,
        indexing_percent=args.indexing_percent,
        trace_source=args.trace_source,
        variants=args.variants,
        stop=args.stop,
        **detail,
    )
    demo = run_demo(options, sys.stdout)
    windows = [int(window.timestamp() * 1000) for window in demo.windows]
    summary, alarms = build_summary(
        demo.emf,
        windows,
        demo.stack.stack_name,
        f"{demo.stack.stack_name}-pipeline",
        {
            "options": {**dataclasses.asdict(options), "output_dir": str(options.output_dir)},
            "runtime": demo.runtime_stats,
            "not_complete": not_complete(demo.reporter_logs),
        },
        metrics_detail=options.metrics_detail.value,
        function_records=demo.function_records,
        stop=options.stop,
        variants=options.variants,
    )
    print(render(summary, alarms))
    if len(options.variants) > 1:
        traces = json.loads((options.output_dir / "traces.json").read_text())
        summary["twins"], lines = twins_section(
            demo.emf, traces, demo.stack.stack_name, options.variants, options.concurrency
        )
        print("\n".join(lines))
    write_summary(summary, args.output_dir / "summary.json")
    first = demo.trace_ids[0] if demo.trace_ids else "TRACE_ID"
    print(
        f"\nfiles in {args.output_dir}/: summary.json, emf.jsonl, traces.json, logs/\n"
        f"next: tracecanary analyze {args.output_dir}/traces.json  |  "
        f"tracecanary show {args.output_dir}/traces.json --trace-id {first}"
    )
    return 0
