import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.windows import Window, latest_closed_window, plan_windows, window_containing

FIVE_MINUTES = timedelta(minutes=5)
LAG = timedelta(minutes=3)
MAX_AGE = timedelta(days=13)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_windows_are_aligned_to_the_clock() -> None:
    window = window_containing(at("2026-11-25T12:07:31"), FIVE_MINUTES)
    assert window == Window(at("2026-11-25T12:05:00"), at("2026-11-25T12:10:00"))
    assert window.contains(at("2026-11-25T12:05:00"))
    assert not window.contains(at("2026-11-25T12:10:00"))


def test_the_latest_closed_window_ended_at_least_the_lag_ago() -> None:
    # 12:14:00 - 3 min lag = 12:11:00: the window [12:05, 12:10) is the newest that ended before it.
    assert latest_closed_window(at("2026-11-25T12:14:00"), FIVE_MINUTES, LAG).start == at(
        "2026-11-25T12:05:00"
    )
    # At 12:13:00 exactly, [12:05, 12:10) ended exactly the lag ago: it is due.
    assert latest_closed_window(at("2026-11-25T12:13:00"), FIVE_MINUTES, LAG).start == at(
        "2026-11-25T12:05:00"
    )
    assert latest_closed_window(at("2026-11-25T12:12:59"), FIVE_MINUTES, LAG).start == at(
        "2026-11-25T12:00:00"
    )


@pytest.mark.parametrize("period", [timedelta(seconds=30), timedelta(minutes=7)])
def test_periods_that_do_not_tile_a_day_are_refused(period: timedelta) -> None:
    with pytest.raises(ValueError, match="window period"):
        window_containing(at("2026-11-25T12:00:00"), period)


def test_a_first_run_emits_only_the_newest_closed_window() -> None:
    plan = plan_windows(
        at("2026-11-25T12:14:00"),
        period=FIVE_MINUTES,
        lag=LAG,
        last_emitted_start=None,
        max_windows_per_run=12,
        max_age=MAX_AGE,
    )
    assert [window.label() for window in plan.due] == ["2026-11-25T12:05:00Z"]


def test_a_retried_run_emits_nothing_new() -> None:
    plan = plan_windows(
        at("2026-11-25T12:14:30"),
        period=FIVE_MINUTES,
        lag=LAG,
        last_emitted_start=at("2026-11-25T12:05:00"),
        max_windows_per_run=12,
        max_age=MAX_AGE,
    )
    assert plan.due == []


def test_after_an_outage_missed_windows_come_oldest_first_and_bounded() -> None:
    # Last emitted 10:00; at 12:14 the newest closed window is 12:05: 25 windows are missing (10:05..12:05).
    now = at("2026-11-25T12:14:00")
    plan = plan_windows(
        now,
        period=FIVE_MINUTES,
        lag=LAG,
        last_emitted_start=at("2026-11-25T10:00:00"),
        max_windows_per_run=12,
        max_age=MAX_AGE,
    )
    assert [window.label()[11:16] for window in plan.due] == [
        f"{10 + minute // 60:02d}:{minute % 60:02d}" for minute in range(5, 65, 5)
    ]
    following = plan_windows(
        now,
        period=FIVE_MINUTES,
        lag=LAG,
        last_emitted_start=plan.due[-1].start,
        max_windows_per_run=12,
        max_age=MAX_AGE,
    )
    assert following.due[0].start == at("2026-11-25T11:05:00")


def test_windows_too_old_for_cloudwatch_are_counted_and_passed_over() -> None:
    now = at("2026-11-25T12:14:00")
    plan = plan_windows(
        now,
        period=timedelta(hours=1),
        lag=LAG,
        last_emitted_start=at("2026-11-01T00:00:00"),
        max_windows_per_run=3,
        max_age=timedelta(days=14),
    )
    # Oldest allowed start: the first whole hour after now - 14 days = 2026-11-11T13:00.
    assert plan.due[0].start == at("2026-11-11T13:00:00")
    assert plan.expired == (at("2026-11-11T13:00:00") - at("2026-11-01T01:00:00")) // timedelta(hours=1)


@settings(max_examples=200)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 1)),
    period_minutes=st.sampled_from([1, 5, 15, 60]),
    jitters=st.lists(st.integers(min_value=-20, max_value=90), min_size=5, max_size=60),
    skipped=st.lists(st.booleans(), min_size=60, max_size=60),
    retried=st.lists(st.booleans(), min_size=60, max_size=60),
    max_windows=st.integers(min_value=1, max_value=5),
)
def test_every_instant_is_covered_exactly_once(
    start: datetime,
    period_minutes: int,
    jitters: list[int],
    skipped: list[bool],
    retried: list[bool],
    max_windows: int,
) -> None:
    """Runs on schedule with jitter, some skipped (outage), some delivered twice: no window twice, no gaps."""
    period = timedelta(minutes=period_minutes)
    clock = start.replace(tzinfo=UTC)
    checkpoint: datetime | None = None
    emitted: list[Window] = []
    for run, jitter in enumerate(jitters):
        clock += period + timedelta(seconds=jitter)
        if skipped[run]:
            continue
        for _ in range(2 if retried[run] else 1):
            plan = plan_windows(
                clock,
                period=period,
                lag=LAG,
                last_emitted_start=checkpoint,
                max_windows_per_run=max_windows,
                max_age=MAX_AGE,
            )
            for window in plan.due:
                assert checkpoint is None or window.start > checkpoint  # the checkpoint only moves forward
                emitted.append(window)
                checkpoint = window.start
    starts = [window.start for window in emitted]
    assert len(starts) == len(set(starts))
    for earlier, later in itertools.pairwise(emitted):
        assert later.start == earlier.end  # contiguous: every instant after the first window is covered
    if emitted:
        assert emitted[-1].end <= clock - LAG
