import threading
from pathlib import Path

import pytest

from generator.manifest import JsonLinesManifest, ManifestRecord, Outcome
from generator.payloads import parse_mix
from generator.plan import Arrival, RunPlan, build_plan
from generator.runner import execute
from generator.segments import TRACE_HEADER_PATTERN
from generator.service import RunSettings, generate
from generator.uploader import PutRequest, PutResult

from .fakes import FakeClock, FakeStore, ListSink

MIX = parse_mix("1KiB:60:application/json,2KiB:40:text/plain")


def make_plan(
    clock: FakeClock, count: int = 20, span: float = 10, arrival: Arrival = Arrival.POISSON
) -> RunPlan:
    return build_plan(
        run_id="run-1",
        bucket="bucket",
        prefix="synthetic/",
        count=count,
        span=span,
        arrival=arrival,
        mix=MIX,
        seed=3,
        started_at=clock.now(),
    )


def test_every_object_is_sent_at_its_planned_time_with_its_own_trace() -> None:
    clock, store, sink = FakeClock(), FakeStore(), ListSink()
    plan = make_plan(clock)
    records = execute(plan, store=store, sink=sink, workers=4, deadline=plan.started_at + 20, clock=clock)

    assert [r.sequence for r in records] == list(range(20))
    assert all(r.outcome is Outcome.SENT and r.http_status == 200 for r in records)
    assert all(r.started_at is not None and r.started_at >= r.planned_at - 1e-6 for r in records)
    assert all(r.lag_ms is not None and -0.001 < r.lag_ms < 10_000 for r in records)
    assert len({r.trace_id for r in records}) == 20

    by_key = {request.key: (request, header) for request, header in store.puts}
    for record in records:
        request, header = by_key[record.key]
        assert TRACE_HEADER_PATTERN.match(header)
        assert header == f"Root={record.trace_id};Parent={record.put_subsegment_id};Sampled=1"
        assert request.metadata == {
            "tracecanary-run-id": "run-1",
            "tracecanary-sequence": str(record.sequence),
            "tracecanary-trace-id": record.trace_id,
        }
        assert len(request.body) == record.size
        assert request.content_type == record.content_type

    documents = {d["trace_id"]: d for d in sink.documents}
    assert set(documents) == {r.trace_id for r in records}
    for record in records:
        document = documents[record.trace_id]
        assert document["id"] == record.segment_id
        assert document["subsegments"][0]["id"] == record.put_subsegment_id
        assert document["subsegments"][0]["aws"]["key"] == record.key


def test_a_failing_put_becomes_a_failed_record_with_the_error() -> None:
    clock, sink = FakeClock(), ListSink()
    plan = make_plan(clock, count=5, arrival=Arrival.BURST)
    failing = plan.objects[2].key
    store = FakeStore(failures={failing: (503, "SlowDown")})
    records = execute(plan, store=store, sink=sink, workers=2, deadline=plan.started_at + 5, clock=clock)
    failed = [r for r in records if r.outcome is Outcome.FAILED]
    assert [r.key for r in failed] == [failing]
    assert failed[0].http_status == 503
    assert failed[0].error == "SlowDown: SlowDown happened"
    assert failed[0].put_ms is not None
    (document,) = [d for d in sink.documents if d["trace_id"] == failed[0].trace_id]
    assert document["subsegments"][0]["fault"] is True
    assert document["subsegments"][0]["throttle"] is True


def test_objects_planned_after_the_deadline_are_dropped_not_skipped() -> None:
    clock, store, sink = FakeClock(), FakeStore(), ListSink()
    plan = make_plan(clock, count=10, span=10, arrival=Arrival.UNIFORM)
    records = execute(plan, store=store, sink=sink, workers=2, deadline=plan.started_at + 4.5, clock=clock)
    assert [r.outcome for r in records] == [Outcome.SENT] * 5 + [Outcome.DROPPED] * 5
    dropped = records[-1]
    assert dropped.started_at is None
    assert dropped.put_ms is None
    assert dropped.lag_ms is None
    assert dropped.error is not None
    assert "time budget" in dropped.error
    assert len(store.puts) == 5
    assert len(sink.documents) == 5


