"""Every alarm of template.yaml evaluated on the EMF lines a run wrote, minute by minute, as CloudWatch would.

The alarms are read from template.yaml (Refs, Fn::FindInMap and Fn::If resolved from the caller's values and
the parameters' defaults). CloudWatch turns each EMF line into samples of the metrics its `_aws` declares,
filed under the line's `_aws.Timestamp` (a window's start, or a reporter run's time); a plain field is no
metric, so the preview shows what the run's `MetricsDetail` really gives the alarms. A sample becomes
visible when the line is published, which the caller says (`published_after`, `published_by_record`): the
reporter puts a window's lines a window plus the lag after the window's start, so an alarm sees its newest
periods empty. `demo.alarm_evaluation` then evaluates each alarm every minute on what it could see.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from common.errors import UserError
from demo.alarm_evaluation import (
    EVALUATION_RANGE_NOTE,
    MINUTE,
    AlarmRule,
    Evaluation,
    Sample,
    State,
    changes,
    statistic,
    timeline,
)

MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]  # namespace, metric name, sorted dimensions
PublishTime = Callable[[Mapping[str, Any], datetime], datetime]
"""When CloudWatch can first see a line's values, given the line and its `_aws.Timestamp`."""


@dataclass(frozen=True)
class AlarmSpec:
    name: str  # the template's logical id
    namespace: str
    metric: str
    dimensions: dict[str, str]
    rule: AlarmRule

    @property
    def key(self) -> MetricKey:
        return (self.namespace, self.metric, _key(self.dimensions))


@dataclass(frozen=True)
class AlarmResult:
    spec: AlarmSpec
    evaluations: list[Evaluation]  # one a minute
    origin: datetime  # the first datapoint's minute: offsets are counted from it
    stop: datetime | None  # the caller's stop time, if any
    values: list[float | None]  # the statistic per period from the origin, as finally published

    @property
    def state(self) -> State:
        """The state at the end of the timeline."""
        return self.evaluations[-1].state if self.evaluations else State.INSUFFICIENT_DATA

    @property
    def changes(self) -> list[Evaluation]:
        return changes(self.evaluations)

    def describe(self) -> str:
        """E.g. `ALARM HeartbeatAlarm: Sum(ObjectsReported) < 1  OK at +0:01, ALARM at +0:41 (21 min after the
        stop)  [12.0, 9.0, 10.0, 11.0]`: offsets from the first datapoint's minute."""
        moments = ", ".join(f"{change.state} at {self._when(change.at)}" for change in self.changes)
        shown = ", ".join("-" if value is None else f"{value:.1f}" for value in self.values)
        return (
            f"{self.state:<5} {self.spec.name}: {self.spec.rule.describe(self.spec.metric)}  "
            f"{moments or f'{self.state} throughout'}  [{shown}]"
        )

    def to_dict(self) -> dict[str, Any]:
        """For summary.json: the final state, the values and each change with its offset in minutes."""
        return {
            "state": self.state.value,
            "values": self.values,
            "changes": [
                {
                    "state": change.state.value,
                    "at": change.at.isoformat(),
                    "minutes": _minutes(change.at - self.origin),
                    **({} if self.stop is None else {"minutes_after_stop": _minutes(change.at - self.stop)}),
                }
                for change in self.changes
            ],
        }

    def _when(self, at: datetime) -> str:
        offset = _minutes(at - self.origin)
        sign = "-" if offset < 0 else "+"
        text = f"{sign}{abs(offset) // 60}:{abs(offset) % 60:02d}"
        # A change at the stop's own minute was evaluated on what came before the stop.
        if self.stop is not None and at > self.stop:
            text += f" ({_minutes(at - self.stop)} min after the stop)"
        return text


def alarm_specs(template: Mapping[str, Any], substitutions: Mapping[str, str]) -> list[AlarmSpec]:
    """The template's alarms, with Refs resolved from `substitutions` (parameter values, resource names).

    The demo's windows are a minute long: pass `ReportPeriodMinutes` too, or the alarms get the default
    period.
    """
    resolve = _Resolver(template, substitutions)
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        try:
            if "Condition" in resource and not resolve.condition(resource["Condition"]):
                continue  # not deployed with these parameters (e.g. the OpenTelemetry twin's alarms)
            specs.append(_spec(logical_id, resource.get("Properties", {}), resolve))
        except (ValueError, TypeError, KeyError) as error:
            raise UserError(f"template.yaml: alarm {logical_id}: {_reason(error)}") from None
    return specs


