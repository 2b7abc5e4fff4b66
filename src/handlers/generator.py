"""Generator function: on each EventBridge schedule, one run of synthetic, individually traced uploads."""

import time
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from common.emf import render
from common.settings import load_settings
from generator.aws import dynamodb_client, make_sink, s3_client
from generator.manifest import DynamoDbManifest, Outcome
from generator.metrics import run_record_lines
from generator.plan import derive_seed
from generator.service import RunSettings, generate
from generator.settings import GeneratorSettings
from generator.uploader import S3ObjectStore

# Time kept back from Lambda's timeout to flush segments, write the manifest and print the record lines.
RESERVE_SECONDS = 10.0
MAX_LOGGED_PROBLEMS = 20

logger = Logger(service="tracecanary-generator")
tracer = Tracer()


@cache
def settings() -> GeneratorSettings:
    """Validated on the first (cold start) invocation; a bad variable fails it with a clear message."""
    return load_settings(GeneratorSettings)


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def _store(workers: int) -> S3ObjectStore:
    return S3ObjectStore(s3_client(_session(), workers))


@cache
def _manifest(table: str, ttl_days: float) -> DynamoDbManifest:
    return DynamoDbManifest(dynamodb_client(_session()), table, ttl_days)


@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    config = settings()
    scheduled = parse(event=event, model=EventBridgeModel)
    run_settings = RunSettings(
        bucket=config.bucket,
        prefix=config.prefix,
        count=config.count,
        span=config.span_seconds,
        arrival=config.arrival,
        mix=config.mix,
        seed=derive_seed(config.seed, scheduled.time.isoformat()),
        workers=config.workers,
        grace=config.grace_seconds,
        segment_name=config.segment_name,
        variants=config.variants,
    )
    latest_deadline = time.time() + context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
    result = generate(
        run_settings,
        store=_store(config.workers),
        sink=make_sink(config.xray_sink, config.daemon_address, _session()),
        manifest=_manifest(config.manifest_table, config.manifest_ttl_days),
        latest_deadline=latest_deadline,
    )
    for line in run_record_lines(
        result.records,
        run_id=result.plan.run_id,
        pipeline=config.pipeline_name,
        namespace=config.metrics_namespace,
        detail=config.metrics_detail,
    ):
        print(render(line))  # CloudWatch reads EMF from the function's stdout
    problems = [r for r in result.records if r.outcome is not Outcome.SENT]
    for record in problems[:MAX_LOGGED_PROBLEMS]:
        logger.warning(
            "object not sent",
            extra={
                "key": record.key,
                "trace_id": record.trace_id,
                "outcome": record.outcome,
                "error": record.error,
            },
        )
    summary = {**result.summary.as_dict(), "event_id": scheduled.id, "seed": run_settings.seed}
    logger.info("run finished", extra=summary)
    tracer.put_annotation("run_id", result.plan.run_id)
    return summary
