"""`tracecanary demo --variants powertools,opentelemetry`: both twins through the whole local loop."""

import json
from pathlib import Path
from typing import Any

import pytest

from cli.main import main


def documents(traces: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [[json.loads(segment["Document"]) for segment in trace["Segments"]] for trace in traces["Traces"]]


def put_items(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for subsegment in document.get("subsegments", []):
        named = str(subsegment.get("name")).lower() == "dynamodb"  # `dynamodb` from the X-Ray SDK
        if named and subsegment.get("aws", {}).get("operation") == "PutItem":
            found.append(subsegment)
        found += put_items(subsegment)
    return found


def test_both_twins_complete_every_object_and_the_twins_put_item_is_in_its_server_span_segment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["demo", "--output-dir", str(tmp_path), "--rate", "20", "--count", "6", "--concurrency", "1"]
    assert main([*args, "--variants", "powertools,opentelemetry"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["transactions"]["generated"] == summary["transactions"]["complete"] == 6
    assert "-> pipeline twins powertools and opentelemetry in turn" in printed
    assert "the twins side by side (the reporter's figures by FunctionName):" in printed
    twins = summary["twins"]
    assert {name: twin["invocations"] for name, twin in twins.items()} == {
        "powertools": 3,
        "opentelemetry": 3,
    }
    assert twins["opentelemetry"]["function"] == "tracecanary-demo-pipeline-otel"
    assert twins["opentelemetry"]["DynamoDB PutItem"]["count"] == 3
    assert twins["powertools"]["put_item_in"] == {"function segment": 3}
    assert twins["opentelemetry"]["put_item_in"] == {"SERVER-span segment": 3}
    # The preview has the stack's alarms with the twin: its own, on its own function's figures.
    twin_alarms = {name for name in summary["alarms"] if name.startswith("Otel")}
    assert twin_alarms == {
        "OtelDwellTimeAlarm",
        "OtelInitDurationAlarm",
        "OtelDynamoDbLatencyAlarm",
        "OtelFunctionErrorsAlarm",
    }
    assert summary["alarms"]["OtelFunctionErrorsAlarm"]["state"] == "OK"
    assert "OtelInitDurationAlarm" in printed

    # Each object went to the twin its key names, and the trace shows that twin's own shape.
    emf = [json.loads(line) for line in (tmp_path / "emf.jsonl").read_text().splitlines()]
    transactions = [line for line in emf if line.get("record") == "transaction"]
    assert sorted(line["variant"] for line in transactions) == ["opentelemetry"] * 3 + ["powertools"] * 3
    assert all(line["key"].startswith(f"synthetic/{line['variant']}/") for line in transactions)
    for segments in documents(json.loads((tmp_path / "traces.json").read_text())):
        [function] = [doc for doc in segments if doc.get("origin") == "AWS::Lambda::Function"]
        if function["name"] == "tracecanary-demo-pipeline-otel":
            [server] = [doc for doc in segments if doc.get("annotations", {}).get("span.kind") == "SERVER"]
            assert server["parent_id"] == function["id"]
            assert server["name"] == function["name"]  # service.name is the function's name
            assert len(put_items(server)) == 1
            assert put_items(function) == []  # not under its function segment
        else:
            assert len(put_items(function)) == 1
