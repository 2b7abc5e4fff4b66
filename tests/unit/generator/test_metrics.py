from typing import Any

import pytest

from common.emf import MetricsDetail, declared_metrics
from generator.manifest import ManifestRecord, Outcome
from generator.metrics import run_record_lines


def records(sent: int, failed: int, dropped: int) -> list[ManifestRecord]:
    result = []
    for sequence in range(sent + failed + dropped):
        outcome = (
            Outcome.SENT
            if sequence < sent
            else Outcome.FAILED
            if sequence < sent + failed
            else Outcome.DROPPED
        )
        started = None if outcome is Outcome.DROPPED else 1000.0 + sequence + 0.004
        result.append(
            ManifestRecord(
                run_id="r",
                sequence=sequence,
                bucket="b",
                key=f"k{sequence}",
                trace_id="1-00000000-000000000000000000000000",
                segment_id="1" * 16,
                put_subsegment_id="2" * 16,
                planned_at=1000.0 + sequence,
                outcome=outcome,
                size=1,
                content_type="application/json",
                started_at=started,
                put_ms=None if started is None else 20.0 + sequence,
                error=None if outcome is Outcome.SENT else "boom",
            )
        )
    return result


def lines_of(detail: MetricsDetail, *, sent: int, failed: int = 0, dropped: int = 0) -> list[dict[str, Any]]:
    return run_record_lines(
        records(sent, failed, dropped),
        run_id="r",
        pipeline="tracecanary-test",
        namespace="TraceCanary",
        detail=detail,
    )


def test_one_line_per_object_then_the_runs_line_with_every_figure() -> None:
    lines = lines_of(MetricsDetail.STANDARD, sent=8, failed=1, dropped=1)
    objects, [run] = lines[:-1], lines[-1:]
    assert [line["record"] for line in objects] == ["generator_object"] * 10
    assert objects[0] == {
        "Pipeline": "tracecanary-test",
        "record": "generator_object",
        "run_id": "r",
        "sequence": 0,
        "key": "k0",
        "trace_id": "1-00000000-000000000000000000000000",
        "outcome": "sent",
        "size": 1,
        "content_type": "application/json",
        "ScheduleLag": pytest.approx(4.0),
        "PutLatency": 20.0,
    }
    assert [line.get("PutLatency") for line in objects] == [20.0 + i for i in range(8)] + [None, None]
    assert [("ScheduleLag" in line) for line in objects] == [True] * 9 + [False]  # every started object
    assert objects[9]["error"] == "boom"
    assert run == {
        "Pipeline": "tracecanary-test",
        "record": "generator_run",
        "run_id": "r",
        "ObjectsUploaded": 8,
        "UploadFailures": 2,  # failed + dropped
        "ObjectsFailed": 1,
        "ObjectsDropped": 1,
    }


def test_at_standard_nothing_is_a_metric() -> None:
    lines = lines_of(MetricsDetail.STANDARD, sent=3, failed=1)
    assert declared_metrics(lines) == set()
    assert not any("_aws" in line for line in lines)


def test_at_full_the_four_metrics_with_the_pipeline_dimension_and_the_planned_time() -> None:
    lines = lines_of(MetricsDetail.FULL, sent=2, failed=1)
    pipeline = (("Pipeline", "tracecanary-test"),)
    assert declared_metrics(lines) == {
        ("ObjectsUploaded", pipeline),
        ("UploadFailures", pipeline),
        ("ScheduleLag", pipeline),
        ("PutLatency", pipeline),
    }
    first = lines[0]["_aws"]
    assert first["Timestamp"] == 1_000_000  # planned at 1000.0 s
    assert first["CloudWatchMetrics"] == [
        {
            "Namespace": "TraceCanary",
            "Dimensions": [["Pipeline"]],
            "Metrics": [
                {"Name": "ScheduleLag", "Unit": "Milliseconds"},
                {"Name": "PutLatency", "Unit": "Milliseconds"},
            ],
        }
    ]
    failed = lines[2]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert failed == [{"Name": "ScheduleLag", "Unit": "Milliseconds"}]  # a failed PUT has no latency


def test_a_large_run_stays_one_value_per_figure_per_line() -> None:
    lines = lines_of(MetricsDetail.FULL, sent=250)
    assert len(lines) == 251
    for line in lines:
        assert not any(isinstance(value, list) for value in line.values())
    assert sum(1 for line in lines if "PutLatency" in line) == 250
    assert lines[-1]["ObjectsUploaded"] == 250
