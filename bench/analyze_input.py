"""A large `BatchGetTraces`-shaped input, built by replicating the shared real traces.

Every copy gets a fresh trace id and fresh segment and subsegment ids (parent links rewritten to match), so
no two copies collide and the analyzer cannot take shortcuts on repeated ids. Documents are written as JSON
strings, as the X-Ray API returns them.
"""

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

DEFAULT_FIXTURES_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "xray"
TRACE_ID_PATTERN = re.compile(r"^1-([0-9a-f]{8})-[0-9a-f]{24}$")


@dataclass(frozen=True)
class TemplateTrace:
    source: str  # the fixture file it came from
    trace_id: str
    duration: float
    documents: list[dict[str, Any]]


@dataclass(frozen=True)
class BuiltInput:
    path: Path
    traces: int
    segments: int
    size_bytes: int
    templates: list[TemplateTrace]


def load_templates(fixtures_dir: Path) -> list[TemplateTrace]:
    """Every trace with segment documents in the fixture files (summary-only files have none)."""
    templates: list[TemplateTrace] = []
    for path in sorted(fixtures_dir.glob("*.json")):
        content = orjson.loads(path.read_bytes())
        if isinstance(content, dict) and isinstance(content.get("Traces"), list):
            traces = content["Traces"]
        elif isinstance(content, dict) and isinstance(content.get("Segments"), list):
            traces = [content]
        elif isinstance(content, dict) and "trace_id" in content and "id" in content:
            traces = [_wrap_bare_segment(content)]
        else:
            continue
        for trace in traces:
            documents = [_document_object(segment["Document"]) for segment in trace["Segments"]]
            templates.append(
                TemplateTrace(
                    source=path.name,
                    trace_id=str(trace["Id"]),
                    duration=float(trace.get("Duration") or 0.0),
                    documents=documents,
                )
            )
    if not templates:
        raise SystemExit(f"no traces with segment documents in {fixtures_dir}")
    return templates


def build_input(
    templates: list[TemplateTrace], trace_count: int, path: Path, seed: int = 20261125
) -> BuiltInput:
    """Write `trace_count` traces, cycling through the templates, as one BatchGetTraces response."""
    rng = random.Random(seed)
    segments = 0
    with path.open("wb") as output:
        output.write(b'{"Traces": [')
        for copy_index, trace in enumerate(_replicas(templates, trace_count, rng)):
            if copy_index:
                output.write(b", ")
            output.write(orjson.dumps(trace))
            segments += len(trace["Segments"])
        output.write(b'], "UnprocessedTraceIds": []}')
    return BuiltInput(
        path=path, traces=trace_count, segments=segments, size_bytes=path.stat().st_size, templates=templates
    )


def _replicas(
    templates: list[TemplateTrace], trace_count: int, rng: random.Random
) -> Iterator[dict[str, Any]]:
    id_counter = 0

    for copy_index in range(trace_count):
        template = templates[copy_index % len(templates)]
        # 8 random hex + a 16-hex counter: unique by construction, and not sorted like a plain counter.
        new_trace_id = f"1-{_trace_epoch_hex(template)}-{rng.getrandbits(32):08x}{copy_index:016x}"
        fresh_ids: dict[str, str] = {}

        def fresh(old_id: str, fresh_ids: dict[str, str] = fresh_ids) -> str:
            nonlocal id_counter
            if old_id not in fresh_ids:
                id_counter += 1
                fresh_ids[old_id] = f"{rng.getrandbits(24):06x}{id_counter:010x}"
            return fresh_ids[old_id]

        documents = [_rewrite(document, new_trace_id, fresh) for document in template.documents]
        yield {
            "Id": new_trace_id,
            "Duration": template.duration,
            "LimitExceeded": False,
            "Segments": [
                {"Id": document["id"], "Document": orjson.dumps(document).decode()} for document in documents
            ],
        }


def _rewrite(node: dict[str, Any], trace_id: str, fresh: Any) -> dict[str, Any]:
    """A copy of one (sub)segment with new ids; other fields are shared with the template, never mutated."""
    copy = dict(node)
    if isinstance(copy.get("id"), str):
        copy["id"] = fresh(copy["id"])
    if isinstance(copy.get("parent_id"), str):
        copy["parent_id"] = fresh(copy["parent_id"])
    if "trace_id" in copy:
        copy["trace_id"] = trace_id
    subsegments = copy.get("subsegments")
    if isinstance(subsegments, list):
        copy["subsegments"] = [
            _rewrite(child, trace_id, fresh) if isinstance(child, dict) else child for child in subsegments
        ]
    return copy


def _trace_epoch_hex(template: TemplateTrace) -> str:
    match = TRACE_ID_PATTERN.match(template.trace_id)
    if match:
        return match.group(1)
    start_times = [
        doc["start_time"] for doc in template.documents if isinstance(doc.get("start_time"), int | float)
    ]
    return f"{int(min(start_times, default=0)):08x}"


def _document_object(document: Any) -> dict[str, Any]:
    parsed = orjson.loads(document) if isinstance(document, str) else document
    if not isinstance(parsed, dict):
        raise SystemExit(f"a segment document is not an object: {str(document)[:80]}")
    return parsed


def _wrap_bare_segment(document: dict[str, Any]) -> dict[str, Any]:
    start, end = document.get("start_time"), document.get("end_time")
    duration = end - start if isinstance(start, int | float) and isinstance(end, int | float) else 0.0
    return {
        "Id": document["trace_id"],
        "Duration": duration,
        "Segments": [{"Id": document["id"], "Document": document}],
    }
