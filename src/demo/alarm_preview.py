"""Every alarm of template.yaml evaluated on the EMF values a run emitted, as CloudWatch would.

CloudWatch reads the EMF lines into datapoints per period; an alarm takes a statistic of each period (Sum,
Minimum, Maximum, Average or a percentile), compares it with its threshold, and goes to ALARM when enough of
the last periods breach. The preview does the same over the run's windows. Periods before the run have no
data yet (CloudWatch would still be in INSUFFICIENT_DATA for a new alarm), so the evaluation range is the
run's windows, and DatapointsToAlarm is capped at their number. Missing data inside the run follows the
alarm's TreatMissingData. Only what a line declares in `_aws` becomes a datapoint: a plain field never does,
so the preview shows what the run's `MetricsDetail` really gives the alarms.
"""

import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    statistic: str  # Sum, Minimum, ... or pNN
    threshold: float
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str


@dataclass(frozen=True)
class AlarmResult:
    spec: AlarmSpec
    state: str  # OK or ALARM
    values: list[float | None]  # the statistic per window, None where the window had no data

    def describe(self) -> str:
        shown = ", ".join("-" if value is None else f"{value:.1f}" for value in self.values)
        return (
            f"{self.state:<5} {self.spec.name}: {self.spec.statistic}({self.spec.metric}) "
            f"{_SYMBOLS[self.spec.comparison]} {self.spec.threshold:g}  [{shown}]"
        )


_SYMBOLS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


def alarm_specs(template: Mapping[str, Any], substitutions: Mapping[str, str]) -> list[AlarmSpec]:
    """The template's alarms, with Refs resolved from `substitutions` (parameter values, resource names)."""
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        properties = resource["Properties"]
        resolve = _Resolver(template, substitutions)
        specs.append(
            AlarmSpec(
                name=logical_id,
                namespace=str(resolve(properties["Namespace"])),
                metric=str(properties["MetricName"]),
                dimensions={d["Name"]: str(resolve(d["Value"])) for d in properties.get("Dimensions", [])},
                statistic=str(properties.get("ExtendedStatistic") or properties["Statistic"]),
                threshold=float(resolve(properties["Threshold"])),
                comparison=str(properties["ComparisonOperator"]),
                evaluation_periods=int(properties["EvaluationPeriods"]),
                datapoints_to_alarm=int(properties.get("DatapointsToAlarm", properties["EvaluationPeriods"])),
                treat_missing_data=str(properties.get("TreatMissingData", "missing")),
            )
        )
    return specs


class _Resolver:
    def __init__(self, template: Mapping[str, Any], substitutions: Mapping[str, str]) -> None:
        self._defaults = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
        self._substitutions = substitutions

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and "Ref" in value:
            name = value["Ref"]
            if name in self._substitutions:
                return self._substitutions[name]
            if name in self._defaults:
                return self._defaults[name]
            raise KeyError(f"no value for Ref {name}")
        return value


def evaluate(
    specs: Iterable[AlarmSpec], emf_lines: Iterable[Mapping[str, Any]], windows: list[int]
) -> list[AlarmResult]:
    """Evaluate each alarm over `windows` (their start timestamps in ms, oldest first)."""
    values = _datapoints(emf_lines)
    results = []
    for spec in specs:
        per_window = [
            _statistic(
                spec.statistic, values.get((spec.namespace, spec.metric, _key(spec.dimensions), window))
            )
            for window in windows
        ]
        results.append(AlarmResult(spec, _state(spec, per_window), per_window))
    return results


def _datapoints(
    emf_lines: Iterable[Mapping[str, Any]],
) -> dict[tuple[str, str, tuple[tuple[str, str], ...], int], list[float]]:
    found: dict[tuple[str, str, tuple[tuple[str, str], ...], int], list[float]] = {}
    for line in emf_lines:
        meta = line.get("_aws")
        if meta is None:
            continue  # a record line that declares no metric: CloudWatch makes no datapoint of it
        for directive in meta["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = _key({name: str(line[name]) for name in dimension_set})
                for metric in directive["Metrics"]:
                    raw: Any = line.get(metric["Name"], [])
                    numbers: list[Any] = raw if isinstance(raw, list) else [raw]
                    key = (directive["Namespace"], metric["Name"], dimensions, int(meta["Timestamp"]))
                    found.setdefault(key, []).extend(float(number) for number in numbers)
    return found


def _key(dimensions: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(dimensions.items()))


def _percentile(percent: float) -> Callable[[list[float]], float]:
    def nearest_rank(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]

    return nearest_rank


STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Sum": sum,
    "Minimum": min,
    "Maximum": max,
    "Average": lambda values: sum(values) / len(values),
    "SampleCount": lambda values: float(len(values)),
}


def _statistic(statistic: str, values: list[float] | None) -> float | None:
    if not values:
        return None
    if statistic.startswith("p"):
        return _percentile(float(statistic[1:]))(values)
    return STATISTICS[statistic](values)


def _state(spec: AlarmSpec, per_window: list[float | None]) -> str:
    compare = COMPARISONS[spec.comparison]
    recent = per_window[-spec.evaluation_periods :]
    if not recent:
        return "OK"
    breaching = 0
    for value in recent:
        if value is None:
            breaching += spec.treat_missing_data == "breaching"
        else:
            breaching += compare(value, spec.threshold)
    needed = min(spec.datapoints_to_alarm, len(recent))
    return "ALARM" if breaching >= needed else "OK"
