"""Small builders for segment documents, so each test shows the exact trace it is about."""

import json
from typing import Any

from traces.analysis import AnalysisResult
from traces.invocations import Invocation

TRACE_ID = "1-67000000-0123456789abcdef01234567"


def part(part_id: str, name: str, start: float | None, end: float | None, **fields: Any) -> dict[str, Any]:
    """A segment or subsegment; `end=None` makes it in progress."""
    document: dict[str, Any] = {"id": part_id, "name": name, **fields}
    if start is not None:
        document["start_time"] = start
    if end is None:
        document["in_progress"] = True
    else:
        document["end_time"] = end
    return document


def segment(part_id: str, name: str, start: float | None, end: float | None, **fields: Any) -> dict[str, Any]:
    return part(part_id, name, start, end, **{"trace_id": TRACE_ID, **fields})


def function_segment(part_id: str, start: float, end: float | None, **fields: Any) -> dict[str, Any]:
    return segment(part_id, fields.pop("name", "fn"), start, end, origin="AWS::Lambda::Function", **fields)


def sdk_call(
    part_id: str, service: str, operation: str, start: float, end: float | None, **aws: Any
) -> dict[str, Any]:
    return part(part_id, service, start, end, namespace="aws", aws={"operation": operation, **aws})


def trace(*documents: dict[str, Any], trace_id: str = TRACE_ID) -> dict[str, Any]:
    """A BatchGetTraces `Traces` entry, documents as JSON strings as the API returns them."""

    return {
        "Id": trace_id,
        "Duration": 1.0,
        "Segments": [{"Id": document["id"], "Document": json.dumps(document)} for document in documents],
    }


def only(result: AnalysisResult) -> Invocation:
    assert len(result.invocations) == 1, result.invocations
    return result.invocations[0]


def by_function(result: AnalysisResult) -> dict[str, Invocation]:
    found = {invocation.function: invocation for invocation in result.invocations}
    assert len(found) == len(result.invocations), "one invocation per function expected here"
    return found