def is_deployed(
    template: Mapping[str, Any], resource: Mapping[str, Any], parameters: Mapping[str, str]
) -> bool:
    """Whether the resource is in a stack of these parameter values (the defaults for the rest): it has no
    Condition, or its Condition holds."""
    return "Condition" not in resource or _Resolver(template, parameters).condition(resource["Condition"])


def _spec(logical_id: str, properties: Mapping[str, Any], resolve: "_Resolver") -> AlarmSpec:
    def value(name: str, default: Any = None) -> Any:
        resolved = resolve(properties[name]) if name in properties else _NO_VALUE
        if resolved is _NO_VALUE:
            if default is None:
                raise ValueError(f"has no {name}")
            return default
        return resolved

    evaluation_periods = int(value("EvaluationPeriods"))
    warm_up = value("WarmUpConfiguration", {})
    return AlarmSpec(
        name=logical_id,
        namespace=str(value("Namespace")),
        metric=str(value("MetricName")),
        dimensions={str(d["Name"]): str(resolve(d["Value"])) for d in value("Dimensions", [])},
        rule=AlarmRule(
            statistic=str(value("ExtendedStatistic", "") or value("Statistic")),
            threshold=float(value("Threshold")),
            comparison=str(value("ComparisonOperator")),
            period=timedelta(seconds=int(value("Period"))),
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=int(value("DatapointsToAlarm", evaluation_periods)),
            treat_missing_data=str(value("TreatMissingData", "missing")),
            warm_up=(
                timedelta(minutes=int(resolve(warm_up["WarmUpPeriodDurationInMinutes"]))) if warm_up else None
            ),
            warm_up_to_the_end=_boolean(
                resolve(warm_up.get("OnlyStartEvaluatingAfterWarmUpPeriodEnds", False))
            ),
        ),
    )


def _reason(error: Exception) -> str:
    return f"no value for {error.args[0]}" if isinstance(error, KeyError) else str(error)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ValueError(f"expected true or false, got {value!r}")


_NO_VALUE = object()  # AWS::NoValue: the property is left out


class _Resolver:
    """Ref, Fn::FindInMap and Fn::If (with Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)."""

    def __init__(self, template: Mapping[str, Any], substitutions: Mapping[str, str]) -> None:
        self._defaults = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
        self._mappings: Mapping[str, Any] = template.get("Mappings", {})
        self._conditions: Mapping[str, Any] = template.get("Conditions", {})
        self._substitutions = substitutions

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, dict) or len(value) != 1:
            return value
        [(function, argument)] = value.items()
        if function == "Ref":
            return self._ref(str(argument))
        if function == "Fn::FindInMap":
            mapping, first, second = (str(self(part)) for part in argument)
            return self._mappings[mapping][first][second]
        if function == "Fn::If":
            condition, if_true, if_false = argument
            return self(if_true if self.condition(condition) else if_false)
        if function.startswith("Fn::") or function == "Condition":
            raise ValueError(f"{function} is not something the preview can resolve")
        return value

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self._substitutions:
            return self._substitutions[name]
        if name in self._defaults and self._defaults[name] is not None:
            return self._defaults[name]
        raise ValueError(f"no value for Ref {name}")

    def condition(self, name: str) -> bool:
        """A condition of the template's `Conditions`, on these parameter values."""
        return self._truth(self._conditions[name])

    def _truth(self, expression: Any) -> bool:
        [(function, argument)] = expression.items()
        if function == "Condition":
            return self.condition(str(argument))
        if function == "Fn::Equals":
            left, right = (str(self(part)) for part in argument)
            return left == right
        if function == "Fn::Not":
            return not self._truth(argument[0])
        if function == "Fn::And":
            return all(self._truth(part) for part in argument)
        if function == "Fn::Or":
            return any(self._truth(part) for part in argument)
        raise ValueError(f"condition function {function} is not something the preview can resolve")


def published_after(delay: timedelta) -> PublishTime:
    """Each line published `delay` after its timestamp: a window stamped at its start is put a window plus
    the lag later; a run's heartbeat stamped at the run's time, a few seconds later."""
    return lambda _line, timestamp: timestamp + delay


