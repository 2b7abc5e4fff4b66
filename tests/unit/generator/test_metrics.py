import json
from collections.abc import Iterator

import pytest
from aws_lambda_powertools import Metrics

from generator.manifest import ManifestRecord, Outcome
from generator.metrics import emit_run_metrics


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    instance = Metrics(namespace="TraceCanary")
    instance.clear_metrics()
    instance.clear_default_dimensions()
    instance.set_default_dimensions(Pipeline="tracecanary-test")
    yield instance
    instance.clear_metrics()
    instance.clear_default_dimensions()


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
            )
        )
    return result


def emf_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and "_aws" in line]


def test_counts_and_raw_values_with_the_pipeline_dimension(
    metrics: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    emit_run_metrics(metrics, records(sent=8, failed=1, dropped=1))
    metrics.flush_metrics()
    (line,) = emf_lines(capsys.readouterr().out)
    directive = line["_aws"]["CloudWatchMetrics"][0]  # type: ignore[index]
    assert directive["Namespace"] == "TraceCanary"
    assert directive["Dimensions"] == [["Pipeline"]]
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {
        "ObjectsUploaded": "Count",
        "UploadFailures": "Count",
        "ScheduleLag": "Milliseconds",
        "PutLatency": "Milliseconds",
    }
    assert line["Pipeline"] == "tracecanary-test"
    assert line["ObjectsUploaded"] == [8.0]
    assert line["UploadFailures"] == [2.0]  # failed + dropped
    assert len(line["ScheduleLag"]) == 9  # type: ignore[arg-type]  # every started object
    assert line["PutLatency"] == [20.0 + i for i in range(8)]  # sent objects only
    assert "service" not in line


def test_more_than_100_values_become_several_lines_within_the_emf_limit(
    metrics: Metrics, capsys: pytest.CaptureFixture[str]
) -> None:
    emit_run_metrics(metrics, records(sent=250, failed=0, dropped=0))
    metrics.flush_metrics()
    lines = emf_lines(capsys.readouterr().out)
    assert len(lines) >= 3
    totals: dict[str, list[float]] = {"ScheduleLag": [], "PutLatency": []}
    uploaded = 0.0
    for line in lines:
        assert line["Pipeline"] == "tracecanary-test"
        for name, values in totals.items():
            value = line.get(name, [])
            batch = value if isinstance(value, list) else [value]
            assert len(batch) <= 100
            values.extend(batch)
        uploaded += sum(line.get("ObjectsUploaded", []))  # type: ignore[arg-type]
    assert uploaded == 250
    assert len(totals["ScheduleLag"]) == len(totals["PutLatency"]) == 250
    assert sorted(totals["PutLatency"]) == [20.0 + i for i in range(250)]
