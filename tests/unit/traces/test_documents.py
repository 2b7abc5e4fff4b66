"""Every input form the contract names, deduplication, and what is skipped instead of raising."""

import json
from typing import Any

import pytest

from tests.unit.traces.helpers import TRACE_ID, function_segment, only, sdk_call, segment, trace
from traces.analysis import Analyzer, analyze, analyze_many

OTHER_TRACE_ID = "1-67000001-0123456789abcdef01234567"


def lambda_trace(trace_id: str = TRACE_ID) -> list[dict[str, Any]]:
    """A sync invoke: service segment, function segment with one DynamoDB call."""
    service = segment("a000000000000001", "fn", 10.0, 10.5, origin="AWS::Lambda", trace_id=trace_id)
    call = sdk_call("c000000000000001", "DynamoDB", "PutItem", 10.2, 10.3, table_name="items")
    function = function_segment(
        "f000000000000001", 10.1, 10.4, parent_id="a000000000000001", subsegments=[call], trace_id=trace_id
    )
    return [service, function]


def test_whole_response_with_document_strings() -> None:
    result = analyze({"Traces": [trace(*lambda_trace())], "UnprocessedTraceIds": []})
    invocation = only(result)
    assert invocation.invocation_ms == pytest.approx(300.0)  # 10.1 -> 10.4
    assert invocation.attempts == 0
    assert [(c.service, c.operation, c.resource) for c in invocation.calls] == [
        ("DynamoDB", "PutItem", "items")
    ]
    assert result.traces == 1


def test_one_trace_with_document_objects() -> None:
    documents = lambda_trace()
    result = analyze({"Id": TRACE_ID, "Segments": [{"Id": d["id"], "Document": d} for d in documents]})
    assert only(result).invocation_ms == pytest.approx(300.0)


def test_list_of_traces() -> None:
    result = analyze([trace(*lambda_trace()), trace(*lambda_trace(OTHER_TRACE_ID), trace_id=OTHER_TRACE_ID)])
    assert result.traces == 2
    assert {i.trace_id for i in result.invocations} == {TRACE_ID, OTHER_TRACE_ID}


def test_segment_entries_without_a_trace_wrapper() -> None:
    entries = [{"Id": d["id"], "Document": json.dumps(d)} for d in lambda_trace()]
    assert only(analyze(entries)).trace_id == TRACE_ID


def test_bare_segment_documents_one_by_one_and_as_a_list() -> None:
    service, function = lambda_trace()
    analyzer = Analyzer()
    analyzer.add(function, "function.json")
    analyzer.add(service, "service.json")
    result = analyzer.result()
    assert result.traces == 1  # grouped by their trace_id
    assert only(result).attempts == 0  # the service segment from the other input was matched
    assert only(analyze([service, function])).attempts == 0


def test_times_in_exponent_notation_and_integers() -> None:
    text = json.dumps(function_segment("f000000000000001", 0.0, 0.0))
    text = text.replace('"start_time": 0.0', '"start_time": 1.6E9').replace(
        '"end_time": 0.0', '"end_time": 1600000002'
    )
    invocation = only(analyze(json.loads(text)))
    assert invocation.start == pytest.approx(1.6e9)
    assert invocation.invocation_ms == pytest.approx(2000.0)  # 1600000000 -> 1600000002


def test_the_same_segment_twice_counts_once() -> None:
    documents = lambda_trace()
    result = analyze_many([("a.json", trace(*documents)), ("b.json", trace(*documents))])
    assert result.traces == 1
    assert len(only(result).calls) == 1


def test_a_finished_copy_of_a_segment_replaces_one_in_progress() -> None:
    running = function_segment("f000000000000001", 10.0, None)
    finished = function_segment("f000000000000001", 10.0, 10.25)
    for documents in ([running, finished], [finished, running]):
        invocation = only(analyze(documents))
        assert invocation.complete is True
        assert invocation.invocation_ms == pytest.approx(250.0)


def test_unprocessed_trace_ids_are_reported_as_skipped() -> None:
    result = analyze({"Traces": [], "UnprocessedTraceIds": [OTHER_TRACE_ID]}, source="batch.json")
    assert [(s.file, OTHER_TRACE_ID in s.reason) for s in result.skipped] == [("batch.json", True)]


@pytest.mark.parametrize(
    ("data", "reason_part"),
    [
        (
            {"Traces": [{"Id": TRACE_ID, "Segments": [{"Id": "x", "Document": "{not json"}]}]},
            "not valid JSON",
        ),
        ({"Traces": [{"Id": TRACE_ID, "Segments": [{"Id": "x", "Document": "[1, 2]"}]}]}, "not an object"),
        ({"Traces": [{"Id": TRACE_ID, "Segments": [{"Id": "x", "Document": 42}]}]}, "not an object"),
        ({"Traces": [{"Id": TRACE_ID, "Segments": [{"Document": {"name": "no id"}}]}]}, "without an `id`"),
        ({"Traces": "nope"}, "not a list"),
        ({"Id": TRACE_ID, "Segments": []}, "no segments"),
        ({"TraceSummaries": []}, "GetTraceSummaries"),
        ({"hello": "world"}, "not a trace"),
        (42, "not a trace"),
        (None, "not a trace"),
        ("not json either", "not valid JSON"),
    ],
)
def test_unreadable_input_is_skipped_with_a_reason(data: Any, reason_part: str) -> None:
    result = analyze(data, source="input.json")
    assert result.invocations == []
    assert result.skipped, "an unreadable input must leave a skipped entry"
    assert all(entry.file == "input.json" for entry in result.skipped)
    assert any(reason_part in entry.reason for entry in result.skipped), result.skipped


def test_empty_inputs_are_not_errors() -> None:
    for data in ([], {}):
        result = analyze(data)
        assert (result.traces, result.invocations, result.skipped) == (0, [], [])


def test_readable_segments_survive_beside_unreadable_ones() -> None:
    good = trace(*lambda_trace())
    good["Segments"].append({"Id": "broken", "Document": "{"})
    result = analyze({"Traces": [good]})
    assert len(result.invocations) == 1
    assert len(result.skipped) == 1


def test_json_output_has_exactly_the_contract_fields() -> None:
    result = analyze(trace(*lambda_trace()))
    output = json.loads(result.to_json())
    assert set(output) == {"invocations", "traces", "skipped", "transactions"}
    assert list(output["invocations"][0]) == [
        "trace_id",
        "function",
        "start",
        "format",
        "cold_start",
        "init_ms",
        "invocation_ms",
        "overhead_ms",
        "runtime_overhead_ms",
        "extension_overhead_ms",
        "response_duration_ms",
        "dwell_ms",
        "attempts",
        "s3_notification_ms",
        "calls",
        "function_error",
        "complete",
    ]
    assert list(output["invocations"][0]["calls"][0]) == [
        "service",
        "operation",
        "resource",
        "duration_ms",
        "error",
        "fault",
        "throttle",
    ]
    assert output == json.loads(json.dumps(result.to_dict()))  # the fast and the plain paths agree
