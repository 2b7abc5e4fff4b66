"""Property and fuzz tests: whatever the input, nothing escapes and the results are sane.

Inputs: arbitrary JSON; documents built from X-Ray's own vocabulary with ids from a small pool (so
duplicates and cycles of `parent_id` are common); and the shared real documents, mutated (fields missing,
mistyped, huge or negative times, cycles).
"""

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.render_table import render_report
from cli.waterfall import render_waterfall
from traces.analysis import AnalysisResult, analyze, build_trees

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
arbitrary_json = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)

IDS = [f"{n:016x}" for n in range(6)]
TIMES = st.one_of(
    st.floats(min_value=1.5e9, max_value=1.5e9 + 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([0, -1.0, 1e308, -1e308, "1.6E9", None, True]),
)
NAMES = st.sampled_from(
    ["Invocation", "Overhead", "Initialization", "Init", "Restore", "Dwell Time", "Attempt #1", "S3", "x"]
)
ORIGINS = st.sampled_from(["AWS::Lambda::Function", "AWS::Lambda", "AWS::S3::Bucket", None, 7])
TIMING_KEYS = [
    f"aws{separator}{name}"
    for separator in ":."
    for name in ("responseLatency", "runtimeOverhead", "extensionOverhead", "responseDuration")
]
OTEL_KEYS = ["rpc.method", "aws.dynamodb.table_names", "aws.s3.bucket", "aws.sqs.queue_url", "span.kind"]
ANNOTATIONS = st.dictionaries(
    st.sampled_from([*TIMING_KEYS, *OTEL_KEYS, "aws:span.kind"]), TIMES | json_scalars
)
METADATA = st.dictionaries(
    st.sampled_from(["default", "otel", ""]),
    st.dictionaries(st.sampled_from(OTEL_KEYS), json_scalars | st.lists(json_scalars, max_size=2))
    | json_scalars,
)


def xray_part(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"id": st.sampled_from([*IDS, None, 3])},
        optional={
            "name": NAMES | arbitrary_json,
            "start_time": TIMES,
            "end_time": TIMES,
            "in_progress": st.booleans() | json_scalars,
            "parent_id": st.sampled_from([*IDS, None, 1]),
            "origin": ORIGINS,
            "annotations": ANNOTATIONS | json_scalars,
            "metadata": METADATA | json_scalars,
            "inferred": st.booleans() | json_scalars,
            "namespace": st.sampled_from(["aws", "AWS", "remote", None, 1]),
            "aws": st.fixed_dictionaries(
                {},
                optional={
                    "operation": st.sampled_from(["PutObject", "putobject", "PutItem", None, 5]),
                    "table_name": json_scalars,
                    "bucket_name": json_scalars,
                    "resource_names": arbitrary_json,
                },
            )
            | json_scalars,
            "error": st.booleans() | json_scalars,
            "fault": st.booleans() | json_scalars,
            "throttle": st.booleans() | json_scalars,
            "type": st.sampled_from(["subsegment", "segment", None]),
            "trace_id": st.sampled_from(["1-5fbcfc1f-4d2e9bed6dc0c41c39dfdb2f", None, 1]),
            "subsegments": st.lists(children, max_size=3) | json_scalars,
        },
    )


# The innermost parts' `subsegments` hold only non-parts (None): mistyped entries are part of the fuzz.
xray_documents = st.lists(st.recursive(xray_part(st.none()), xray_part, max_leaves=12), max_size=8)


def numbers_in(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for item in value.values() for n in numbers_in(item)]
    if isinstance(value, list | tuple):
        return [n for item in value for n in numbers_in(item)]
    return []


def count_parts(value: Any, key: str, wanted: Any = None) -> int:
    """How many dicts in `value` have `key` (equal to `wanted` where given): an upper bound for results."""
    if isinstance(value, list):
        return sum(count_parts(item, key, wanted) for item in value)
    if not isinstance(value, dict):
        if isinstance(value, str) and value.startswith("{"):
            try:
                return count_parts(json.loads(value), key, wanted)
            except ValueError:
                return 0
        return 0
    here = int(key in value and (wanted is None or value[key] == wanted))
    return here + sum(count_parts(item, key, wanted) for item in value.values())


def call_candidates(value: Any, ids: set[str] | None = None) -> tuple[set[str], int]:
    """The distinct ids of the parts with a `namespace`, and how many such parts have no usable id."""
    ids = set() if ids is None else ids
    without_id = 0
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return ids, 0
    if isinstance(value, list):
        for item in value:
            without_id += call_candidates(item, ids)[1]
    elif isinstance(value, dict):
        if "namespace" in value:
            part_id = value.get("id")
            if isinstance(part_id, str) and part_id:
                ids.add(part_id)
            else:
                without_id += 1
        for item in value.values():
            without_id += call_candidates(item, ids)[1]
    return ids, without_id


