"""Every shared real trace rewritten from Lambda's old style to the new one, as the Lambda guide describes it.

The rewrite, per function segment: `Initialization` becomes `Init`; the `Invocation` subsegment goes, its
subsegments (and its error flags) moving to the function segment itself; the timing annotations are added
(`aws:responseLatency` = the old handler time, `aws:runtimeOverhead` = the `Overhead`, `aws:responseDuration`
= what is left of the segment); the `aws` block keeps only `cloudwatch_logs` (no ARN). Every figure the old
style had must come out the same; the new fields must appear. Variants: the `aws.` spelling, no
annotations at all (then the handler runs until `Overhead`), and the documents as Transaction Search returns
them (extra annotations and metadata), which must change nothing.
"""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from traces.analysis import AnalysisResult, analyze
from traces.invocations import Invocation
from traces.parts import duration_ms, round_ms, start_of

Documents = list[dict[str, Any]]
SAME_IN_BOTH = (
    "trace_id",
    "function",
    "start",
    "cold_start",
    "init_ms",
    "overhead_ms",
    "dwell_ms",
    "attempts",
    "s3_notification_ms",
    "calls",
    "function_error",
    "complete",
)


def fixture_traces(folder: Path) -> list[tuple[str, Documents]]:
    """(file name, documents as objects) for every trace with segment documents in the shared fixtures."""
    found = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        entries = data.get("Traces", [data]) if isinstance(data, dict) else data
        for entry in entries:
            if "Segments" in entry:
                documents = [
                    json.loads(s["Document"]) if isinstance(s["Document"], str) else s["Document"]
                    for s in entry["Segments"]
                ]
            elif "trace_id" in entry:  # a bare segment document
                documents = [entry]
            else:
                continue
            found.append((path.name, documents))
    return found


def is_function(document: dict[str, Any]) -> bool:
    return document.get("origin") == "AWS::Lambda::Function" and document.get("inferred") is not True


def to_new_style(documents: Documents, *, spelling: str | None = "aws:") -> Documents:
    """The documents rewritten to v2; `spelling` None leaves the annotations out."""
    documents = copy.deepcopy(documents)
    moved: dict[str, str] = {}  # old Invocation id -> the function segment's id
    for document in documents:
        if not is_function(document):
            continue
        kept, handler_ms = [], duration_ms(document)
        overhead_ms: float | None = None
        for child in document.get("subsegments", []):
            if child.get("name") == "Initialization":
                child["name"] = "Init"
            if child.get("name") == "Invocation":
                handler_ms = duration_ms(child)
                kept.extend(child.get("subsegments", []))
                for flag in ("error", "fault"):
                    if child.get(flag) is True:
                        document[flag] = True
                moved[child["id"]] = document["id"]
                continue
            if child.get("name") == "Overhead":
                overhead_ms = duration_ms(child)
            kept.append(child)
        document["subsegments"] = kept
        document["aws"] = {"cloudwatch_logs": [{"log_group": f"/aws/lambda/{document['name']}"}]}
        if spelling is not None and handler_ms is not None:
            total = duration_ms(document) or 0.0
            annotations = {
                "responseLatency": handler_ms,
                "responseDuration": round_ms(max(0.0, total - handler_ms - (overhead_ms or 0.0))),
            }
            if overhead_ms is not None:
                annotations["runtimeOverhead"] = overhead_ms
            document["annotations"] = {f"{spelling}{key}": value for key, value in annotations.items()}
    for document in documents:  # standalone subsegments and segments that followed the old Invocation
        if document.get("parent_id") in moved:
            document["parent_id"] = moved[document["parent_id"]]
    return documents


def as_read_back_through_transaction_search(documents: Documents) -> Documents:
    """The extra keys converted documents carry (DESIGN.md): span name and kind, origin, OTel resource."""
    documents = copy.deepcopy(documents)
    for document in documents:
        annotations = document.setdefault("annotations", {})
        annotations["aws:span.name"] = str(document.get("name"))
        annotations["aws:span.kind"] = "SERVER"
        metadata = document.setdefault("metadata", {})
        metadata.setdefault("default", {}).update(
            {
                "aws.xray.origin": str(document.get("origin", "")),
                "aws.lambda.name": str(document.get("name")),
                "otel.resource.cloud.provider": "aws",
            }
        )
    return documents


@pytest.fixture(scope="module")
def traces(xray_fixtures_dir: Path) -> list[tuple[str, Documents]]:
    return fixture_traces(xray_fixtures_dir)


def pairs(old: AnalysisResult, new: AnalysisResult) -> list[tuple[Invocation, Invocation]]:
    assert len(old.invocations) == len(new.invocations)
    return list(zip(old.invocations, new.invocations, strict=True))


def test_there_are_fixtures_with_lambda_invocations_to_rewrite(traces: list[tuple[str, Documents]]) -> None:
    assert sum(1 for _, documents in traces for document in documents if is_function(document)) >= 10


@pytest.mark.parametrize("spelling", ["aws:", "aws."])
def test_every_fixture_in_the_new_style_gives_the_same_figures(
    traces: list[tuple[str, Documents]], spelling: str
) -> None:
    for name, documents in traces:
        old, new = analyze(documents), analyze(to_new_style(documents, spelling=spelling))
        for before, after in pairs(old, new):
            for field in SAME_IN_BOTH:
                assert getattr(after, field) == getattr(before, field), (name, before.function, field)
            assert before.format == "v1", name
            assert after.format == "v2", name
            assert after.invocation_ms == before.invocation_ms, name  # now from aws:responseLatency
            assert after.runtime_overhead_ms == before.overhead_ms, name
            assert after.extension_overhead_ms is None
            assert after.response_duration_ms is not None
            assert after.response_duration_ms >= 0.0
        assert [t.to_dict() for t in new.transactions] == [t.to_dict() for t in old.transactions], name


def test_without_annotations_init_marks_v2_and_the_handler_runs_until_overhead(
    traces: list[tuple[str, Documents]],
) -> None:
    for name, documents in traces:
        rewritten = to_new_style(documents, spelling=None)
        functions = {document["id"]: document for document in rewritten if is_function(document)}
        old, new = analyze(documents), analyze(rewritten)
        for before, after in pairs(old, new):
            for field in SAME_IN_BOTH:
                assert getattr(after, field) == getattr(before, field), (name, before.function, field)
            [segment] = [
                d for d in functions.values() if start_of(d) == after.start and d["name"] == after.function
            ]
            overhead = next((c for c in segment["subsegments"] if c.get("name") == "Overhead"), None)
            if after.cold_start:
                assert after.format == "v2", name  # the `Init` subsegment says so
            else:
                assert after.format == "v1", name  # nothing tells a warm one apart without annotations
            if after.format == "v2" and overhead is not None:
                expected = round_ms((start_of(overhead) - start_of(segment)) * 1000.0)  # type: ignore[operator]
            else:
                expected = duration_ms(segment)
            assert after.invocation_ms == expected, name


def test_documents_read_back_through_transaction_search_give_the_same_result(
    traces: list[tuple[str, Documents]],
) -> None:
    for name, documents in traces:
        for form in (documents, to_new_style(documents)):
            plain = analyze(form).to_dict()
            assert analyze(as_read_back_through_transaction_search(form)).to_dict() == plain, name
