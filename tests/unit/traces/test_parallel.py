"""Forked workers give exactly the serial result, and a failing child's share is redone here."""

import json
import os

import pytest

from tests.unit.traces.helpers import function_segment, sdk_call, trace
from traces import analysis
from traces.analysis import Analyzer
from traces.parallel import map_slices

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")


def many_traces(count: int) -> dict[str, object]:
    traces = []
    for number in range(count):
        trace_id = f"1-67000000-{number:024x}"
        call = sdk_call("c000000000000001", "DynamoDB", "PutItem", 10.2, 10.3 + number / 1000)
        function = function_segment("f000000000000001", 10.0, 11.0, subsegments=[call], trace_id=trace_id)
        traces.append(trace(function, trace_id=trace_id))
    traces.append({"Id": "1-67000000-ffffffffffffffffffffffff", "Segments": [{"Id": "x", "Document": "{"}]})
    return {"Traces": traces}


@needs_fork
def test_workers_give_the_serial_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis, "PARALLEL_MIN_TRACES", 2)
    results = []
    for workers in (1, 3):
        analyzer = Analyzer()
        analyzer.add(many_traces(10), "many.json")
        results.append(json.loads(analyzer.result(workers=workers).to_json()))
    serial, parallel = results
    assert parallel == serial
    assert serial["traces"] == 10
    assert len(serial["skipped"]) == 1  # the broken document, found by whichever process parsed it


@needs_fork
def test_a_failing_child_share_is_redone_here() -> None:
    parent = os.getpid()

    def work(items: list[int]) -> list[int]:
        if os.getpid() != parent:
            raise RuntimeError("a child that fails")
        return [item * 2 for item in items]

    assert map_slices(work, list(range(7)), 3) == [[0, 2, 4], [6, 8, 10], [12]]


def test_one_worker_or_few_items_runs_here() -> None:
    assert map_slices(sum, [1, 2, 3], 1) == [6]
    assert map_slices(sum, [5], 4) == [5]
