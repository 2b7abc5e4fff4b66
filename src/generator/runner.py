"""Runs a plan: each object starts at its planned time on a bounded pool of workers (open model).

One dispatcher walks the plan in time order, sleeps until each object is due and hands it to a free
worker. A slow PUT holds one worker, not the schedule: the others keep starting on time. When every
worker is busy, the object waits for one; if none frees up before the run's deadline, or the object is
planned after it, the object is recorded as `dropped`. Nothing planned is skipped without a record.
"""

import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from generator.manifest import ManifestRecord, Outcome
from generator.payloads import make_body
from generator.plan import PlannedObject, RunPlan
from generator.segments import DEFAULT_SEGMENT_NAME, PutCall, RandomHex, TraceContext, put_object_segment
from generator.sinks import SegmentSink
from generator.uploader import ObjectStore, PutRequest

logger = logging.getLogger(__name__)

MAX_WORKERS = 256


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds."""

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def object_metadata(run_id: str, sequence: int, trace_id: str) -> dict[str, str]:
    """S3 user metadata (x-amz-meta-*): lets anyone tie an object back to its run and trace."""
    return {
        "tracecanary-run-id": run_id,
        "tracecanary-sequence": str(sequence),
        "tracecanary-trace-id": trace_id,
    }


class _Run:
    def __init__(
        self,
        *,
        plan: RunPlan,
        store: ObjectStore,
        sink: SegmentSink,
        clock: Clock,
        segment_name: str,
        on_record: Callable[[ManifestRecord], None] | None,
    ) -> None:
        self.plan = plan
        self.store = store
        self.sink = sink
        self.clock = clock
        self.segment_name = segment_name
        self.on_record = on_record
        self.lock = threading.Lock()
        self.records: dict[int, ManifestRecord] = {}

    def record(self, record: ManifestRecord) -> None:
        with self.lock:
            self.records[record.sequence] = record
        if self.on_record is not None:
            try:
                self.on_record(record)
            except Exception:  # a progress display must never stop a run
                logger.exception("progress callback failed")

    def dropped(self, item: PlannedObject, context: TraceContext, reason: str) -> None:
        self.record(self.base_record(item, context, Outcome.DROPPED, error=reason))

    def base_record(
        self,
        item: PlannedObject,
        context: TraceContext,
        outcome: Outcome,
        *,
        error: str | None = None,
        started_at: float | None = None,
        put_ms: float | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> ManifestRecord:
        return ManifestRecord(
            run_id=self.plan.run_id,
            sequence=item.sequence,
            bucket=self.plan.bucket,
            key=item.key,
            trace_id=context.trace_id,
            segment_id=context.segment_id,
            put_subsegment_id=context.subsegment_id,
            planned_at=item.planned_at,
            outcome=outcome,
            size=item.size,
            content_type=item.content_type,
            started_at=started_at,
            put_ms=put_ms,
            http_status=http_status,
            error=error,
            request_id=request_id,
            variant=item.variant,
        )

    def upload(self, item: PlannedObject, context: TraceContext) -> None:
        plan = self.plan
        try:
            body = make_body(plan.seed, plan.run_id, item.sequence, item.size, item.content_type)
            request = PutRequest(
                bucket=plan.bucket,
                key=item.key,
                body=body,
                content_type=item.content_type,
                metadata=object_metadata(plan.run_id, item.sequence, context.trace_id),
            )
            started = self.clock.now()
            result = self.store.put(request, context.header)
            ended = self.clock.now()
        except Exception as error:  # never lose an object without a record
            logger.exception("upload of %s failed unexpectedly", item.key)
            self.record(
                self.base_record(item, context, Outcome.FAILED, error=f"{type(error).__name__}: {error}")
            )
            return
        call = PutCall(
            bucket=plan.bucket,
            key=item.key,
            region=self.store.region,
            started_at=started,
            ended_at=ended,
            size=item.size,
            status=result.status,
            request_id=result.request_id,
            extended_request_id=result.extended_request_id,
            retries=result.retries,
            error_code=result.error_code,
            error_message=result.error_message,
            annotations={"tracecanary_run": plan.run_id, "tracecanary_sequence": item.sequence},
        )
        try:
            self.sink.emit(put_object_segment(context, call, self.segment_name))
        except Exception:
            logger.exception("could not emit the segment of %s", item.key)
        failure = (
            None if call.ok else f"{call.error_code or f'HTTP {call.status}'}: {call.error_message or ''}"
        )
        self.record(
            self.base_record(
                item,
                context,
                Outcome.SENT if call.ok else Outcome.FAILED,
                started_at=round(started, 6),
                put_ms=round(call.duration_ms, 3),
                http_status=call.status,
                error=failure,
                request_id=call.request_id,
            )
        )


def execute(
    plan: RunPlan,
    *,
    store: ObjectStore,
    sink: SegmentSink,
    workers: int,
    deadline: float,
    clock: Clock | None = None,
    segment_name: str = DEFAULT_SEGMENT_NAME,
    random_hex: RandomHex = secrets.token_hex,
    on_record: Callable[[ManifestRecord], None] | None = None,
) -> list[ManifestRecord]:
    """Upload every planned object on time where possible; one record per object, in sequence order."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be 1..{MAX_WORKERS}")
    clock = clock or SystemClock()
    run = _Run(plan=plan, store=store, sink=sink, clock=clock, segment_name=segment_name, on_record=on_record)
    free = threading.BoundedSemaphore(workers)

    def work(item: PlannedObject, context: TraceContext) -> None:
        try:
            run.upload(item, context)
        finally:
            free.release()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tracecanary-put") as pool:
        for item in plan.objects:
            context = TraceContext.new(item.planned_at, random_hex)
            if item.planned_at >= deadline:
                run.dropped(item, context, "planned after the run's time budget ends")
                continue
            wait = item.planned_at - clock.now()
            if wait > 0:
                clock.sleep(wait)
            remaining = deadline - clock.now()
            if remaining <= 0 or not free.acquire(timeout=remaining):
                run.dropped(item, context, "no worker free before the run's time budget ended")
                continue
            pool.submit(work, item, context)
    return [run.records[item.sequence] for item in plan.objects]
