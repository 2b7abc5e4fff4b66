"""`tracecanary analyze` and `tracecanary show`, run in-process; AWS replaced by an in-memory trace source."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli.main import build_parser, main
from cli.trace_commands import run_analyze, run_show, use_color
from cli.waterfall import waterfall_rows
from common.errors import UserError
from tests.unit.traces.helpers import TRACE_ID, function_segment, sdk_call, segment, trace
from traces.analysis import build_trees

THUMBNAIL = "triggerbench-sb_thumbnail_app_traces.json"
SUMMARIES = "awsdocs-xray-devguide_gettracesummaries_scorekeep-2017.json"
MISSING_TRACE_ID = "1-67000002-0123456789abcdef01234567"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass
class FakeStats:
    api_calls: int = 0
    traces_retrieved: int = 0
    traces_scanned: int = 0
    throttled_retries: int = 0
    calls_by_operation: dict[str, int] = field(default_factory=dict)


@dataclass
class FakeBatch:
    traces: list[dict[str, Any]]
    missing: list[str]
    pending: list[str] = field(default_factory=list)


@dataclass
class FakeSource:
    """Implements the TraceSource protocol from a dict of traces; records what it was asked."""

    traces: dict[str, dict[str, Any]]
    summaries: list[str] = field(default_factory=list)
    stats: FakeStats = field(default_factory=FakeStats)
    asked_ids: list[list[str]] = field(default_factory=list)
    asked_ranges: list[tuple[datetime, datetime, str | None]] = field(default_factory=list)

    def get_traces(
        self, trace_ids: Iterable[str], *, time_range: Any = None, deadline: Any = None
    ) -> FakeBatch:
        ids = list(trace_ids)
        self.asked_ids.append(ids)
        self.stats.api_calls += 1
        found = [self.traces[trace_id] for trace_id in ids if trace_id in self.traces]
        self.stats.traces_retrieved += len(found)
        return FakeBatch(found, [trace_id for trace_id in ids if trace_id not in self.traces])

    def find_trace_ids(
        self, start: datetime, end: datetime, filter_expression: str | None = None
    ) -> list[str]:
        self.asked_ranges.append((start, end, filter_expression))
        self.stats.api_calls += 1
        self.stats.traces_scanned += len(self.summaries)
        return list(self.summaries)


def one_lambda_trace() -> dict[str, Any]:
    service = segment("a000000000000001", "pipeline", 10.0, 10.5, origin="AWS::Lambda")
    call = sdk_call("c000000000000001", "DynamoDB", "PutItem", 10.2, 10.3, table_name="items")
    function = function_segment(
        "f000000000000001", 10.1, 10.4, name="pipeline", parent_id="a000000000000001", subsegments=[call]
    )
    return trace(service, function)


def analyze_args(*argv: str) -> Any:
    return build_parser().parse_args(["analyze", *argv])


# -- analyze FILE ------------------------------------------------------------------------------------------


def test_json_output_is_the_contract(xray_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(xray_fixtures_dir / name) for name in (THUMBNAIL, SUMMARIES)]
    assert main(["analyze", "--format", "json", *files]) == 0
    output = json.loads(capsys.readouterr().out)
    assert set(output) == {"invocations", "traces", "skipped", "transactions"}
    assert output["traces"] == 1
    assert [i["function"] for i in output["invocations"]] == [
        "thumbnail-generator-production-upload",
        "thumbnail-generator-production-thumbnail-generator",
    ]
    assert output["invocations"][1]["s3_notification_ms"] == pytest.approx(1099.0)  # 838.776 - 837.677
    assert output["skipped"] == [{"file": files[1], "reason": output["skipped"][0]["reason"]}]


def test_table_output(xray_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(xray_fixtures_dir / THUMBNAIL)]) == 0
    out = capsys.readouterr().out
    assert "1-5fbcfc1f-4d2e9bed6dc0c41c39dfdb2f" in out
    assert "thumbnail-generator-production-thumbnail-generator" in out
    assert "cold" in out
    assert "S3 HeadBucket 1479.0" in out  # 835.696 -> 837.175
    assert "S3 PutObject 342.0" in out  # 837.335 -> 837.677
    for section in ("Invocations", "Per function", "Per call"):
        assert section in out
    assert "\033[" not in out


def new_style_trace() -> dict[str, Any]:
    """A v2 function segment (Init, Overhead, timing annotations) whose handler's OpenTelemetry segment holds
    the DynamoDB call."""
    service = segment("a000000000000001", "pipeline", 9.0, 10.5, origin="AWS::Lambda")
    function = function_segment(
        "f000000000000001",
        10.1,
        10.4,
        name="pipeline",
        parent_id="a000000000000001",
        annotations={"aws:responseLatency": 250.0, "aws:runtimeOverhead": 40.0, "aws:extensionOverhead": 9.5},
        subsegments=[
            {"id": "i000000000000001", "name": "Init", "start_time": 9.5, "end_time": 10.05},
            {"id": "o000000000000001", "name": "Overhead", "start_time": 10.35, "end_time": 10.3995},
        ],
    )
    call = sdk_call("c000000000000001", "DynamoDB", "PutItem", 10.2, 10.3, table_name="items")
    server_span = segment(
        "s000000000000001",
        "pipeline-otel",
        10.11,
        10.34,
        parent_id="f000000000000001",
        annotations={"span.kind": "SERVER"},
        subsegments=[call],
    )
    return trace(service, function, server_span)


def test_table_shows_the_format_and_the_new_style_columns_where_any_invocation_has_them(
    tmp_path: Path, xray_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(new_style_trace()))
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("trace id"))
    assert header.split()[:7] == ["trace", "id", "function", "start", "(UTC)", "format", "cold/warm"]
    assert "runtime ovh" in header
    assert "ext ovh" in header
    assert "response" not in header  # no invocation has aws:responseDuration
    row = next(line for line in out.splitlines() if line.startswith(TRACE_ID))
    assert " v2 " in row
    assert "cold" in row
    assert "250.0" in row  # aws:responseLatency
    assert "DynamoDB PutItem 100.0" in row  # found in the OpenTelemetry segment
    assert "extension overhead" in out  # its distribution, per function
    assert main(["analyze", str(xray_fixtures_dir / THUMBNAIL)]) == 0
    old_style = capsys.readouterr().out
    assert "runtime ovh" not in old_style
    assert " v1 " in next(line for line in old_style.splitlines() if "production-upload" in line)


def test_missing_and_non_json_files_are_reported_and_the_rest_analysed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(one_lambda_trace()))
    bad = tmp_path / "bad.json"
    bad.write_text("{this is not json")
    missing = tmp_path / "missing.json"
    code = main(["analyze", "--format", "json", str(missing), str(bad), str(good)])
    captured = capsys.readouterr()
    assert code == 1
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2
    assert str(missing) in errors[0]
    assert "no such file" in errors[0]
    assert str(bad) in errors[1]
    assert "not JSON" in errors[1]
    output = json.loads(captured.out)
    assert len(output["invocations"]) == 1
    assert [entry["file"] for entry in output["skipped"]] == [str(missing), str(bad)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "nothing to analyse"),
        (["--since", "soon"], "--since"),
        (["--filter", 'service("x")', "f.json"], "--filter needs --since"),
        (["--trace-ids", "abc"], "not an X-Ray trace id"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


# -- analyze from AWS (fake source) -------------------------------------------------------------------------


def test_trace_ids_are_fetched_through_the_source(capsys: pytest.CaptureFixture[str]) -> None:
    source = FakeSource({TRACE_ID: one_lambda_trace()})
    code = run_analyze(
        analyze_args("--format", "json", "--trace-ids", TRACE_ID, MISSING_TRACE_ID),
        make_source=lambda _setting: source,
    )
    captured = capsys.readouterr()
    assert code == 1  # an id asked for was not found
    assert source.asked_ids == [[TRACE_ID, MISSING_TRACE_ID]]
    output = json.loads(captured.out)
    assert [i["function"] for i in output["invocations"]] == ["pipeline"]
    assert any(MISSING_TRACE_ID in entry["reason"] for entry in output["skipped"])
    assert MISSING_TRACE_ID in captured.err
    assert "X-Ray: 1 API calls, 1 traces retrieved" in captured.err


def test_since_and_filter_search_the_period_then_fetch(capsys: pytest.CaptureFixture[str]) -> None:
    source = FakeSource({TRACE_ID: one_lambda_trace()}, summaries=[TRACE_ID])
    args = analyze_args("--since", "15m", "--filter", 'service("pipeline")')
    assert run_analyze(args, make_source=lambda _setting: source, now=lambda: NOW) == 0
    assert source.asked_ranges == [(NOW - timedelta(minutes=15), NOW, 'service("pipeline")')]
    assert source.asked_ids == [[TRACE_ID]]
    assert "pipeline" in capsys.readouterr().out


def test_since_finding_nothing_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    source = FakeSource({})
    assert (
        run_analyze(analyze_args("--since", "2h"), make_source=lambda _setting: source, now=lambda: NOW) == 0
    )
    assert source.asked_ranges[0][0] == NOW - timedelta(hours=2)
    assert source.asked_ids == []  # nothing to fetch, no call
    assert "No Lambda invocations found." in capsys.readouterr().out


# -- show --------------------------------------------------------------------------------------------------


def test_show_draws_every_part_of_a_fixture(
    xray_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", str(xray_fixtures_dir / THUMBNAIL), "--width", "140"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Trace 1-5fbcfc1f-4d2e9bed6dc0c41c39dfdb2f")
    assert len(lines) == 2 + 18  # title, axis, 9 segments + 9 subsegments
    assert "\033[" not in out  # not a terminal: no colour
    assert all(len(line) <= 140 for line in lines)
    dwell = next(line for line in lines if "Dwell Time" in line)
    assert "59.0 ms" in dwell
    # Nesting: the consumer's function segment is drawn under its service segment's Attempt #1.
    attempt = next(line for line in lines if "Attempt #1" in line)
    consumer = next(
        line for line in lines if "thumbnail-gene" in line and "8128.0" not in line and "6558.0" in line
    )
    assert len(consumer) - len(consumer.lstrip()) > len(attempt) - len(attempt.lstrip())


def test_show_draws_an_attached_segment_in_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(new_style_trace()))
    assert main(["show", str(path), "--width", "120"]) == 0
    drawn = capsys.readouterr().out.splitlines()[2:]
    [tree], _ = build_trees(new_style_trace())
    rows = waterfall_rows(tree)
    # Under the function segment, by start: Init (9.5), the SERVER-span segment (10.11), Overhead (10.35);
    # the DynamoDB call under the SERVER-span segment.
    assert [(row.depth, row.name) for row in rows] == [
        (0, "pipeline"),
        (1, "pipeline"),
        (2, "Init"),
        (2, "pipeline-otel"),
        (3, "DynamoDB"),
        (2, "Overhead"),
    ]
    assert [row.origin for row in rows[:2]] == ["AWS::Lambda", "AWS::Lambda::Function"]
    assert len(drawn) == len(rows)
    assert drawn[3].startswith("    pipeline-otel ")  # two steps in, as drawn


def test_show_marks_errors_and_parts_in_progress(
    xray_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "show",
                str(xray_fixtures_dir / "triggerbench-sb_thumbnail_app_error_fault_throttle_traces.json"),
            ]
        )
        == 0
    )
    s3_line = next(
        line
        for line in capsys.readouterr().out.splitlines()
        if line.strip().startswith("S3 ") or line.strip() == "S3"
    )
    assert "fault error throttle" in s3_line
    assert (
        main(["show", str(xray_fixtures_dir / "triggerbench-sb_thumbnail_app_in_progress_traces.json")]) == 0
    )
    dwell = next(line for line in capsys.readouterr().out.splitlines() if "Dwell Time" in line)
    assert "in progress" in dwell


def test_show_a_file_with_several_traces_and_pick_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other_id = "1-67000001-0123456789abcdef01234567"
    second = one_lambda_trace()
    second["Id"] = other_id
    for entry in second["Segments"]:
        document = json.loads(entry["Document"])
        document["trace_id"] = other_id
        entry["Document"] = json.dumps(document)
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"Traces": [one_lambda_trace(), second]}))
    assert main(["show", str(path)]) == 0
    assert capsys.readouterr().out.count("Trace 1-") == 2
    assert main(["show", str(path), "--trace-id", other_id]) == 0
    out = capsys.readouterr().out
    assert out.count("Trace 1-") == 1
    assert other_id in out
    assert main(["show", str(path), "--trace-id", MISSING_TRACE_ID]) == 2
    assert MISSING_TRACE_ID in capsys.readouterr().err


def test_show_a_trace_id_fetches_it(capsys: pytest.CaptureFixture[str]) -> None:
    source = FakeSource({TRACE_ID: one_lambda_trace()})
    args = build_parser().parse_args(["show", TRACE_ID])
    assert run_show(args, make_source=lambda _setting: source) == 0
    assert source.asked_ids == [[TRACE_ID]]
    assert "pipeline" in capsys.readouterr().out
    with pytest.raises(UserError, match="not found"):
        run_show(build_parser().parse_args(["show", MISSING_TRACE_ID]), make_source=lambda _setting: source)


def test_show_something_that_is_neither_file_nor_trace_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "no-such-thing"]) == 2
    assert "no such file" in capsys.readouterr().err


class FakeTerminal:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(FakeTerminal(True)) is True  # type: ignore[arg-type]
    assert use_color(FakeTerminal(False)) is False  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(FakeTerminal(True)) is False  # type: ignore[arg-type]


def test_jobs_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(one_lambda_trace()))
    assert main(["analyze", "--format", "json", str(path)]) == 0
    serial = json.loads(capsys.readouterr().out)
    assert main(["analyze", "--format", "json", "--jobs", "0", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == serial
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "--jobs", "-1", str(path)])
    assert exit_info.value.code == 2


def test_the_trace_source_option_reaches_the_source_factory(capsys: pytest.CaptureFixture[str]) -> None:
    source = FakeSource(traces={TRACE_ID: one_lambda_trace()})
    asked: list[str] = []

    def make(setting: str) -> FakeSource:
        asked.append(setting)
        return source

    args = analyze_args("--format", "json", "--trace-ids", TRACE_ID, "--trace-source", "transaction-search")
    assert run_analyze(args, make_source=make, now=lambda: NOW) == 0
    assert asked == ["transaction-search"]
    assert build_parser().parse_args(["show", TRACE_ID]).trace_source == "auto"
    assert (
        build_parser().parse_args(["report", "--stack", "s", "--trace-source", "xray"]).trace_source == "xray"
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["analyze", "--trace-ids", TRACE_ID, "--trace-source", "otel"])
    capsys.readouterr()


def test_a_trace_still_being_retrieved_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    class Retrieving(FakeSource):
        name = "Transaction Search"

        def get_traces(
            self, trace_ids: Iterable[str], *, time_range: Any = None, deadline: Any = None
        ) -> FakeBatch:
            ids = list(trace_ids)
            self.stats.api_calls += 2
            self.stats.calls_by_operation.update(StartTraceRetrieval=1, ListRetrievedTraces=1)
            return FakeBatch([], ids, pending=ids)

    source = Retrieving(traces={})
    code = run_analyze(
        analyze_args("--trace-ids", MISSING_TRACE_ID), make_source=lambda _s: source, now=lambda: NOW
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "still being retrieved by Transaction Search" in err
    assert "Transaction Search: 2 API calls (ListRetrievedTraces 1, StartTraceRetrieval 1)" in err
    with pytest.raises(UserError, match="was still retrieving it"):
        run_show(build_parser().parse_args(["show", MISSING_TRACE_ID]), make_source=lambda _s: source)
