"""What tracecanary costs a month with a stack's parameters, line by line, beside a Synthetics canary.

Quantities come from the parameters and from what the code really does (one PutObject, one PutItem, one
manifest write and one trace per object; a generator run lasts until its last planned arrival; the metrics
and the record lines the functions really emit at the chosen `MetricsDetail`); the few figures that only a
deployment can tell (how long an invocation runs, how many bytes Lambda's and the loggers' own lines take)
are named assumptions.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.plan import Arrival, expected_last_arrival

PRICES_PATH = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class RecordBytes:
    """Bytes of record lines (with their newline) CloudWatch Logs ingests, measured on emitted lines."""

    reporter_per_window: int  # the window's own line and the heartbeat of the run that emits it
    reporter_per_object: int  # its transaction, invocation and call lines (one function, one call)
    generator_per_run: int
    generator_per_object: int
    pipeline_per_object: int  # one event per object


@dataclass(frozen=True)
class Deployment:
    """The parameters that drive cost, with the template's defaults."""

    generator_rate_minutes: int = 5
    objects_per_run: int = 10
    span_seconds: float = 20.0
    arrival: str = "poisson"
    mean_object_bytes: float = 1024.0
    generator_memory_mb: int = 256
    pipeline_memory_mb: int = 512
    reporter_memory_mb: int = 1024
    report_period_minutes: int = 5
    expiration_days: int = 1
    log_retention_days: int = 30
    alarms: int = 7
    dashboards: int = 1
    kms_keys: int = 1
    metrics_detail: str = "standard"
    # The pipeline twins (PipelineVariants): the objects are split between them, so invocations, traces and
    # log volume stay the same; each twin adds its metrics and alarms (counted from what it emits).
    pipeline_variants: tuple[str, ...] = ("powertools",)
    custom_metrics: int = 7
    extension: bool = False  # the pipeline runs a Lambda extension (its traces carry aws:extensionOverhead)
    record_bytes: RecordBytes = RecordBytes(
        reporter_per_window=400,
        reporter_per_object=1100,
        generator_per_run=300,
        generator_per_object=350,
        pipeline_per_object=200,
    )  # measured from the emitted lines by `tracecanary cost`; these only serve a bare Deployment()


@dataclass(frozen=True)
class Assumptions:
    pipeline_ms: float = 60.0  # one warm pipeline invocation: parse, one PutItem, logs
    reporter_base_ms: float = 1500.0  # a reporter run's fixed part (clients, checkpoint, manifest query)
    reporter_ms_per_object: float = 0.5  # analysis and lookups per object, from BENCHMARKS.md
    generator_overhead_ms: float = 1500.0  # after the last arrival: its PUT, the flush, the manifest
    # Lambda's START/END/REPORT lines and each function's Powertools log lines, beside its record lines.
    pipeline_log_bytes: int = 1100  # per invocation: the platform lines, "event processed"
    generator_log_bytes_per_run: int = 1500  # the platform lines, "run finished"
    reporter_log_bytes_per_window: int = 1500  # the platform lines, "window reported"


