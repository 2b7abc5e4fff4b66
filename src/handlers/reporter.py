"""Lambda entry point of the reporter: each due window's transactions as EMF metrics and log lines."""

import time
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from common.emf import render
from common.settings import load_settings
from generator.manifest import DynamoDbManifest
from reporter.checkpoints import DynamoDbCheckpointStore
from reporter.items_lookup import DynamoDbItemLookup
from reporter.runner import Reporter, ReporterConfig
from reporter.settings import ReporterSettings
from traces.sources.base import TraceSourceError
from traces.sources.choose import trace_source

logger = Logger()
tracer = Tracer()
EMIT_MARGIN_SECONDS = 20.0  # what printing and claiming a window's lines may take after traces are read


def print_emf(line: dict[str, Any]) -> None:
    print(render(line))  # CloudWatch reads EMF from the function's stdout


@cache
def reporter() -> Reporter:
    """Settings are checked and clients built once per execution environment."""
    settings = load_settings(ReporterSettings)
    dynamodb = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5}))
    config = ReporterConfig(
        pipeline=settings.pipeline_name,
        namespace=settings.metrics_namespace,
        period=settings.period,
        lag=settings.lag,
        max_windows_per_run=settings.max_windows_per_run,
        metrics_detail=settings.metrics_detail,
        max_deferrals=settings.max_deferrals,
    )
    return Reporter(
        config,
        manifest=DynamoDbManifest(dynamodb, settings.manifest_table_name),
        traces=trace_source(settings.trace_source, xray_options={"max_workers": settings.xray_concurrency}),
        items=DynamoDbItemLookup(dynamodb, settings.items_table_name),
        checkpoints=DynamoDbCheckpointStore(dynamodb, settings.state_table_name, settings.pipeline_name),
        log=logger,
        emit=print_emf,
    )


def scheduled_time(event: dict[str, Any]) -> datetime:
    """The time EventBridge scheduled this run for, so a retried invocation plans the same windows."""
    try:
        return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")).astimezone(UTC)
    except (KeyError, ValueError):
        return datetime.now(UTC)  # invoked by hand, without a schedule event


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Reading traces may wait for retrievals: stop in time to print what was read and claim it.
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - EMIT_MARGIN_SECONDS
    try:
        result = reporter().run(scheduled_time(event), deadline=deadline)
    except TraceSourceError as error:
        logger.error(str(error))  # one line that says what to grant or set; the run still fails (alarm)
        raise
    return {
        "windows": [report.window.label() for report in result.reports],
        "deferred_window": result.deferred,
        "expired_windows": result.plan.expired,
        "transactions": sum(report.reconciliation.figures.generated for report in result.reports),
    }
