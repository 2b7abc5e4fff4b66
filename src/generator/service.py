"""One generator run, end to end: plan, upload on schedule, flush segments, write the manifest."""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from common.variants import DEFAULT_VARIANTS, PipelineVariant
from generator.manifest import ManifestRecord, ManifestStore
from generator.payloads import PayloadMix
from generator.plan import Arrival, RunPlan, build_plan, new_run_id
from generator.runner import Clock, SystemClock, execute
from generator.segments import DEFAULT_SEGMENT_NAME, RandomHex
from generator.sinks import SegmentSink
from generator.summary import RunSummary, summarize
from generator.uploader import ObjectStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What to send. `grace` is how late after the span an object may still start before it is dropped."""

    bucket: str
    prefix: str
    count: int
    span: float
    arrival: Arrival
    mix: PayloadMix
    seed: int
    workers: int = 16
    grace: float = 10.0
    segment_name: str = DEFAULT_SEGMENT_NAME
    variants: tuple[PipelineVariant, ...] = DEFAULT_VARIANTS  # the deployed twins, sent to in turn


@dataclass(frozen=True, slots=True)
class RunResult:
    plan: RunPlan
    records: list[ManifestRecord]
    summary: RunSummary


def generate(
    settings: RunSettings,
    *,
    store: ObjectStore,
    sink: SegmentSink,
    manifest: ManifestStore,
    clock: Clock | None = None,
    run_id: str | None = None,
    latest_deadline: float | None = None,
    random_hex: RandomHex = secrets.token_hex,
    on_record: Callable[[ManifestRecord], None] | None = None,
) -> RunResult:
    """Run once. `latest_deadline` (epoch seconds) caps the time budget, e.g. Lambda's remaining time."""
    clock = clock or SystemClock()
    started = clock.now()
    plan = build_plan(
        run_id=run_id or new_run_id(started),
        bucket=settings.bucket,
        prefix=settings.prefix,
        count=settings.count,
        span=settings.span,
        arrival=settings.arrival,
        mix=settings.mix,
        seed=settings.seed,
        started_at=started,
        variants=settings.variants,
    )
    deadline = plan.started_at + settings.span + settings.grace
    if latest_deadline is not None and latest_deadline < deadline:
        logger.warning("time budget cut to %.1f s by the caller", latest_deadline - plan.started_at)
        deadline = latest_deadline
    records = execute(
        plan,
        store=store,
        sink=sink,
        workers=settings.workers,
        deadline=deadline,
        clock=clock,
        segment_name=settings.segment_name,
        random_hex=random_hex,
        on_record=on_record,
    )
    segments = sink.flush()
    manifest.write(records)
    return RunResult(plan=plan, records=records, summary=summarize(plan.run_id, records, segments))
