"""Reporting windows: clock-aligned, one schedule period long, handled once the lag has passed."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Window:
    """The half-open interval [start, end) of instants whose transactions this window counts."""

    start: datetime
    end: datetime

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def label(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class WindowPlan:
    """What one reporter run emits, oldest first, and how many windows were too old to emit at all."""

    due: list[Window]
    expired: int = 0


def check_period(period: timedelta) -> None:
    if period < timedelta(minutes=1) or timedelta(days=1) % period:
        raise ValueError(f"window period must be at least a minute and divide a day evenly, got {period}")


def window_containing(instant: datetime, period: timedelta) -> Window:
    check_period(period)
    elapsed = (instant.astimezone(UTC) - EPOCH) // period
    start = EPOCH + elapsed * period
    return Window(start, start + period)


def latest_closed_window(now: datetime, period: timedelta, lag: timedelta) -> Window:
    """The newest window that ended at least `lag` ago (late segments have had time to arrive)."""
    if lag < timedelta(0):
        raise ValueError(f"lag must not be negative, got {lag}")
    return window_containing(now - lag - period, period)


def plan_windows(
    now: datetime,
    *,
    period: timedelta,
    lag: timedelta,
    last_emitted_start: datetime | None,
    max_windows_per_run: int,
    max_age: timedelta,
) -> WindowPlan:
    """The windows after the last one emitted, up to the newest closed one: at most `max_windows_per_run`,
    oldest first, so a run after an outage catches up and later runs go on where it stopped.

    Windows that started more than `max_age` ago are passed over and counted as expired (CloudWatch
    would drop their metrics). A first run (no checkpoint) starts with the newest closed window.
    """
    if max_windows_per_run < 1:
        raise ValueError(f"max_windows_per_run must be at least 1, got {max_windows_per_run}")
    latest = latest_closed_window(now, period, lag)
    if last_emitted_start is None:
        return WindowPlan(due=[latest])
    first = window_containing(last_emitted_start, period).start + period
    oldest_allowed = window_containing(now - max_age, period).start + period
    expired = 0
    if first < oldest_allowed:
        expired = min((oldest_allowed - first) // period, (latest.end - first) // period)
        first = oldest_allowed
    count = max(0, min(max_windows_per_run, (latest.end - first) // period))
    return WindowPlan(
        due=[Window(first + i * period, first + (i + 1) * period) for i in range(count)], expired=expired
    )
