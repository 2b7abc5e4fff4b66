"""CloudWatch's alarm evaluation against AWS's own examples, then on the timelines tracecanary's alarms face.

The oracle is AWS's page "Configuring how CloudWatch alarms treat missing data"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html): its two
example tables (Evaluation Periods 3, evaluation range 5; Datapoints to Alarm 3, then 2), written here row
by row as the page has them (most recent data point on the right; 0 not breaching, X breaching, - missing),
and its section "Avoiding premature transitions to alarm state".
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from demo.alarm_evaluation import (
    EXTRA_PERIODS,
    AlarmRule,
    Evaluation,
    Sample,
    State,
    changes,
    decide,
    silence_bound,
    timeline,
)

OK, ALARM, INSUFFICIENT_DATA = State.OK, State.ALARM, State.INSUFFICIENT_DATA
RETAIN = "Retain current state"
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")  # the tables' columns 3-6, in their order
MINUTE = timedelta(minutes=1)
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def points(row: str) -> list[bool | None]:
    """A row of the page's tables: `0` (or the prose's `O`) not breaching, `X` breaching, `-` missing."""
    return [{"0": False, "O": False, "X": True, "-": None}[mark] for mark in row.split()]


# First table: Datapoints to Alarm 3, Evaluation Periods 3, evaluation range 5.
# Columns: data points | # of data points that must be filled | MISSING | IGNORE | BREACHING | NOT BREACHING
THREE_OF_THREE = [
    ("0 - X - X", 0, OK, OK, OK, OK),
    ("0 - - - -", 2, OK, OK, OK, OK),
    ("- - - - -", 3, INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    ("0 X X - X", 0, ALARM, ALARM, ALARM, ALARM),
    ("- - X - -", 2, ALARM, RETAIN, ALARM, OK),
]
# Second table: Datapoints to Alarm 2, Evaluation Periods 3 ("a 2 out of 3, M out of N alarm"), range 5.
# Columns: data points | # of missing data points | MISSING | IGNORE | BREACHING | NOT BREACHING
TWO_OF_THREE = [
    ("0 - X - X", 0, ALARM, ALARM, ALARM, ALARM),
    ("0 0 X 0 X", 0, ALARM, ALARM, ALARM, ALARM),
    ("0 - X - -", 1, OK, OK, ALARM, OK),
    ("- - - - 0", 2, OK, OK, ALARM, OK),
    ("- - - X -", 2, ALARM, RETAIN, ALARM, OK),
]
TABLE_CASES = [
    pytest.param(
        row, datapoints_to_alarm, treatment, expected, id=f"{datapoints_to_alarm}of3 [{row}] {treatment}"
    )
    for datapoints_to_alarm, table in ((3, THREE_OF_THREE), (2, TWO_OF_THREE))
    for row, _filled, *states in table
    for treatment, expected in zip(TREATMENTS, states, strict=True)
]


@pytest.mark.parametrize(("row", "datapoints_to_alarm", "treatment", "expected"), TABLE_CASES)
@pytest.mark.parametrize("current", list(State))
def test_every_row_of_aws_example_tables(
    row: str, datapoints_to_alarm: int, treatment: str, expected: State | str, current: State
) -> None:
    state = decide(points(row), 3, datapoints_to_alarm, treatment, current)
    assert state is (current if expected == RETAIN else expected)


# "Avoiding premature transitions to alarm state": Evaluation Periods 3, range 5, Datapoints to Alarm 3.
@pytest.mark.parametrize("row", ["- - - - X", "- - - X -"])
@pytest.mark.parametrize("current", [OK, INSUFFICIENT_DATA])
def test_a_recent_single_breach_does_not_go_to_alarm_at_once(row: str, current: State) -> None:
    # "the alarm does not go immediately into ALARM state when the data is either - - - - X or - - - X -"
    assert decide(points(row), 3, 3, "missing", current) is not ALARM


@pytest.mark.parametrize("row", ["- - - X O", "- - X - O"])
def test_the_next_non_breaching_point_avoids_the_false_positive(row: str) -> None:
    # "false positives are avoided when the next data point is non-breaching"
    assert decide(points(row), 3, 3, "missing", OK) is OK


@pytest.mark.parametrize("current", list(State))
def test_a_breach_as_old_as_datapoints_to_alarm_with_only_missing_since_goes_to_alarm(current: State) -> None:
    # "if the last few data points are - - X - -, the alarm goes into ALARM state even if missing data
    # points are treated as missing"
    assert decide(points("- - X - -"), 3, 3, "missing", current) is ALARM


@pytest.mark.parametrize("row", ["- - - X -", "- - X - -", "- X - - -", "X - - - -"])
def test_m_of_n_goes_to_alarm_once_the_oldest_breach_is_m_periods_old(row: str) -> None:
    # "This alarm logic applies to M out of N alarms as well": M = 2, the breach 2 or more periods old.
    assert decide(points(row), 3, 2, "missing", OK) is ALARM
    assert decide(points("- - - - X"), 3, 2, "missing", OK) is OK  # 1 period old: not yet


# --- timelines -------------------------------------------------------------------------------------------

WINDOW = timedelta(minutes=5)
LAG = timedelta(minutes=3)


def window_rule(treat_missing_data: str) -> AlarmRule:
    """SuccessRateAlarm's shape: Minimum of SuccessRate below 100 % in 2 of 2 five-minute windows."""
    return AlarmRule("Minimum", 100.0, "LessThanThreshold", WINDOW, 2, 2, treat_missing_data)