def assert_sane(data: Any, result: AnalysisResult) -> None:
    plain = result.to_dict()
    for number in numbers_in(plain):
        assert math.isfinite(number), plain
    assert json.loads(result.to_json()) == json.loads(json.dumps(plain))
    assert len(result.invocations) <= count_parts(data, "origin", "AWS::Lambda::Function")
    assert sum(len(i.calls) for i in result.invocations) <= count_parts(data, "namespace")
    if isinstance(data, list) and all(isinstance(document, dict) for document in data):
        # A call reachable twice (one id in two places, or under a segment attached where its parent is)
        # counts once: at most one call per distinct id of a trace (documents grouped as the engine does).
        by_trace: dict[Any, list[Any]] = {}
        for document in data:
            trace_id = document.get("trace_id")
            by_trace.setdefault(trace_id if isinstance(trace_id, str) and trace_id else None, []).append(
                document
            )
        bound = 0
        for documents in by_trace.values():
            ids, without_id = call_candidates(documents)
            bound += len(ids) + without_id
        assert sum(len(i.calls) for i in result.invocations) <= bound
    for invocation in result.invocations:
        assert invocation.format in ("v1", "v2")
        for value in (
            invocation.runtime_overhead_ms,
            invocation.extension_overhead_ms,
            invocation.response_duration_ms,
        ):
            assert value is None or value >= 0.0
        assert invocation.attempts is None or invocation.attempts >= 0
        assert isinstance(invocation.complete, bool)
        assert isinstance(invocation.function_error, bool)
    for skipped in result.skipped:
        assert skipped.file
        assert skipped.reason
    render_report(result)
    trees, _ = build_trees(data)
    for tree in trees:
        render_waterfall(tree, width=100, color=True)


@FUZZ
@given(arbitrary_json)
def test_arbitrary_json_never_raises(data: Any) -> None:
    assert_sane(data, analyze(data))


@FUZZ
@given(xray_documents)
def test_documents_in_xray_vocabulary_with_duplicate_ids_and_cycles(documents: list[dict[str, Any]]) -> None:
    assert_sane(documents, analyze(documents))
    assert_sane(
        documents,
        analyze(
            {
                "Traces": [
                    {
                        "Id": "1-5fbcfc1f-4d2e9bed6dc0c41c39dfdb2f",
                        "Segments": [
                            {"Id": "x", "Document": json.dumps(document, default=str)}
                            for document in documents
                        ],
                    }
                ]
            }
        ),
    )


def real_documents(folder: Path) -> list[list[dict[str, Any]]]:
    """Each shared trace as its list of segment documents (objects)."""
    traces = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        entries = data.get("Traces", [data]) if isinstance(data, dict) else data
        for entry in entries:
            segments = entry.get("Segments") if isinstance(entry, dict) else None
            if isinstance(segments, list):
                traces.append(
                    [
                        json.loads(s["Document"]) if isinstance(s["Document"], str) else s["Document"]
                        for s in segments
                    ]
                )
    return traces


def all_parts(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found, stack = [], list(documents)
    while stack:
        part = stack.pop()
        found.append(part)
        subsegments = part.get("subsegments")
        if isinstance(subsegments, list):
            stack.extend(child for child in subsegments if isinstance(child, dict))
    return found


MUTATION_KEYS = [
    "id",
    "parent_id",
    "start_time",
    "end_time",
    "in_progress",
    "subsegments",
    "origin",
    "annotations",
    "metadata",
    "inferred",
    "namespace",
    "aws",
    "name",
    "error",
    "fault",
    "type",
    "trace_id",
]


@pytest.fixture(scope="module")
def real_traces(xray_fixtures_dir: Path) -> list[list[dict[str, Any]]]:
    return real_documents(xray_fixtures_dir)


@FUZZ
@given(data=st.data())
def test_mutated_real_documents(real_traces: list[list[dict[str, Any]]], data: st.DataObject) -> None:
    documents = copy.deepcopy(data.draw(st.sampled_from(real_traces)))
    parts = all_parts(documents)
    ids = [part["id"] for part in parts if "id" in part]
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        part = data.draw(st.sampled_from(parts))
        key = data.draw(st.sampled_from(MUTATION_KEYS))
        action = data.draw(st.sampled_from(["delete", "value", "time", "cycle", "duplicate"]))
        if action == "delete":
            part.pop(key, None)
        elif action == "value":
            part[key] = data.draw(arbitrary_json)
        elif action == "time":
            part[data.draw(st.sampled_from(["start_time", "end_time"]))] = data.draw(TIMES)
        elif action == "cycle":
            part["parent_id"] = data.draw(st.sampled_from(ids))
        else:
            documents.append(copy.deepcopy(part))
    assert_sane(documents, analyze(documents))


def test_very_deep_nesting_does_not_overflow_the_stack() -> None:
    deepest: dict[str, Any] = {
        "id": "leaf",
        "name": "S3",
        "namespace": "aws",
        "start_time": 1.0,
        "end_time": 2.0,
    }
    part = deepest
    for depth in range(5000):
        part = {"id": f"p{depth}", "name": "wrap", "start_time": 1.0, "end_time": 2.0, "subsegments": [part]}
    function = {
        "id": "f",
        "name": "fn",
        "origin": "AWS::Lambda::Function",
        "trace_id": "t",
        "start_time": 1.0,
        "end_time": 2.0,
        "subsegments": [part],
    }
    result = analyze(function)
    assert len(result.invocations[0].calls) == 1
    trees, _ = build_trees(function)
    assert render_waterfall(trees[0]).count("\n") == 5002 + 1  # title, axis, 5002 rows
