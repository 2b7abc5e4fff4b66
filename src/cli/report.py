"""`tracecanary report`: a window's reconciliation against a deployed stack, from a laptop."""

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from common.errors import UserError


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "report",
        help="reconcile one window of a deployed stack and print its table",
        description="Reads the stack's manifest, X-Ray traces and items table for one window (by default the "
        "newest closed one) and prints what the reporter would emit. With --emit, the window's metrics go to "
        "CloudWatch (through the reporter's log group) and the window is checkpointed, so the scheduled "
        "reporter does not count it again.",
    )
    parser.add_argument("--stack", required=True, help="the deployed stack's name")
    parser.add_argument(
        "--window", type=_instant, help="a time inside the window, ISO 8601 (default: newest closed)"
    )
    parser.add_argument(
        "--emit", action="store_true", help="send the metrics to CloudWatch and checkpoint the window"
    )
    parser.add_argument("--json", action="store_true", help="print the window's summary as JSON")
    from cli.trace_commands import add_trace_source_option

    add_trace_source_option(parser)
    parser.set_defaults(run=run)


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    import boto3

    from common.stack import require, stack_outputs
    from generator.manifest import DynamoDbManifest
    from reporter.checkpoints import DynamoDbCheckpointStore
    from reporter.items_lookup import DynamoDbItemLookup
    from reporter.runner import NullLog, Reporter, ReporterConfig, window_summary
    from reporter.windows import latest_closed_window, window_containing
    from traces.sources.choose import trace_source

    outputs = stack_outputs(args.stack)
    manifest, items, state, period, lag, namespace, log_group = require(
        outputs,
        args.stack,
        "ManifestTableName",
        "ItemsTableName",
        "ReporterStateTableName",
        "ReportPeriodMinutes",
        "ReportLagMinutes",
        "MetricsNamespace",
        "ReporterLogGroupName",
    )
    config = ReporterConfig(
        pipeline=args.stack,
        namespace=namespace,
        period=timedelta(minutes=int(period)),
        lag=timedelta(minutes=int(lag)),
    )
    dynamodb = boto3.client("dynamodb")
    checkpoints = DynamoDbCheckpointStore(dynamodb, state, args.stack)
    reporter = Reporter(
        config,
        manifest=DynamoDbManifest(dynamodb, manifest),
        traces=trace_source(args.trace_source),
        items=DynamoDbItemLookup(dynamodb, items),
        checkpoints=checkpoints,
        log=NullLog(),
        emit=lambda _line: None,
    )
    now = datetime.now(UTC)
    window = (
        window_containing(args.window, config.period)
        if args.window
        else latest_closed_window(now, config.period, config.lag)
    )
    if window.end > now - config.lag:
        print(
            f"note: window {window.label()} is not closed plus the lag yet; late traces may be missing",
            file=sys.stderr,
        )
    report = reporter.reconcile_window(window)
    summary = window_summary(report)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(render_window(summary, report.reconciliation.verdicts))
    if args.emit:
        if not checkpoints.claim(window):
            raise UserError(f"window {window.label()} (or a later one) was already emitted; nothing sent")
        put_emf_lines(boto3.client("logs"), log_group, report.emf)
        print(f"sent {len(report.emf)} EMF lines to {log_group}; window {window.label()} checkpointed")
    return 0


def render_window(summary: dict[str, Any], verdicts: list[Any]) -> str:
    lines = [
        f"window {summary['window']} .. {summary['window_end']}",
        f"  generated {summary['generated']}  complete {summary['complete']}  lost {summary['lost']}  "
        f"error {summary['error']}  incomplete {summary['incomplete']}  success rate "
        + ("-" if summary["success_rate"] is None else f"{summary['success_rate']:.1f} %"),
        f"  X-Ray: {summary['traces_retrieved']} traces retrieved in {summary['xray_api_calls']} API calls",
        "",
        f"  {'figure':<20} {'count':>6} {'p50 ms':>9} {'p99 ms':>9}",
    ]
    for name in ("end_to_end_ms", "s3_notification_ms", "dwell_ms", "invocation_ms"):
        figure = summary[name]
        lines.append(f"  {name:<20} {figure['count']:>6} {_ms(figure['p50']):>9} {_ms(figure['p99']):>9}")
    problems = [verdict for verdict in verdicts if verdict.verdict.value != "complete"]
    if problems:
        lines += ["", "  not complete:"]
        lines += [
            f"  {verdict.verdict.value:<10} {verdict.key}  {verdict.trace_id}  {'; '.join(verdict.missing)}"
            for verdict in problems
        ]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def put_emf_lines(logs: Any, log_group: str, lines: list[dict[str, Any]]) -> None:
    """CloudWatch extracts EMF from PutLogEvents only when told the events are EMF (a header)."""

    def add_emf_header(request: Any, **_: Any) -> None:
        request.headers["x-amzn-logs-format"] = "json/emf"

    logs.meta.events.register("before-sign.cloudwatch-logs.PutLogEvents", add_emf_header)
    stream = f"tracecanary-cli/{datetime.now(UTC):%Y/%m/%d}/{uuid.uuid4().hex}"
    logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    events = [{"timestamp": now_ms, "message": json.dumps(line, separators=(",", ":"))} for line in lines]
    for start in range(0, len(events), 1000):
        logs.put_log_events(
            logGroupName=log_group, logStreamName=stream, logEvents=events[start : start + 1000]
        )