def windows(rates: Iterable[float], phase: int, start: datetime = T0) -> list[Sample]:
    """One datapoint per window, stamped at its start and put a window plus the lag later, plus `phase`
    minutes: the reporter's rate(5 minutes) schedule starts at deploy time, not on the clock's fives."""
    delay = WINDOW + LAG + phase * MINUTE
    return [
        Sample(start + index * WINDOW, rate, start + index * WINDOW + delay)
        for index, rate in enumerate(rates)
    ]


def states_of(evaluations: list[Evaluation]) -> set[State]:
    return {evaluation.state for evaluation in evaluations}


def first(evaluations: list[Evaluation], state: State) -> datetime:
    return next(evaluation.at for evaluation in evaluations if evaluation.state is state)


def through_last_publish(samples: list[Sample], rule: AlarmRule) -> datetime:
    """Long enough that every datapoint was seen and left the evaluation range again."""
    return max(sample.visible_at for sample in samples) + rule.evaluation_range * rule.period


@pytest.mark.parametrize("phase", range(5))
def test_one_bad_window_never_alarms_two_of_two_not_breaching(phase: int) -> None:
    rule = window_rule("notBreaching")
    samples = windows([100, 100, 100, 100, 90, 100, 100, 100], phase)
    evaluations = timeline(rule, samples, T0, through_last_publish(samples, rule))
    assert any(90 in evaluation.points for evaluation in evaluations)  # the bad window was seen
    assert ALARM not in states_of(evaluations)


def test_one_bad_window_alarms_in_some_phase_when_missing_data_breaches() -> None:
    # The design issue 14 replaces: the newest windows are still on their way, so with missing data
    # breaching, one bad window and the filled-in missing ones make two.
    rule = window_rule("breaching")
    alarmed = []
    for phase in range(5):
        samples = windows([100, 100, 100, 100, 90, 100, 100, 100], phase)
        evaluations = timeline(rule, samples, T0, max(sample.visible_at for sample in samples))
        assert evaluations[0].state is ALARM  # a fresh deploy: every window still on its way, "breaching"
        settled = [e for e in evaluations if e.at >= first(evaluations, OK)]
        alarmed.append(ALARM in states_of(settled))
    assert any(alarmed)
    assert not all(alarmed)  # it depends on the schedule's phase


@pytest.mark.parametrize("phase", range(5))
def test_two_bad_windows_in_a_row_alarm_as_soon_as_the_second_is_published(phase: int) -> None:
    rule = window_rule("notBreaching")
    samples = windows([100, 100, 100, 90, 80, 100, 100, 100], phase)
    evaluations = timeline(rule, samples, T0, through_last_publish(samples, rule))
    second_bad = samples[4]
    assert first(evaluations, ALARM) == second_bad.visible_at
    assert [change.state for change in changes(evaluations)] == [OK, ALARM, OK]