@dataclass(frozen=True)
class CostLine:
    service: str
    item: str
    quantity: float
    unit: str
    unit_price: float

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def monthly_cost(
    deployment: Deployment, prices: Mapping[str, Any], assumptions: Assumptions = Assumptions()
) -> list[CostLine]:
    minutes = prices["hours_per_month"] * 60
    generator_runs = minutes / deployment.generator_rate_minutes
    objects = generator_runs * deployment.objects_per_run
    reporter_runs = minutes / deployment.report_period_minutes
    objects_per_window = objects / reporter_runs
    lam, s3, ddb, xray, cw = (prices[name] for name in ("lambda", "s3", "dynamodb", "xray", "cloudwatch"))

    def gb_seconds(invocations: float, milliseconds: float, memory_mb: int) -> float:
        return invocations * milliseconds / 1000 * memory_mb / 1024

    last_arrival = expected_last_arrival(
        Arrival(deployment.arrival), deployment.objects_per_run, deployment.span_seconds
    )
    generator_ms = last_arrival * 1000 + assumptions.generator_overhead_ms
    reporter_ms = assumptions.reporter_base_ms + assumptions.reporter_ms_per_object * objects_per_window
    log_gb = (
        reporter_log_bytes(deployment, assumptions) * minutes / (24 * 60)
        + objects * (assumptions.pipeline_log_bytes + deployment.record_bytes.pipeline_per_object)
        + objects * deployment.record_bytes.generator_per_object
        + generator_runs
        * (assumptions.generator_log_bytes_per_run + deployment.record_bytes.generator_per_run)
    ) / 1024**3
    stored_gb = deployment.mean_object_bytes * objects / 30.4 * deployment.expiration_days / 1024**3
    per_gb_s = lam["per_gb_second_arm64"]
    return [
        CostLine(
            "Lambda",
            "requests (generator, pipeline, reporter)",
            (generator_runs + objects + reporter_runs) / 1e6,
            "million",
            lam["per_million_requests"],
        ),
        CostLine(
            "Lambda",
            f"generator duration ({generator_ms / 1000:.1f} s x {deployment.generator_memory_mb} MB: "
            f"to its last arrival, then {assumptions.generator_overhead_ms / 1000:g} s)",
            gb_seconds(generator_runs, generator_ms, deployment.generator_memory_mb),
            "GB-s",
            per_gb_s,
        ),
        CostLine(
            "Lambda",
            f"pipeline duration (~{assumptions.pipeline_ms:.0f} ms x {deployment.pipeline_memory_mb} MB)",
            gb_seconds(objects, assumptions.pipeline_ms, deployment.pipeline_memory_mb),
            "GB-s",
            per_gb_s,
        ),
        CostLine(
            "Lambda",
            f"reporter duration (~{reporter_ms / 1000:.1f} s x {deployment.reporter_memory_mb} MB)",
            gb_seconds(reporter_runs, reporter_ms, deployment.reporter_memory_mb),
            "GB-s",
            per_gb_s,
        ),
        CostLine("S3", "PUT requests (one per object)", objects / 1000, "thousand", s3["per_thousand_put"]),
        CostLine(
            "S3",
            f"storage (objects expire after {deployment.expiration_days} d)",
            stored_gb,
            "GB-month",
            s3["per_gb_month_standard"],
        ),
        CostLine(
            "DynamoDB",
            "writes: item + manifest record per object",
            2 * objects / 1e6,
            "million WRU",
            ddb["per_million_write_units"],
        ),
        CostLine(
            "DynamoDB",
            "reads: item checks (consistent) + manifest queries",
            objects * 1.0625 / 1e6,
            "million RRU",
            ddb["per_million_read_units"],
        ),
        CostLine(
            "X-Ray",
            "traces recorded (one per object, one per generator and reporter run)",
            (objects + generator_runs + reporter_runs) / 1e6,
            "million",
            xray["per_million_traces_recorded"],
        ),
        CostLine(
            "X-Ray",
            "traces retrieved by the reporter (one per object)",
            objects / 1e6,
            "million",
            xray["per_million_traces_retrieved_or_scanned"],
        ),
        CostLine(
            "CloudWatch",
            f"custom metrics at MetricsDetail {deployment.metrics_detail} (counted from what is emitted)",
            deployment.custom_metrics,
            "metrics",
            cw["per_custom_metric_month"],
        ),
        CostLine(
            "CloudWatch",
            "alarms (standard resolution)",
            deployment.alarms,
            "alarms",
            cw["per_standard_alarm_metric_month"],
        ),
        CostLine("CloudWatch", "dashboard", deployment.dashboards, "dashboards", cw["per_dashboard_month"]),
        CostLine(
            "CloudWatch", "logs ingested (functions' logs and EMF)", log_gb, "GB", cw["per_gb_logs_ingested"]
        ),
        CostLine(
            "CloudWatch",
            f"logs stored ({deployment.log_retention_days} d retention)",
            log_gb * min(deployment.log_retention_days, 3653) / 30.4,
            "GB-month",
            cw["per_gb_month_logs_stored"],
        ),
        CostLine(
            "KMS",
            "customer key of the alarm topic",
            deployment.kms_keys,
            "keys",
            prices["kms"]["per_key_month"],
        ),
    ]


def reporter_log_bytes(deployment: Deployment, assumptions: Assumptions = Assumptions()) -> float:
    """Bytes a day the reporter writes to its log group: what a one-day view of each of the dashboard's
    Logs Insights widgets over it scans."""
    windows_a_day = 24 * 60 / deployment.report_period_minutes
    objects_a_day = 24 * 60 / deployment.generator_rate_minutes * deployment.objects_per_run
    per_window = assumptions.reporter_log_bytes_per_window + deployment.record_bytes.reporter_per_window
    return windows_a_day * per_window + objects_a_day * deployment.record_bytes.reporter_per_object


def synthetics_canary_cost(deployment: Deployment, prices: Mapping[str, Any]) -> CostLine:
    """A CloudWatch Synthetics canary run at the generator's cadence (runs only; its Lambda, S3 and logs
    come on top)."""
    runs = prices["hours_per_month"] * 60 / deployment.generator_rate_minutes
    return CostLine(
        "Synthetics",
        f"canary runs, one every {deployment.generator_rate_minutes} min",
        runs,
        "runs",
        prices["synthetics"]["per_canary_run"],
    )


def reporter_trace_calls(source: str, objects_per_window: float, windows: float) -> dict[str, float]:
    """The reporter's X-Ray calls a month by operation, reading `windows` windows of `objects_per_window`
    traces through `source` (`xray` or `transaction-search`): BatchGetTraces takes 5 ids a call; a
    retrieval takes 100 ids and pages 5 traces, and is polled at least once before it completes."""
    per_window = math.ceil(objects_per_window)
    if source == "transaction-search":
        retrievals = math.ceil(per_window / 100)
        pages = max(1, math.ceil(per_window / 5))
        return {"StartTraceRetrieval": retrievals * windows, "ListRetrievedTraces": (pages + 1) * windows}
    return {"BatchGetTraces": math.ceil(per_window / 5) * windows}
