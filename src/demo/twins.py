"""The pipeline's twins in the demo: which twin S3 notifies of an object, and the twins side by side.

S3 notifies the function whose notification filter the key matches (template.yaml: each twin's prefix
`SyntheticPrefix<variant>/`, on the decoded key), and no function of a key outside every filter. The table
is read from the reporter's record lines, as Logs Insights would read them, one column a twin.
"""

import json
import os
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from common.variants import PipelineVariant, function_name, variant_of_key
from demo.summary import values_of
from traces.stats import distribution

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# As template.yaml has each twin (an infra test checks that they agree).
HANDLERS = {
    PipelineVariant.POWERTOOLS: "handlers.pipeline.lambda_handler",
    PipelineVariant.OPENTELEMETRY: "handlers.pipeline_otel.lambda_handler",
}
LAYERS: dict[PipelineVariant, tuple[Path, ...]] = {
    PipelineVariant.POWERTOOLS: (),
    PipelineVariant.OPENTELEMETRY: (PROJECT_ROOT / "layers" / "opentelemetry",),  # the layer's ContentUri
}

# (row label, metric, extra dimensions): what the table shows of each twin, per invocation or call.
DISTRIBUTIONS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("init (cold starts)", "InitDuration", {}),
    ("invocation", "InvocationDuration", {}),
    ("overhead", "OverheadDuration", {}),
    ("DynamoDB PutItem", "CallLatency", {"Service": "DynamoDB", "Operation": "PutItem"}),
)
TOTALS = (
    ("invocations", "Invocations"),
    ("cold starts", "ColdStarts"),
    ("function errors", "FunctionErrors"),
)


def notified_variant(event: Mapping[str, Any], synthetic_prefix: str) -> PipelineVariant | None:
    """The twin whose filter the event's object matches; None where S3 would notify no twin."""
    key = urllib.parse.unquote_plus(str(event["Records"][0]["s3"]["object"]["key"]))
    return variant_of_key(key, synthetic_prefix)


def twin_figures(
    emf: Iterable[Mapping[str, Any]], stack_name: str, variants: Sequence[PipelineVariant]
) -> dict[str, dict[str, Any]]:
    """Each twin's counts and p50/p99 (ms), keyed by variant, from the reporter's record lines."""
    lines = list(emf)
    figures: dict[str, dict[str, Any]] = {}
    for variant in variants:
        function = {"FunctionName": function_name(stack_name, variant)}
        found: dict[str, Any] = {
            "function": function["FunctionName"],
            **{label: int(sum(values_of(lines, metric, function))) for label, metric in TOTALS},
        }
        for label, metric, dimensions in DISTRIBUTIONS:
            found[label] = distribution(values_of(lines, metric, {**function, **dimensions})).to_dict()
        figures[variant.value] = found
    return figures


def put_item_homes(
    traces: Mapping[str, Any], stack_name: str, variants: Sequence[PipelineVariant]
) -> dict[str, dict[str, int]]:
    """Where each twin's DynamoDB PutItem subsegments are, by kind of segment, over BatchGetTraces-shaped
    traces: Powertools records them in Lambda's function segment, OpenTelemetry in its SERVER span's own
    segment (named after the function, parented to the function segment)."""
    names = {function_name(stack_name, variant): variant.value for variant in variants}
    homes: dict[str, Counter[str]] = {variant.value: Counter() for variant in variants}
    for trace in traces.get("Traces", []):
        for segment in trace.get("Segments", []):
            document = json.loads(segment["Document"])
            if document.get("name") in names and _put_items(document):
                homes[names[document["name"]]][_kind_of(document)] += _put_items(document)
    return {variant: dict(found) for variant, found in homes.items()}


def _kind_of(document: Mapping[str, Any]) -> str:
    if document.get("origin") == "AWS::Lambda::Function":
        return "function segment"
    if document.get("annotations", {}).get("span.kind") == "SERVER":
        return "SERVER-span segment"
    return str(document.get("origin") or "other segment")


def _put_items(document: Mapping[str, Any]) -> int:
    """PutItem subsegments at any depth of the document."""
    found = 0
    for subsegment in document.get("subsegments", []):
        operation = subsegment.get("aws", {}).get("operation")
        # The X-Ray SDK names it `dynamodb`, X-Ray's conversion of a span `DynamoDB`.
        found += str(subsegment.get("name")).lower() == "dynamodb" and operation == "PutItem"
        found += _put_items(subsegment)
    return found


def side_by_side(figures: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The twins' figures as a table, a column each (a column is `p50 / p99 ms` for the distributions)."""
    names = list(figures)
    rows: list[tuple[str, list[str]]] = [("function", [figures[name]["function"] for name in names])]
    rows += [(label, [str(figures[name][label]) for name in names]) for label, _ in TOTALS]
    for label, _, _ in DISTRIBUTIONS:
        rows.append((f"{label} p50 / p99", [_p50_p99(figures[name][label]) for name in names]))
    if all("put_item_in" in figures[name] for name in names):
        homes = [figures[name]["put_item_in"] for name in names]
        rows.append(
            (
                "PutItem found in",
                [", ".join(f"{kind} {n}" for kind, n in home.items()) or "-" for home in homes],
            )
        )
    width = max(len(label) for label, _ in rows)
    columns = [max(len(name), *(len(cells[index]) for _, cells in rows)) for index, name in enumerate(names)]
    header = f"{'':<{width}}  " + "  ".join(f"{name:>{columns[i]}}" for i, name in enumerate(names))
    body = [
        f"{label:<{width}}  " + "  ".join(f"{cell:>{columns[i]}}" for i, cell in enumerate(cells))
        for label, cells in rows
    ]
    return [header, *body]


def _p50_p99(summary: Mapping[str, Any]) -> str:
    if not summary.get("count"):
        return "-"
    return f"{summary['p50']:.1f} / {summary['p99']:.1f} ms"


def twins_section(
    emf: Iterable[Mapping[str, Any]],
    traces: Mapping[str, Any],
    stack_name: str,
    variants: Sequence[PipelineVariant],
    concurrency: int,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The demo's twins: their figures (for summary.json) and the lines that print them side by side."""
    figures = twin_figures(emf, stack_name, variants)
    for variant, found in put_item_homes(traces, stack_name, variants).items():
        figures[variant]["put_item_in"] = found
    environments = len(variants) * concurrency
    lines = [
        "",
        "the twins side by side (the reporter's figures by FunctionName):",
        *("  " + line for line in side_by_side(figures)),
        f"  (up to {environments} execution environments start at once on this machine's {os.cpu_count()} "
        "CPUs, so init here is contended: BENCHMARKS.md measures each twin's cold start alone)",
    ]
    return figures, lines
