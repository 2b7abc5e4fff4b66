from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reporter.runner import Reporter, ReporterConfig
from tests.unit.reporter.fakes import (
    FakeItems,
    FakeManifest,
    FakeTraceSource,
    InMemoryCheckpoints,
    RecordingLog,
)
from tests.unit.reporter.traces import as_trace, transaction

WINDOW_START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 12, 14, tzinfo=UTC)  # [12:05, 12:10) ended 4 min ago: due with a 3 min lag
CONFIG = ReporterConfig(
    pipeline="tc", namespace="TraceCanary", period=timedelta(minutes=5), lag=timedelta(minutes=3)
)


class World:
    def __init__(self) -> None:
        self.manifest = FakeManifest()
        self.traces = FakeTraceSource()
        self.items = FakeItems()
        self.checkpoints = InMemoryCheckpoints()
        self.log = RecordingLog()
        self.emitted: list[dict[str, Any]] = []  # the windows' lines
        self.heartbeats: list[dict[str, Any]] = []  # each run's own line

    def emit(self, line: dict[str, Any]) -> None:
        (self.heartbeats if line["record"] == "run" else self.emitted).append(line)

    def add(self, seconds_into_window: float, key: str, *, written: bool = True, **options: Any) -> None:
        record, segments = transaction(WINDOW_START.timestamp() + seconds_into_window, key, **options)
        self.manifest.records.append(record)
        self.traces.traces[record.trace_id] = as_trace(record.trace_id, segments)
        if written:
            self.items.items[key] = record.trace_id

    def reporter(self, config: ReporterConfig = CONFIG) -> Reporter:
        return Reporter(
            config,
            manifest=self.manifest,
            traces=self.traces,
            items=self.items,
            checkpoints=self.checkpoints,
            log=self.log,
            emit=self.emit,
        )


@pytest.fixture
def world() -> World:
    return World()


def test_a_run_emits_the_due_window_once(world: World) -> None:
    world.add(10, "synthetic/a")
    world.add(20, "synthetic/b")
    world.add(299.9, "synthetic/c")
    world.add(300.0, "synthetic/next-window")  # planned at 12:10:00: the next window's

    result = world.reporter().run(NOW)

    assert [report.window.start for report in result.reports] == [WINDOW_START]
    pipeline_line = next(line for line in world.emitted if line["record"] == "window")
    assert pipeline_line["TransactionsGenerated"] == 3
    assert pipeline_line["TransactionsComplete"] == 3
    assert pipeline_line["SuccessRate"] == 100.0
    assert pipeline_line["XRayApiCalls"] == 1  # three ids: one BatchGetTraces call
    assert pipeline_line["TracesRetrieved"] == 3
    assert [line["record"] for line in world.emitted].count("transaction") == 3
    assert {line["window"] for line in world.emitted} == {"2026-11-25T12:05:00Z"}
    timestamps = {line["_aws"]["Timestamp"] for line in world.emitted if "_aws" in line}
    assert timestamps == {int(WINDOW_START.timestamp() * 1000)}
    summary = next(extra for level, message, extra in world.log.lines if message == "window reported")
    assert summary["window"] == "2026-11-25T12:05:00Z"
    assert (summary["generated"], summary["complete"], summary["lost"]) == (3, 3, 0)
    assert summary["end_to_end_ms"]["count"] == 3

    again = world.reporter().run(NOW + timedelta(seconds=40))  # a retried or duplicate run
    assert again.reports == []
    assert len(world.checkpoints.claims) == 1


def test_objects_not_complete_are_logged_with_key_trace_and_reason(world: World) -> None:
    world.add(10, "synthetic/a", written=False)
    world.reporter().run(NOW)
    [(level, message, extra)] = [line for line in world.log.lines if line[1].startswith("object ")]
    assert (level, message) == ("WARNING", "object lost")
    assert extra["key"] == "synthetic/a"
    assert extra["trace_id"] == world.manifest.records[0].trace_id
    assert extra["missing"] == ["no item in the table"]
    pipeline_line = next(line for line in world.emitted if "TransactionsLost" in line)
    assert pipeline_line["TransactionsLost"] == 1
    assert pipeline_line["SuccessRate"] == 0.0


def test_after_an_outage_the_missed_windows_come_oldest_first(world: World) -> None:
    world.checkpoints.last = WINDOW_START - timedelta(minutes=30)
    world.add(10, "synthetic/a")
    config = ReporterConfig(
        pipeline="tc",
        namespace="TraceCanary",
        period=timedelta(minutes=5),
        lag=timedelta(minutes=3),
        max_windows_per_run=4,
    )
    first = world.reporter(config).run(NOW)
    assert [r.window.start for r in first.reports] == [
        WINDOW_START - timedelta(minutes=m) for m in (25, 20, 15, 10)
    ]
    second = world.reporter(config).run(NOW)
    assert [r.window.start for r in second.reports] == [WINDOW_START - timedelta(minutes=5), WINDOW_START]
    assert second.reports[-1].reconciliation.figures.generated == 1
    empty_window = first.reports[0]
    assert empty_window.reconciliation.figures.generated == 0
    assert all("SuccessRate" not in line for line in empty_window.emf)


