"""`tracecanary generate` against the moto server, including the issue's done-when run."""

import time
from pathlib import Path

import boto3
import pytest

from cli.main import main
from demo.moto_server import LocalAws
from generator import cli as generator_cli
from generator.manifest import DynamoDbManifest, JsonLinesManifest, Outcome

from .generator_support import (
    BUCKET,
    TABLE,
    HeaderRecorder,
    check_traces,
    create_bucket,
    create_manifest_table,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> HeaderRecorder:
    """Every client the command builds records the S3 PutObject headers as they go on the wire."""
    recording = HeaderRecorder()

    def session(region: str | None) -> boto3.session.Session:
        built = boto3.session.Session(region_name=region)
        recording.attach(built.events)
        return built

    monkeypatch.setattr(generator_cli, "session_factory", session)
    return recording


def test_done_when_200_poisson_objects_at_50_per_second(
    local_aws: LocalAws, recorder: HeaderRecorder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create_bucket()
    create_manifest_table()
    ids_file = tmp_path / "ids.txt"
    args = [
        "generate",
        "--bucket",
        BUCKET,
        "--count",
        "200",
        "--rate",
        "50",
        "--arrival",
        "poisson",
        "--seed",
        "7",
    ]
    code = main([*args, "--manifest", TABLE, "--trace-ids", str(ids_file)])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "sent 200 · failed 0 · dropped 0" in out
    assert "PutObject latency p50" in out
    assert "schedule lag p50" in out
    trace_ids = ids_file.read_text().split()
    assert len(trace_ids) == len(set(trace_ids)) == 200

    first_line = out.splitlines()[0]
    run_id = first_line.split()[1].rstrip(":")
    manifest = DynamoDbManifest(boto3.client("dynamodb"), TABLE)
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="synthetic/")
    assert listed["KeyCount"] == 200
    # the window of the run: from the first planned time to the end of the span (4 s at 50/s)
    records = [r for r in manifest.read_window(time.time() - 3600, time.time() + 3600) if r.run_id == run_id]
    start = min(r.planned_at for r in records)
    window = manifest.read_window(start, start + 4.0)
    assert window == records
    assert len(window) == 200
    assert {r.trace_id for r in window} == set(trace_ids)
    assert all(r.outcome is Outcome.SENT for r in window)
    for record in window:
        assert recorder.by_key[record.key] == [
            f"Root={record.trace_id};Parent={record.put_subsegment_id};Sampled=1"
        ]
    check_traces(window)


def test_a_local_json_lines_manifest_by_default(
    local_aws: LocalAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_bucket()
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--bucket", BUCKET, "--count", "12", "--arrival", "burst", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "manifest: file tracecanary-manifest.jsonl (12 records)" in out
    records = JsonLinesManifest(tmp_path / "tracecanary-manifest.jsonl").read_window(0, 4_102_444_800)
    assert len(records) == 12
    (ids_file,) = tmp_path.glob("tracecanary-*.trace-ids")
    assert sorted(ids_file.read_text().split()) == sorted(r.trace_id for r in records)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bucket", "missing-bucket"], "bucket 'missing-bucket' does not exist"),
        (
            ["--bucket", BUCKET, "--manifest", "missing-table"],
            "manifest table 'missing-table' does not exist",
        ),
    ],
)
def test_missing_resources_are_one_clear_line(
    local_aws: LocalAws, extra: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    create_bucket()
    assert main(["generate", "--count", "3", "--trace-ids", str(tmp_path / "ids"), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [f"tracecanary generate: {message}"]
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