def published_by_record(rules: Mapping[str, PublishTime], default: PublishTime) -> PublishTime:
    """The rule for the line's `record` kind (e.g. the heartbeat's), `default` for every other line."""
    return lambda line, timestamp: rules.get(str(line.get("record")), default)(line, timestamp)


def metric_samples(
    emf_lines: Iterable[Mapping[str, Any]], published_at: PublishTime
) -> dict[MetricKey, list[Sample]]:
    """The samples CloudWatch makes of the lines: only what `_aws` declares, each value once per dimension
    set, visible from the time `published_at` gives."""
    found: dict[MetricKey, list[Sample]] = {}
    for number, line in enumerate(emf_lines, start=1):
        meta = line.get("_aws")
        if meta is None:
            continue  # a record line that declares no metric: CloudWatch makes no datapoint of it
        try:
            timestamp = datetime.fromtimestamp(int(meta["Timestamp"]) / 1000, UTC)
            visible_at = published_at(line, timestamp)
            for directive in meta["CloudWatchMetrics"]:
                for dimension_set in directive["Dimensions"]:
                    dimensions = _key({name: str(line[name]) for name in dimension_set})
                    for metric in directive["Metrics"]:
                        raw: Any = line.get(metric["Name"], [])
                        numbers: list[Any] = raw if isinstance(raw, list) else [raw]
                        samples = found.setdefault((directive["Namespace"], metric["Name"], dimensions), [])
                        samples.extend(Sample(timestamp, float(number), visible_at) for number in numbers)
        except (KeyError, TypeError, ValueError) as error:
            raise UserError(f"EMF line {number}: {_reason(error)}") from None
    return found


def evaluate_timeline(
    specs: Iterable[AlarmSpec],
    emf_lines: Iterable[Mapping[str, Any]],
    published_at: PublishTime,
    *,
    until: datetime,
    start: datetime | None = None,
    stop: datetime | None = None,
) -> list[AlarmResult]:
    """Each alarm's timeline through `until`.

    `start`: when the alarms were created (the deploy), by default the first datapoint's minute; `stop`: when
    the caller stopped the generator or the reporter, for the "min after the stop" figures.
    """
    samples = metric_samples(emf_lines, published_at)
    stamps = [sample.timestamp for found in samples.values() for sample in found]
    if not stamps and start is None:
        raise UserError("the alarm preview has no datapoint to start the timeline from")
    origin = (min(stamps) if stamps else start or until).replace(second=0, microsecond=0)
    created_at = origin if start is None else start
    results = []
    for spec in specs:
        found = samples.get(spec.key, [])
        results.append(
            AlarmResult(
                spec=spec,
                evaluations=timeline(spec.rule, found, created_at, until),
                origin=origin,
                stop=stop,
                values=_values(spec.rule, found, origin),
            )
        )
    return results


def evaluate(
    specs: Iterable[AlarmSpec],
    emf_lines: Iterable[Mapping[str, Any]],
    windows: list[int],
    *,
    window: timedelta = MINUTE,
) -> list[AlarmResult]:
    """A run's windows (their starts in ms, oldest first), each published when it ends (the demo closes a
    window once the pipeline is drained), evaluated through the last window's end."""
    if not windows:
        raise UserError("the alarm preview needs at least one window")
    last_end = datetime.fromtimestamp(max(windows) / 1000, UTC) + window
    return evaluate_timeline(specs, emf_lines, published_after(window), until=last_end)


def preview_lines(results: Iterable[AlarmResult]) -> list[str]:
    """The preview as printed: the evaluation-range assumption, then one line per alarm."""
    return [f"  {EVALUATION_RANGE_NOTE}", *(f"  {result.describe()}" for result in results)]


def _values(rule: AlarmRule, samples: list[Sample], origin: datetime) -> list[float | None]:
    """The statistic per period from the origin through the last period with data, every sample counted."""
    if not samples:
        return []
    buckets: dict[int, list[float]] = {}
    for sample in samples:
        buckets.setdefault((sample.timestamp - origin) // rule.period, []).append(sample.value)
    return [statistic(rule.statistic, buckets.get(index, [])) for index in range(max(buckets) + 1)]


def _key(dimensions: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(dimensions.items()))


def _minutes(delta: timedelta) -> int:
    return int(delta // MINUTE)