def test_a_window_claimed_elsewhere_is_not_emitted(world: World) -> None:
    world.add(10, "synthetic/a")

    class ClaimedElsewhere(InMemoryCheckpoints):
        def claim(self, window: Any) -> bool:
            return False

    world.checkpoints = ClaimedElsewhere()
    result = world.reporter().run(NOW)
    assert result.reports == []
    assert world.emitted == []


def test_the_source_gets_the_windows_range_widened_by_the_lag_and_the_deadline(world: World) -> None:
    world.add(10, "synthetic/a")
    world.reporter().run(NOW, deadline=1234.5)
    [(ids, time_range, deadline)] = world.traces.asked
    assert len(ids) == 1
    assert time_range == (WINDOW_START - timedelta(minutes=3), WINDOW_START + timedelta(minutes=8))
    assert deadline == 1234.5


def test_calls_by_operation_are_in_the_windows_line_and_summary(world: World) -> None:
    world.add(10, "synthetic/a")
    world.reporter().run(NOW)
    window_line = next(line for line in world.emitted if line["record"] == "window")
    assert window_line["XRayApiCalls.BatchGetTraces"] == 1
    summary = next(extra for _, message, extra in world.log.lines if message == "window reported")
    assert summary["xray_api_calls_by_operation"] == {"BatchGetTraces": 1}
    assert summary["trace_source"] == "X-Ray"


def test_untraced_objects_are_logged_and_count_as_delivered(world: World) -> None:
    world.add(10, "synthetic/a")
    world.add(20, "synthetic/b")
    blind = world.manifest.records[1].trace_id
    del world.traces.traces[blind]  # item written, trace not readable
    world.reporter().run(NOW)
    window_line = next(line for line in world.emitted if line["record"] == "window")
    assert (window_line["TransactionsUntraced"], window_line["UntracedShare"]) == (1, 50.0)
    assert window_line["SuccessRate"] == 100.0
    untraced = [extra for _, message, extra in world.log.lines if message == "object untraced"]
    assert [(extra["key"], extra["trace_id"]) for extra in untraced] == [("synthetic/b", blind)]


def test_a_window_still_being_retrieved_waits_then_is_emitted_with_the_rest_untraced(world: World) -> None:
    world.add(10, "synthetic/a")
    world.add(20, "synthetic/b")
    world.traces.pending = {world.manifest.records[1].trace_id}
    config = ReporterConfig(
        pipeline="tc",
        namespace="TraceCanary",
        period=timedelta(minutes=5),
        lag=timedelta(minutes=3),
        max_deferrals=2,
    )
    for run_number in (1, 2):
        result = world.reporter(config).run(NOW)
        assert result.reports == []
        assert result.deferred == "2026-11-25T12:05:00Z"
        assert world.checkpoints.claims == []  # not claimed: the next run catches it up
        assert world.emitted == []
        deferred = [extra for _, message, extra in world.log.lines if message.startswith("window deferred")]
        assert deferred[-1]["deferrals"] == run_number
    result = world.reporter(config).run(NOW)  # a third time: emitted with what could be read
    assert [report.window.start for report in result.reports] == [WINDOW_START]
    window_line = next(line for line in world.emitted if line["record"] == "window")
    assert (window_line["TransactionsComplete"], window_line["TransactionsUntraced"]) == (1, 1)
    assert any(
        message.startswith("window emitted with traces still being retrieved")
        for _, message, _ in world.log.lines
    )


def test_a_deferred_window_holds_the_later_ones_back(world: World) -> None:
    world.add(10, "synthetic/a")
    world.traces.pending = {world.manifest.records[0].trace_id}
    world.checkpoints.last = WINDOW_START - timedelta(minutes=5)  # emitted up to the window before
    later = NOW + timedelta(minutes=10)  # three windows due now
    result = world.reporter().run(later)
    assert len(result.plan.due) == 3
    assert result.reports == []
    assert len(world.traces.asked) == 1  # the oldest window only: the rest wait behind it, in order


def test_every_run_ends_with_its_heartbeat_stamped_at_its_scheduled_time() -> None:
    world = World()
    for second, key in ((10, "a"), (70, "b")):
        world.add(second, key)
    world.reporter().run(NOW)
    world.reporter().run(NOW)  # the window is already emitted: a heartbeat that reported nothing
    first, second = world.heartbeats
    assert first["_aws"]["Timestamp"] == second["_aws"]["Timestamp"] == int(NOW.timestamp() * 1000)
    assert (first["ObjectsReported"], first["WindowsEmitted"], first["windows"]) == (
        2,
        1,
        "2026-11-25T12:05:00Z",
    )
    assert (second["ObjectsReported"], second["WindowsEmitted"]) == (0, 0)
    assert first["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "ObjectsReported", "Unit": "Count"}]


def test_a_deferring_run_still_beats_with_nothing_reported() -> None:
    world = World()
    world.add(10, "a")
    world.traces.pending = {world.manifest.records[0].trace_id}
    result = world.reporter().run(NOW)
    assert result.deferred is not None
    [heartbeat] = world.heartbeats
    assert (heartbeat["ObjectsReported"], heartbeat["deferred_window"]) == (0, result.deferred)
