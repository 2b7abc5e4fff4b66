"""A CloudWatch metric alarm evaluated minute by minute on datapoints that become visible when they are put.

Pure: an alarm's rule, the samples of its metric (each with the time it is filed under and the time it was
put) and a span of time in, the alarm's state at every minute out. What it follows, from AWS's pages
"Using Amazon CloudWatch alarms" (section "Evaluating an alarm") and "Configuring how CloudWatch alarms
treat missing data" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):
- an alarm with a period of a minute or more is evaluated every minute, on periods that end at that minute
  ("if the Period is 5 minutes ... at the end of minute 5 the alarm evaluates based on data from minutes 1
  to 5. Then at the end of minute 6 ... minutes 2 to 6"): the periods slide with the evaluation, they are
  not aligned to the clock. A sample counts once it was put by the evaluation minute.
- each evaluation retrieves more periods than Evaluation Periods (N): the *evaluation range*. AWS gives no
  figure ("depends on the length of the alarm period and whether it is based on a metric with standard
  resolution or high resolution"); its worked examples retrieve N + 2 (5 for 3), the figure used here
  (`EXTRA_PERIODS`), until a better one is known.
- the three rules (`decide`): no datapoint missing -> the most recent N; some missing but at least N real
  ones -> the most recent N real ones, TreatMissingData not needed; fewer than N real ones -> all real ones,
  the rest filled in as TreatMissingData says (`breaching`, `notBreaching`; `missing` and `ignore` fill in
  nothing). Every datapoint missing: `missing` -> INSUFFICIENT_DATA, `ignore` -> the state stays,
  `breaching` -> ALARM, `notBreaching` -> OK.
- the premature-transition logic: with `missing`, fewer than N real datapoints and all of them breaching, the
  alarm goes to ALARM once the oldest breaching one is at least Datapoints to Alarm (M) periods old (`- - X -
  -` for 3 of 3), and not before (`- - - X -`). The page's prose also lets a non-breaching datapoint older
  than that one pass; its own table does not (2 of 3, `0 - X - -`: OK with `missing`), and the table is
  followed: a real non-breaching datapoint among fewer than N keeps the alarm OK under `missing` and
  `ignore`. Where the page gives no state (`- - - - X` under `missing`: "does not go immediately into
  ALARM"), the state stays as it is.
- a new alarm starts in INSUFFICIENT_DATA. A warm-up (WarmUpConfiguration, page "Alarm warm-up periods")
  keeps it there for WarmUpPeriodDurationInMinutes, or, unless OnlyStartEvaluatingAfterWarmUpPeriodEnds,
  until its evaluation window (N periods) is full: read here as the first datapoint being N periods old and
  the most recent period holding a datapoint (the page's example: created 10:00, data from 10:04, 5-minute
  period, N 3: evaluation begins at about 10:19).
Not modelled: high-resolution alarms (evaluated every 10 s), alarms over more than a day (evaluated hourly),
the low-sample setting of percentile alarms (the default, evaluate, is assumed), metric math, AWS/DynamoDB's
default of `ignore`, and any delay in CloudWatch's own evaluation. Percentiles are nearest-rank on the raw
values (CloudWatch's are approximations).
"""

import math
import operator
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

EXTRA_PERIODS = 2  # evaluation range = N + 2 periods: AWS documents no figure; its examples retrieve N + 2
EVALUATION_RANGE_NOTE = (
    "evaluated every minute as CloudWatch does, each time on the last N + 2 periods (the evaluation range: "
    "AWS documents no figure, its examples retrieve N + 2), periods ending at that minute; a datapoint "
    "counts once it is published"
)
MINUTE = timedelta(minutes=1)


class State(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
SYMBOLS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Sum": math.fsum,
    "Minimum": min,
    "Maximum": max,
    "Average": lambda values: math.fsum(values) / len(values),
    "SampleCount": lambda values: float(len(values)),
}


@dataclass(frozen=True)
class AlarmRule:
    """What CloudWatch needs to evaluate a metric alarm, in PutMetricAlarm's terms."""

    statistic: str  # Sum, Minimum, Maximum, Average, SampleCount, or pNN / pNN.N
    threshold: float
    comparison: str
    period: timedelta
    evaluation_periods: int  # N
    datapoints_to_alarm: int  # M
    treat_missing_data: str = "missing"
    warm_up: timedelta | None = None  # WarmUpPeriodDurationInMinutes
    warm_up_to_the_end: bool = False  # OnlyStartEvaluatingAfterWarmUpPeriodEnds

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"ComparisonOperator {self.comparison!r} is not one of {', '.join(COMPARISONS)}")
        if self.treat_missing_data not in TREATMENTS:
            raise ValueError(
                f"TreatMissingData {self.treat_missing_data!r} is not one of {', '.join(TREATMENTS)}"
            )
        if self.statistic not in STATISTICS and _percent(self.statistic) is None:
            raise ValueError(f"statistic {self.statistic!r} is not one of {', '.join(STATISTICS)} or pNN")
        if self.period < MINUTE or self.period % MINUTE:
            raise ValueError(f"Period {self.period.total_seconds():g} s is not a whole number of minutes")
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValueError(
                f"DatapointsToAlarm {self.datapoints_to_alarm} must be 1 to EvaluationPeriods "
                f"({self.evaluation_periods})"
            )
        if self.evaluation_periods * self.period > timedelta(days=1):
            raise ValueError("alarms over more than a day are evaluated hourly, which is not modelled")

    @property
    def evaluation_range(self) -> int:
        return self.evaluation_periods + EXTRA_PERIODS

    def breaches(self, value: float) -> bool:
        return COMPARISONS[self.comparison](value, self.threshold)

    def describe(self, metric: str) -> str:
        return f"{self.statistic}({metric}) {SYMBOLS[self.comparison]} {self.threshold:g}"


