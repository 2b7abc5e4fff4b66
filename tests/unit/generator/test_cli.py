import io
from pathlib import Path

import boto3
import pytest

from cli.main import main
from generator.cli import Progress, manifest_store
from generator.manifest import DynamoDbManifest, JsonLinesManifest, ManifestRecord, Outcome


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "5"], "--bucket is required"),
        (["--bucket", "b-1"], "--count is required"),
        (["--bucket", "b-1", "--count", "-3"], "--count must be at least 1"),
        (["--bucket", "b-1", "--count", "ten"], "--count must be a whole number"),
        (["--bucket", "b-1", "--count", "5", "--arrival", "gaussian"], "unknown arrival pattern 'gaussian'"),
        (["--bucket", "b-1", "--count", "5", "--sizes", "1KiB:70,huge:30"], "size 'huge'"),
        (["--bucket", "b-1", "--count", "5", "--span", "10", "--rate", "5"], "either --span or --rate"),
        (["--bucket", "b-1", "--count", "5", "--rate", "0"], "--rate must be at least"),
        (["--bucket", "b-1", "--count", "5", "--workers", "0"], "--workers must be at least 1"),
        (["--bucket", "b-1", "--count", "5", "--seed", "-1"], "--seed must be at least 0"),
        (["--bucket", "b-1", "--count", "5", "--xray", "kafka"], "unknown X-Ray sink"),
        (["--bucket", "b-1", "--count", "5", "--prefix", "/abs"], "must not start with '/'"),
        (["--bucket", "b-1", "--count", "5", "--variants", "xray"], "--variants: unknown variant 'xray'"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert main(["generate", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("tracecanary generate: ")
    assert message in line


def test_manifest_choice() -> None:
    session = boto3.session.Session(region_name="us-east-1")
    assert isinstance(manifest_store("runs.jsonl", session, 8), JsonLinesManifest)
    assert isinstance(manifest_store("out/runs", session, 8), JsonLinesManifest)
    assert isinstance(manifest_store("file:runs", session, 8), JsonLinesManifest)
    assert isinstance(manifest_store("tracecanary-manifest-table", session, 8), DynamoDbManifest)
    assert isinstance(manifest_store("dynamodb:runs.jsonl", session, 8), DynamoDbManifest)
    assert manifest_store("dynamodb:t1", session, 8).description == "DynamoDB table t1"
    assert manifest_store("x.jsonl", session, 8).description == f"file {Path('x.jsonl')}"


class Terminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def record(outcome: Outcome) -> ManifestRecord:
    return ManifestRecord(
        run_id="r",
        sequence=0,
        bucket="b",
        key="k",
        trace_id="t",
        segment_id="s",
        put_subsegment_id="p",
        planned_at=0.0,
        outcome=outcome,
        size=1,
        content_type="text/plain",
    )


def test_the_progress_bar_draws_only_on_a_terminal() -> None:
    tty = Terminal(tty=True)
    progress = Progress(2, tty)
    progress.update(record(Outcome.SENT))
    progress.update(record(Outcome.DROPPED))
    progress.close()
    assert "2/2 sent 1 failed 0 dropped 1" in tty.getvalue()
    assert tty.getvalue().endswith("\n")

    pipe = Terminal(tty=False)
    progress = Progress(2, pipe)
    progress.update(record(Outcome.SENT))
    progress.close()
    assert pipe.getvalue() == ""