@pytest.mark.parametrize("phase", range(5))
def test_a_fresh_deploy_waits_for_its_first_windows_without_alarming(phase: int) -> None:
    rule = window_rule("notBreaching")
    samples = windows([100] * 6, phase)
    evaluations = timeline(rule, samples, T0, max(sample.visible_at for sample in samples))
    before_first_window = [e for e in evaluations if e.at < samples[0].visible_at]
    assert before_first_window  # the first window is still on its way for several minutes
    assert all(set(e.points) == {None} for e in before_first_window)
    assert states_of(evaluations) == {OK}  # all missing, not breaching: OK, never ALARM


def heartbeat_rule() -> AlarmRule:
    """A datapoint per reporter run: Sum of the objects it reported below 1 in 3 of 3, missing breaching."""
    return AlarmRule("Sum", 1.0, "LessThanThreshold", WINDOW, 3, 3, "breaching")


PUT_DELAY = timedelta(seconds=5)  # a heartbeat is put a few seconds after the run's scheduled time


def runs(objects: Iterable[float], start: datetime = T0) -> list[Sample]:
    return [
        Sample(start + index * WINDOW, count, start + index * WINDOW + PUT_DELAY)
        for index, count in enumerate(objects)
    ]


def test_the_heartbeat_stays_ok_while_runs_keep_coming() -> None:
    samples = runs([10] * 24)  # two hours
    evaluations = timeline(heartbeat_rule(), samples, T0, samples[-1].visible_at)
    assert states_of(evaluations) == {OK}


def test_the_heartbeat_alarms_within_its_bound_after_the_reporter_stops() -> None:
    rule = heartbeat_rule()
    samples = runs([10] * 6)
    last_run = samples[-1].timestamp
    evaluations = timeline(rule, samples, T0, last_run + 2 * silence_bound(rule))
    assert states_of([e for e in evaluations if e.at < first(evaluations, ALARM)]) == {OK}
    # Fewer than 3 real points: each counts, the rest are filled in as breaching; 3 of 3 needs all three
    # filled in, so the alarm waits for the last run to leave the N + 2 period range, and fires then.
    assert first(evaluations, ALARM) == last_run + (rule.evaluation_periods + EXTRA_PERIODS) * WINDOW + MINUTE
    assert first(evaluations, ALARM) == last_run + silence_bound(rule)


def test_the_heartbeat_alarms_once_m_runs_in_a_row_reported_nothing() -> None:
    rule = heartbeat_rule()
    samples = runs([10] * 6 + [0] * 6)  # the generator stopped: the reporter runs on, reporting 0 objects
    evaluations = timeline(rule, samples, T0, samples[-1].visible_at)
    first_empty = samples[6]
    third_empty = samples[6 + rule.datapoints_to_alarm - 1]
    alarmed = first(evaluations, ALARM)
    assert third_empty.visible_at < alarmed <= third_empty.visible_at + MINUTE  # the next evaluation
    assert alarmed - first_empty.timestamp <= (rule.datapoints_to_alarm - 1) * rule.period + MINUTE
    assert states_of([e for e in evaluations if e.at < alarmed]) == {OK}


def test_a_breaching_heartbeat_created_before_its_first_run_alarms_unless_it_warms_up() -> None:
    # Every point of the range missing, treated as breaching: ALARM (the first table's third row).
    deployed = T0 - 4 * MINUTE
    samples = runs([10] * 6)
    evaluations = timeline(heartbeat_rule(), samples, deployed, samples[-1].visible_at)
    assert first(evaluations, ALARM) == deployed + MINUTE
    warming = AlarmRule("Sum", 1.0, "LessThanThreshold", WINDOW, 3, 3, "breaching", warm_up=10 * MINUTE)
    evaluations = timeline(warming, samples, deployed, samples[-1].visible_at)
    assert ALARM not in states_of(evaluations)


