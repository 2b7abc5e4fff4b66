"""The generator function, in process, against the moto server, with a local UDP socket as the daemon."""

import json
import socket
import time
from collections.abc import Iterator

import boto3
import pytest

from common.emf import declared_metrics
from common.errors import SettingsError
from demo.lambda_context import LocalLambdaContext
from demo.moto_server import LocalAws
from generator.manifest import DynamoDbManifest, Outcome
from handlers import generator as handler
from tests.conftest import load_event

from .generator_support import BUCKET, TABLE, check_traces, create_bucket, create_manifest_table

pytestmark = pytest.mark.integration


def generator_context() -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name="tracecanary-generator", memory_limit_in_mb=256, timeout_seconds=90
    )


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


@pytest.fixture
def environment(
    local_aws: LocalAws, daemon: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    create_bucket()
    create_manifest_table()
    for name, value in {
        "INCOMING_BUCKET": BUCKET,
        "MANIFEST_TABLE": TABLE,
        "GENERATOR_COUNT": "12",
        "GENERATOR_SPAN_SECONDS": "0.5",
        "GENERATOR_ARRIVAL": "uniform",
        "GENERATOR_SEED": "7",
        "GENERATOR_WORKERS": "4",
        "PIPELINE_NAME": "tracecanary-it",
        "POWERTOOLS_METRICS_NAMESPACE": "TraceCanary",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
    }.items():
        monkeypatch.setenv(name, value)
    reset_handler()
    yield
    reset_handler()


def reset_handler() -> None:
    for cached in (handler.settings, handler._session, handler._store, handler._manifest):
        cached.cache_clear()


def emf(out: str) -> dict[str, list[float]]:
    """Every figure of the run's record lines, by name (metrics at `full`, plain fields at `standard`)."""
    totals: dict[str, list[float]] = {}
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        if document.get("record") not in ("generator_object", "generator_run"):
            continue
        assert document["Pipeline"] == "tracecanary-it"
        for metric in ("ObjectsUploaded", "UploadFailures", "ScheduleLag", "PutLatency"):
            if metric in document:
                totals.setdefault(metric, []).append(float(document[metric]))
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            assert directive["Dimensions"] == [["Pipeline"]]
            assert directive["Namespace"] == "TraceCanary"
    return totals


@pytest.mark.parametrize(("detail", "metrics"), [("standard", 0), ("full", 4)])
def test_a_scheduled_run(
    environment: None,
    daemon: socket.socket,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    detail: str,
    metrics: int,
) -> None:
    monkeypatch.setenv("METRICS_DETAIL", detail)
    summary = handler.lambda_handler(load_event("generator-schedule.json"), generator_context())
    assert (summary["sent"], summary["failed"], summary["dropped"]) == (12, 0, 0)
    assert summary["event_id"] == "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"

    datagrams = [daemon.recv(65536) for _ in range(12)]
    documents = [json.loads(d.split(b"\n", 1)[1]) for d in datagrams]

    manifest = DynamoDbManifest(boto3.client("dynamodb"), TABLE)
    records = manifest.read_window(summary["first_planned_at"], summary["first_planned_at"] + 0.5)  # type: ignore[operator]
    assert len(records) == 12
    assert {d["trace_id"] for d in documents} == {r.trace_id for r in records}
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET)["KeyCount"] == 12

    out = capsys.readouterr().out
    figures = emf(out)
    assert figures["ObjectsUploaded"] == [12.0]
    assert figures["UploadFailures"] == [0.0]
    assert len(figures["ScheduleLag"]) == len(figures["PutLatency"]) == 12
    printed = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(declared_metrics(printed)) == metrics  # none at standard, the four at full

    # the same event, replayed, plans the same traffic (same sizes and offsets)
    reset_handler()
    again = handler.lambda_handler(load_event("generator-schedule.json"), generator_context())
    assert again["seed"] == summary["seed"]


def test_failing_puts_are_failed_records_and_upload_failures(
    environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INCOMING_BUCKET", "bucket-that-is-gone")
    monkeypatch.setenv("GENERATOR_XRAY_SINK", "api")
    reset_handler()
    summary = handler.lambda_handler(load_event("generator-schedule.json"), generator_context())
    assert (summary["sent"], summary["failed"]) == (0, 12)
    records = DynamoDbManifest(boto3.client("dynamodb"), TABLE).read_window(
        time.time() - 3600, time.time() + 3600
    )
    assert len(records) == 12
    assert all(r.outcome is Outcome.FAILED and (r.error or "").startswith("NoSuchBucket") for r in records)
    check_traces(records)
    figures = emf(capsys.readouterr().out)
    assert figures["UploadFailures"] == [12.0]
    assert figures["ObjectsUploaded"] == [0.0]
    assert "PutLatency" not in figures


def test_bad_settings_fail_the_cold_start_naming_the_variable(
    environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENERATOR_SIZES", "1KiB:seventy")
    reset_handler()
    with pytest.raises(SettingsError, match=r"GENERATOR_SIZES \(got '1KiB:seventy'\)"):
        handler.lambda_handler(load_event("generator-schedule.json"), generator_context())
