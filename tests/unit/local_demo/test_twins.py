"""The demo's twins: S3's choice of twin by notification filter, where each twin's PutItem is recorded, and
the side-by-side table, on hand-worked record lines and segment documents."""

import json
from typing import Any

import pytest

from cli.main import main
from common.variants import PipelineVariant
from demo.twins import notified_variant, put_item_homes, side_by_side, twin_figures, twins_section

BOTH = (PipelineVariant.POWERTOOLS, PipelineVariant.OPENTELEMETRY)
STACK = "tc"


def s3_event(key: str) -> dict[str, Any]:
    return {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"}, "object": {"key": key}}}]}


def test_s3_notifies_the_twin_whose_prefix_the_decoded_key_is_under_and_no_twin_outside() -> None:
    assert notified_variant(s3_event("synthetic/opentelemetry/ab/x.json"), "synthetic/") is BOTH[1]
    assert notified_variant(s3_event("synthetic/powertools/a+b%C3%A9.txt"), "synthetic/") is BOTH[0]
    assert notified_variant(s3_event("synthetic/ab/old-layout.json"), "synthetic/") is None
    assert notified_variant(s3_event("other/powertools/x"), "synthetic/") is None


def invocation_line(
    function: str, cold: bool, invocation_ms: float, init_ms: float | None = None
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "record": "invocation",
        "Pipeline": STACK,
        "FunctionName": function,
        "Invocations": 1,
        "ColdStarts": int(cold),
        "FunctionErrors": 0,
        "InvocationDuration": invocation_ms,
        "OverheadDuration": 2.0,
    }
    if init_ms is not None:
        line["InitDuration"] = init_ms
    return line


def call_line(function: str, ms: float) -> dict[str, Any]:
    return {
        "record": "call",
        "Pipeline": STACK,
        "FunctionName": function,
        "Service": "DynamoDB",
        "Operation": "PutItem",
        "CallLatency": ms,
    }


EMF = [
    invocation_line("tc-pipeline", True, 40.0, init_ms=900.0),
    invocation_line("tc-pipeline", False, 10.0),
    call_line("tc-pipeline", 12.0),
    call_line("tc-pipeline", 8.0),
    invocation_line("tc-pipeline-otel", True, 60.0, init_ms=1300.0),
    call_line("tc-pipeline-otel", 14.0),
]


def test_each_twins_figures_are_its_functions_only() -> None:
    figures = twin_figures(EMF, STACK, BOTH)
    powertools, otel = figures["powertools"], figures["opentelemetry"]
    assert (powertools["function"], powertools["invocations"], powertools["cold starts"]) == (
        "tc-pipeline",
        2,
        1,
    )
    assert (otel["function"], otel["invocations"], otel["cold starts"]) == ("tc-pipeline-otel", 1, 1)
    assert powertools["init (cold starts)"]["count"] == 1
    assert powertools["init (cold starts)"]["p50"] == 900.0
    assert otel["DynamoDB PutItem"]["p99"] == 14.0
    assert powertools["DynamoDB PutItem"]["count"] == 2


def segment(document: dict[str, Any]) -> dict[str, Any]:
    return {"Id": document["id"], "Document": json.dumps(document)}


FUNCTION_ORIGIN = "AWS::Lambda::Function"
PUT_ITEM = {"name": "DynamoDB", "namespace": "aws", "aws": {"operation": "PutItem"}}
SDK_PUT_ITEM = {**PUT_ITEM, "name": "dynamodb"}  # as the X-Ray SDK names it
TRACES = {
    "Traces": [
        {  # Powertools: the call is a subsegment of its handler's, in Lambda's function segment
            "Id": "1-a",
            "Segments": [
                segment({"id": "f1", "name": "tc-pipeline", "origin": FUNCTION_ORIGIN,
                         "subsegments": [{"name": "## lambda_handler", "subsegments": [SDK_PUT_ITEM]}]}),
            ],
        },
        {  # OpenTelemetry: in the SERVER span's own segment, parented to the function segment
            "Id": "1-b",
            "Segments": [
                segment({"id": "f2", "name": "tc-pipeline-otel", "origin": FUNCTION_ORIGIN,
                         "subsegments": [{"name": "Init"}]}),
                segment({"id": "s2", "parent_id": "f2", "name": "tc-pipeline-otel",
                         "annotations": {"span.kind": "SERVER"}, "subsegments": [PUT_ITEM]}),
            ],
        },
    ]
}  # fmt: skip


def test_each_twins_put_item_is_found_where_its_tracing_records_it() -> None:
    assert put_item_homes(TRACES, STACK, BOTH) == {
        "powertools": {"function segment": 1},
        "opentelemetry": {"SERVER-span segment": 1},
    }


def test_the_table_puts_the_twins_in_columns_side_by_side() -> None:
    figures, lines = twins_section(EMF, TRACES, STACK, BOTH, concurrency=2)
    assert figures["opentelemetry"]["put_item_in"] == {"SERVER-span segment": 1}
    table = side_by_side(figures)
    header, *rows = table
    assert header.split() == ["powertools", "opentelemetry"]
    by_label = {row[:30].strip(): row[30:].split("  ") for row in rows}
    assert [cell.strip() for cell in by_label["invocations"] if cell.strip()] == ["2", "1"]
    assert [cell.strip() for cell in by_label["DynamoDB PutItem p50 / p99"] if cell.strip()] == [
        "8.0 / 12.0 ms",  # nearest rank: the lower of two
        "14.0 / 14.0 ms",
    ]
    assert [cell.strip() for cell in by_label["PutItem found in"] if cell.strip()] == [
        "function segment 1",
        "SERVER-span segment 1",
    ]
    assert lines[1] == "the twins side by side (the reporter's figures by FunctionName):"
    assert "up to 4 execution environments start at once" in lines[-1]


@pytest.mark.parametrize("variants", ["opentelemetry", "opentelemetry,powertools", "powertools,otel"])
def test_the_demo_runs_only_twins_the_template_can_deploy(
    variants: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--variants", variants])
    assert exited.value.code == 2
    [*_, error] = capsys.readouterr().err.strip().splitlines()
    assert error.startswith("tracecanary demo: error: argument --variants: PipelineVariants: ")
    assert "Traceback" not in error