def test_an_object_that_finds_no_free_worker_before_the_deadline_is_dropped() -> None:
    clock, sink = FakeClock(), ListSink()
    release = threading.Event()
    store = FakeStore(block=release)
    plan = make_plan(clock, count=3, arrival=Arrival.BURST)
    seen: list[ManifestRecord] = []

    def on_record(record: ManifestRecord) -> None:
        seen.append(record)
        if record.outcome is Outcome.DROPPED:
            clock.advance(1)  # the deadline has passed for everything still waiting
            release.set()

    records = execute(
        plan,
        store=store,
        sink=sink,
        workers=1,
        deadline=plan.started_at + 0.02,
        clock=clock,
        on_record=on_record,
    )
    assert [r.outcome for r in records] == [Outcome.SENT, Outcome.DROPPED, Outcome.DROPPED]
    assert "no worker free" in (records[1].error or "")
    assert len(seen) == 3


def test_an_unexpected_exception_still_leaves_a_record() -> None:
    class Exploding(FakeStore):
        def put(self, request: PutRequest, trace_header: str) -> PutResult:
            raise RuntimeError("boom")

    clock = FakeClock()
    plan = make_plan(clock, count=2, arrival=Arrival.BURST)
    records = execute(
        plan, store=Exploding(), sink=ListSink(), workers=1, deadline=plan.started_at + 5, clock=clock
    )
    assert [r.outcome for r in records] == [Outcome.FAILED, Outcome.FAILED]
    assert records[0].error == "RuntimeError: boom"


def test_schedule_lag_is_actual_minus_planned_start() -> None:
    clock = FakeClock()
    store = FakeStore(clock=clock, latency=1.0)  # each PUT takes a second of fake time
    plan = make_plan(clock, count=3, arrival=Arrival.BURST)
    records = execute(
        plan, store=store, sink=ListSink(), workers=1, deadline=plan.started_at + 60, clock=clock
    )
    assert sorted(round(r.lag_ms or 0) for r in records) == [0, 1000, 2000]
    assert all(r.put_ms == pytest.approx(1000) for r in records)


def test_bad_worker_counts_are_refused() -> None:
    clock = FakeClock()
    with pytest.raises(ValueError, match="workers"):
        execute(make_plan(clock), store=FakeStore(), sink=ListSink(), workers=0, deadline=0, clock=clock)


def test_generate_runs_plans_flushes_and_writes_the_manifest(tmp_path: Path) -> None:
    clock, store, sink = FakeClock(), FakeStore(), ListSink()
    manifest = JsonLinesManifest(tmp_path / "manifest.jsonl")
    settings = RunSettings(
        bucket="bucket",
        prefix="synthetic",
        count=30,
        span=6,
        arrival=Arrival.UNIFORM,
        mix=MIX,
        seed=1,
        workers=3,
    )
    result = generate(settings, store=store, sink=sink, manifest=manifest, clock=clock, run_id="run-x")
    assert result.plan.run_id == "run-x"
    assert (result.summary.sent, result.summary.failed, result.summary.dropped) == (30, 0, 0)
    assert result.summary.segments_sent == 30
    window = manifest.read_window(result.plan.started_at, result.plan.started_at + 6)
    assert window == result.records


def test_generate_respects_a_caller_deadline(tmp_path: Path) -> None:
    clock = FakeClock()
    settings = RunSettings(
        bucket="bucket", prefix="p/", count=10, span=10, arrival=Arrival.UNIFORM, mix=MIX, seed=1, workers=2
    )
    result = generate(
        settings,
        store=FakeStore(),
        sink=ListSink(),
        manifest=JsonLinesManifest(tmp_path / "m.jsonl"),
        clock=clock,
        latest_deadline=clock.now() + 3.5,
    )
    assert (result.summary.sent, result.summary.dropped) == (4, 6)
