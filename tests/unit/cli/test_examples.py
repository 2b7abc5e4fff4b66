"""The README's trace examples (examples/traces/): each file's `tracecanary analyze --format json` output
is the `.analyze.json` beside it, so what the README shows is what the command prints."""

import json
from pathlib import Path

import pytest

from cli.main import main
from tests.conftest import PROJECT_ROOT

EXAMPLES = sorted(
    path
    for path in (PROJECT_ROOT / "examples" / "traces").glob("*.json")
    if not path.name.endswith(".analyze.json")
)


def test_there_is_an_example_of_each_trace_format() -> None:
    assert [path.stem for path in EXAMPLES] == ["new-style", "old-style", "opentelemetry"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_each_example_prints_its_analysis(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--format", "json", str(example)]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = json.loads(example.with_name(f"{example.stem}.analyze.json").read_text())
    assert printed == expected


def test_the_three_formats_agree_on_every_figure_they_share() -> None:
    old, new, otel = (
        json.loads((PROJECT_ROOT / "examples" / "traces" / f"{name}.analyze.json").read_text())[
            "invocations"
        ][0]
        for name in ("old-style", "new-style", "opentelemetry")
    )
    assert new == otel  # the call found in the SERVER-span segment, as under the function segment
    assert (old["format"], new["format"]) == ("v1", "v2")
    for field in ("cold_start", "init_ms", "invocation_ms", "overhead_ms", "dwell_ms", "attempts", "calls"):
        assert old[field] == new[field], field