def test_periods_end_at_the_evaluation_minute() -> None:
    # "if the Period is 5 minutes ... and Evaluation Periods is 1, then at the end of minute 5 the alarm
    # evaluates based on data from minutes 1 to 5. Then at the end of minute 6 ... minutes 2 to 6."
    rule = AlarmRule("Sum", 0.0, "GreaterThanThreshold", WINDOW, 1, 1, "notBreaching")
    samples = [Sample(T0 + minute * MINUTE, 1.0 if minute == 0 else 0.0, T0) for minute in range(20)]
    evaluations = timeline(rule, samples, T0, T0 + 10 * MINUTE)
    by_minute = {int((e.at - T0) / MINUTE): e.state for e in evaluations}
    assert [minute for minute, state in by_minute.items() if state is ALARM] == [1, 2, 3, 4, 5]
    assert evaluations[0].points[-1] == 1.0  # the newest period is the one ending at the evaluation


def test_a_datapoint_counts_only_once_it_is_put_and_while_its_period_is_in_the_range() -> None:
    rule = AlarmRule("Maximum", 5.0, "GreaterThanThreshold", MINUTE, 1, 1, "notBreaching")
    # Put 3 minutes late: seen at the third evaluation, the last one whose 3-period range still holds it.
    late = Sample(T0, 9.0, T0 + 3 * MINUTE)
    assert [e.state for e in timeline(rule, [late], T0, T0 + 4 * MINUTE)] == [OK, OK, ALARM, OK]
    # Put 4 minutes late: its period has left the range by then, so no evaluation ever sees it.
    later = Sample(T0, 9.0, T0 + 4 * MINUTE)
    assert states_of(timeline(rule, [later], T0, T0 + 6 * MINUTE)) == {OK}


def test_warm_up_ends_when_the_evaluation_window_is_full() -> None:
    # AWS's example ("Alarm warm-up periods"): 5-minute period, 3 evaluation periods, created at 10:00, the
    # resource publishes from 10:04: INSUFFICIENT_DATA until a full 15-minute window, "at about 10:19".
    created = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    samples = [Sample(created + minute * MINUTE, 1.0, created + minute * MINUTE) for minute in range(4, 60)]
    early = AlarmRule("Average", 80.0, "GreaterThanThreshold", WINDOW, 3, 3, "missing", warm_up=30 * MINUTE)
    assert first(timeline(early, samples, created, created + 40 * MINUTE), OK) == created + 19 * MINUTE
    full = AlarmRule(
        "Average", 80.0, "GreaterThanThreshold", WINDOW, 3, 3, "missing", 30 * MINUTE, warm_up_to_the_end=True
    )
    assert first(timeline(full, samples, created, created + 40 * MINUTE), OK) == created + 30 * MINUTE


def test_warm_up_never_ends_early_for_windows_published_after_their_period() -> None:
    # The newest period of a window alarm never holds a published window, so it warms up to the end.
    rule = AlarmRule("Minimum", 100.0, "LessThanThreshold", WINDOW, 2, 2, "notBreaching", warm_up=25 * MINUTE)
    samples = windows([100] * 10, phase=0)
    assert first(timeline(rule, samples, T0, T0 + 40 * MINUTE), OK) == T0 + 25 * MINUTE


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("treat_missing_data", "sometimes", "TreatMissingData 'sometimes' is not one of"),
        ("comparison", "Above", "ComparisonOperator 'Above'"),
        ("statistic", "Median", "statistic 'Median'"),
        ("datapoints_to_alarm", 3, "DatapointsToAlarm 3 must be 1 to EvaluationPeriods (2)"),
        ("period", timedelta(seconds=30), "Period 30 s is not a whole number of minutes"),
    ],
)
def test_a_bad_rule_is_refused_with_what_was_wrong(field: str, value: object, message: str) -> None:
    settings: dict[str, object] = {
        "statistic": "Sum",
        "threshold": 1.0,
        "comparison": "LessThanThreshold",
        "period": WINDOW,
        "evaluation_periods": 2,
        "datapoints_to_alarm": 2,
        "treat_missing_data": "missing",
        field: value,
    }
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AlarmRule(**settings)  # type: ignore[arg-type]