@dataclass(frozen=True)
class Sample:
    """One value of a metric: filed under `timestamp` (EMF's `_aws.Timestamp`), visible from `visible_at`."""

    timestamp: datetime
    value: float
    visible_at: datetime


@dataclass(frozen=True)
class Evaluation:
    at: datetime  # the minute the evaluation ran at; its newest period ends here
    state: State
    points: tuple[float | None, ...]  # the statistic per period of the evaluation range, oldest first


def decide(
    points: Sequence[bool | None],
    evaluation_periods: int,
    datapoints_to_alarm: int,
    treat_missing_data: str,
    current: State,
) -> State:
    """One evaluation over the evaluation range, oldest first: True breaching, False not, None missing."""
    real = [point for point in points if point is not None]
    if not real:
        return {
            "missing": State.INSUFFICIENT_DATA,
            "ignore": current,
            "breaching": State.ALARM,
            "notBreaching": State.OK,
        }[treat_missing_data]
    if len(real) >= evaluation_periods:
        # The most recent N real datapoints, reaching farther back past missing ones where needed.
        return _m_of(real[-evaluation_periods:], datapoints_to_alarm)
    breaching = sum(real)
    if treat_missing_data == "breaching":
        # Every real datapoint of the range, and as few missing ones as make up N, filled in as breaching.
        filled = evaluation_periods - len(real)
        return State.ALARM if breaching + filled >= datapoints_to_alarm else State.OK
    # notBreaching: the filled-in points never breach. missing and ignore fill in nothing: M breaching real
    # points alarm, and a real non-breaching one keeps the alarm OK (the tables' `0 - - - -`, `0 - X - -`).
    if treat_missing_data == "notBreaching" or breaching >= datapoints_to_alarm or not all(real):
        return _m_of(real, datapoints_to_alarm)
    # `missing` or `ignore`, and only breaching datapoints, fewer than M of them: premature-transition logic.
    oldest_breaching_age = len(points) - next(i for i, point in enumerate(points) if point is not None)
    if treat_missing_data == "missing" and oldest_breaching_age >= datapoints_to_alarm:
        return State.ALARM
    return current


def _m_of(points: Sequence[bool], datapoints_to_alarm: int) -> State:
    return State.ALARM if sum(points) >= datapoints_to_alarm else State.OK


def timeline(
    rule: AlarmRule, samples: Iterable[Sample], created_at: datetime, until: datetime
) -> list[Evaluation]:
    """The alarm's evaluations from the first minute after `created_at` through `until`, one per minute."""
    ordered = sorted(samples, key=lambda sample: sample.timestamp)
    stamps = [sample.timestamp for sample in ordered]
    state = State.INSUFFICIENT_DATA
    warming = rule.warm_up is not None
    evaluations = []
    at = _minute(created_at) + MINUTE
    while at <= until:
        points = tuple(
            statistic(rule.statistic, _visible(ordered, stamps, at - age * rule.period, rule.period, at))
            for age in range(rule.evaluation_range, 0, -1)
        )
        if warming:
            warming = not _warmed_up(rule, ordered, points, created_at, at)
        if not warming:
            flags = [None if value is None else rule.breaches(value) for value in points]
            state = decide(
                flags, rule.evaluation_periods, rule.datapoints_to_alarm, rule.treat_missing_data, state
            )
        evaluations.append(Evaluation(at, state, points))
        at += MINUTE
    return evaluations


def changes(evaluations: Iterable[Evaluation]) -> list[Evaluation]:
    """The evaluations that changed the state (a new alarm starts in INSUFFICIENT_DATA)."""
    changed = []
    state = State.INSUFFICIENT_DATA
    for evaluation in evaluations:
        if evaluation.state is not state:
            changed.append(evaluation)
            state = evaluation.state
    return changed


def silence_bound(rule: AlarmRule) -> timedelta:
    """How long after its last datapoint's timestamp a `breaching` alarm has all of its range missing.

    From then on every evaluation fills in N breaching datapoints, so it is in ALARM at the latest then
    (the first evaluation after the datapoint's period leaves the range).
    """
    return rule.evaluation_range * rule.period + MINUTE


def statistic(name: str, values: list[float]) -> float | None:
    """The statistic of one period's values; None for a period with no data (a missing datapoint)."""
    if not values:
        return None
    percent = _percent(name)
    if percent is not None:
        ordered = sorted(values)  # nearest rank
        return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]
    return STATISTICS[name](values)


def _percent(name: str) -> float | None:
    if not name.startswith("p"):
        return None
    try:
        percent = float(name[1:])
    except ValueError:
        return None
    return percent if 0 < percent <= 100 else None


def _visible(
    ordered: list[Sample], stamps: list[datetime], start: datetime, length: timedelta, at: datetime
) -> list[float]:
    """The values filed in [start, start + length) that were put by `at`."""
    first, last = bisect_left(stamps, start), bisect_left(stamps, start + length)
    return [sample.value for sample in ordered[first:last] if sample.visible_at <= at]


def _warmed_up(
    rule: AlarmRule,
    ordered: list[Sample],
    points: tuple[float | None, ...],
    created_at: datetime,
    at: datetime,
) -> bool:
    assert rule.warm_up is not None
    if at >= created_at + rule.warm_up:
        return True
    if rule.warm_up_to_the_end:
        return False
    seen = [sample.timestamp for sample in ordered if sample.visible_at <= at]
    window_full = bool(seen) and min(seen) <= at - rule.evaluation_periods * rule.period
    return window_full and points[-1] is not None


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)
