"""Record lines and the metric plan: the one place that writes CloudWatch's embedded metric format (EMF).

Every function prints *record lines*: one JSON object per log event (a window, a transaction, an invocation,
a call, a generator run or object, a pipeline event) with its figures as top-level keys and a `record` key
naming its kind. The metric plan below says which figures become CloudWatch metrics at the deployment's
`MetricsDetail` (environment `METRICS_DETAIL`): those are listed in `_aws.CloudWatchMetrics`; every other
figure stays a plain field of the same line, which CloudWatch Logs Insights reads, percentiles included,
since each line holds one value of each figure (`pct()` does not expand arrays). A line that declares no
metric is printed without `_aws`, as a plain structured log line.

Facts this relies on (CloudWatch EMF specification and pricing):
- a metric is billed (~$0.30 a month) for each name and set of dimension values that receives data;
- EMF takes at most 100 values per metric per line, 100 metrics per directive and 30 dimensions per set;
  one value per figure per line keeps every line far inside those limits;
- `_aws.Timestamp` is milliseconds since the epoch; CloudWatch rejects datapoints older than 14 days.

`standard` keeps the metrics the alarms and the dashboard's headline graphs need: 8 for one pipeline function
with one kind of downstream call (`UntracedShare` is the untraced-share alarm's; the untraced count itself,
`TransactionsUntraced`, is a plain field there). One more is planned (a heartbeat datapoint per reporter
run), which leaves one of the 10 slots free. `full` declares everything.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, TypedDict

MAX_METRICS_PER_DIRECTIVE = 100
MAX_DIMENSIONS_PER_SET = 30

Unit = Literal["Count", "Milliseconds", "Percent"]
Value = float | int | str | bool


class MetricsDetail(StrEnum):
    """How many of the figures become CloudWatch metrics (the template parameter `MetricsDetail`)."""

    STANDARD = "standard"  # what the alarms and the headline graphs need; the rest are plain fields
    FULL = "full"  # every figure of the metrics contract is a metric


@dataclass(frozen=True)
class PlannedMetric:
    unit: Unit
    dimensions: tuple[str, ...]
    standard: bool  # a metric at `standard` too, not only at `full`

    def declared_at(self, detail: MetricsDetail) -> bool:
        return self.standard or detail is MetricsDetail.FULL


PIPELINE = ("Pipeline",)
FUNCTION = ("Pipeline", "FunctionName")
CALL = ("Pipeline", "FunctionName", "Service", "Operation")
PIPELINE_SERVICE = ("Pipeline", "service")  # the pipeline's own EMF keeps Powertools' `service` dimension


def _standard(unit: Unit, dimensions: tuple[str, ...]) -> PlannedMetric:
    return PlannedMetric(unit, dimensions, standard=True)


def _full(unit: Unit, dimensions: tuple[str, ...]) -> PlannedMetric:
    return PlannedMetric(unit, dimensions, standard=False)


METRIC_PLAN: Mapping[str, PlannedMetric] = {
    # An alarm watches it (SuccessRate, the four p99s, FunctionErrors) or a headline graph shows it.
    "SuccessRate": _standard("Percent", PIPELINE),
    "TransactionsGenerated": _standard("Count", PIPELINE),
    "EndToEndLatency": _standard("Milliseconds", PIPELINE),
    "DwellTime": _standard("Milliseconds", FUNCTION),
    "InitDuration": _standard("Milliseconds", FUNCTION),
    "FunctionErrors": _standard("Count", FUNCTION),
    "CallLatency": _standard("Milliseconds", CALL),
    # The untraced-share alarm: the monitor going blind (untraced / generated, in percent).
    "UntracedShare": _standard("Percent", PIPELINE),
    # The heartbeat alarm: objects in the windows each reporter run emitted, stamped at the run's time.
    "ObjectsReported": _standard("Count", PIPELINE),
    # Metrics at `full`; plain fields (Logs Insights) at `standard`.
    "TransactionsComplete": _full("Count", PIPELINE),
    "TransactionsLost": _full("Count", PIPELINE),
    "TransactionsUntraced": _full("Count", PIPELINE),
    "S3NotificationLatency": _full("Milliseconds", PIPELINE),
    "TracesRetrieved": _full("Count", PIPELINE),
    "XRayApiCalls": _full("Count", PIPELINE),
    "Invocations": _full("Count", FUNCTION),
    "ColdStarts": _full("Count", FUNCTION),
    "InvocationDuration": _full("Milliseconds", FUNCTION),
    "OverheadDuration": _full("Milliseconds", FUNCTION),
    "ExtensionOverhead": _full("Milliseconds", FUNCTION),
    "CallErrors": _full("Count", CALL),
    "CallThrottles": _full("Count", CALL),
    "CallFaults": _full("Count", CALL),
    "ObjectsUploaded": _full("Count", PIPELINE),
    "UploadFailures": _full("Count", PIPELINE),
    "ScheduleLag": _full("Milliseconds", PIPELINE),
    "PutLatency": _full("Milliseconds", PIPELINE),
    "ItemsWritten": _full("Count", PIPELINE_SERVICE),
    "DuplicatesSkipped": _full("Count", PIPELINE_SERVICE),
    "RecordsFailed": _full("Count", PIPELINE_SERVICE),
}


class MetricDefinition(TypedDict):
    Name: str
    Unit: Unit


class MetricDirective(TypedDict):
    Namespace: str
    Dimensions: list[list[str]]
    Metrics: list[MetricDefinition]


class Metadata(TypedDict):
    Timestamp: int
    CloudWatchMetrics: list[MetricDirective]


def parse_metrics_detail(text: str, *, source: str = "METRICS_DETAIL") -> MetricsDetail:
    """`standard` or `full` (any case); anything else is one clear error naming `source`."""
    try:
        return MetricsDetail(text.strip().lower())
    except ValueError:
        raise ValueError(f"{source} must be 'standard' or 'full', got {text!r}") from None


def record_line(
    record: str,
    figures: Mapping[str, Value | None],
    *,
    dimensions: Mapping[str, str],
    namespace: str,
    timestamp_ms: int,
    detail: MetricsDetail,
) -> dict[str, Any]:
    """The line of one record: every figure that is not None, the planned ones declared as metrics."""
    present = {name: value for name, value in figures.items() if value is not None}
    directives: dict[tuple[str, ...], MetricDirective] = {}
    for name, value in present.items():
        planned = METRIC_PLAN.get(name)
        if planned is None or not planned.declared_at(detail):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"metric {name} needs a number, got {value!r}")
        missing = [dimension for dimension in planned.dimensions if dimension not in dimensions]
        if missing:
            raise ValueError(f"metric {name} needs the dimensions {missing} on its {record} line")
        directive = directives.setdefault(
            planned.dimensions,
            {"Namespace": namespace, "Dimensions": [list(planned.dimensions)], "Metrics": []},
        )
        directive["Metrics"].append({"Name": name, "Unit": planned.unit})
    line: dict[str, Any] = {}
    if directives:
        if any(len(d["Metrics"]) > MAX_METRICS_PER_DIRECTIVE for d in directives.values()):
            raise ValueError(f"more than {MAX_METRICS_PER_DIRECTIVE} metrics on one {record} line")
        metadata: Metadata = {"Timestamp": timestamp_ms, "CloudWatchMetrics": list(directives.values())}
        line["_aws"] = metadata
    if len(dimensions) > MAX_DIMENSIONS_PER_SET:
        raise ValueError(f"more than {MAX_DIMENSIONS_PER_SET} dimensions on one {record} line")
    line.update(dimensions)
    line["record"] = record
    line.update(present)
    return line


def render(line: Mapping[str, Any]) -> str:
    """The line as CloudWatch reads it from a function's stdout: compact JSON on one line."""
    return json.dumps(line, separators=(",", ":"))


MetricIdentity = tuple[str, tuple[tuple[str, str], ...]]  # (name, ((dimension, value), ...))


def declared_metrics(lines: Iterable[Mapping[str, Any]]) -> set[MetricIdentity]:
    """Every distinct metric (name and dimension values) the lines declare: what CloudWatch bills."""
    found: set[MetricIdentity] = set()
    for line in lines:
        metadata = line.get("_aws")
        if not metadata:
            continue
        for directive in metadata["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                values = tuple((name, str(line[name])) for name in dimension_set)
                for metric in directive["Metrics"]:
                    found.add((metric["Name"], values))
    return found
