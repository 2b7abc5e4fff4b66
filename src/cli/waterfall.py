"""`tracecanary show`: one trace drawn as a timeline, like the X-Ray console's.

One row per segment and subsegment, indented by nesting: a subsegment under the part holding it, a segment
under the part it follows (its `parent_id`), each part's children in start order. A bar scaled to the trace's
time, the duration, and error/fault/throttle marks. Colour (ANSI) only when asked for.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from traces.parts import Part, duration_ms, end_of, flag, is_inferred, sort_key_by_start, start_of, text
from traces.tree import TraceTree

_RESET = "\033[0m"
_COLOURS = {
    "segment": "\033[36m",  # cyan
    "subsegment": "\033[34m",  # blue
    "error": "\033[33m",  # orange-ish, as the console's error
    "fault": "\033[31m",  # red
    "throttle": "\033[35m",  # purple
    "dim": "\033[2m",
    "bold": "\033[1m",
}
_MAX_INDENT = 16  # deeper nesting is drawn at this depth, so names stay readable
_DURATION_WIDTH = 12


@dataclass(frozen=True, slots=True)
class Row:
    depth: int
    name: str
    is_segment: bool
    origin: str | None
    start: float | None
    end: float | None  # None while in progress
    duration_ms: float | None
    in_progress: bool
    inferred: bool
    error: bool
    fault: bool
    throttle: bool

    @property
    def marks(self) -> list[str]:
        pairs = (
            ("fault", self.fault),
            ("error", self.error),
            ("throttle", self.throttle),
            ("in progress", self.in_progress),
            ("inferred", self.inferred),
        )
        return [mark for mark, on in pairs if on]


def waterfall_rows(tree: TraceTree) -> list[Row]:
    """Every part of the trace once, in drawing order (depth first, children by start time)."""
    followers: dict[int, list[Part]] = {}
    roots: list[Part] = []
    for segment in tree.segments:
        followed = tree.followed(segment)
        if followed is None or followed is segment:
            roots.append(segment)
        else:
            followers.setdefault(id(followed), []).append(segment)
    rows: list[Row] = []
    seen: set[int] = set()
    for root in sorted(roots, key=sort_key_by_start):
        _draw_from(tree, root, followers, seen, rows)
    # Segments in a cycle of parent_id links follow each other and reach no root: draw them too.
    for segment in tree.segments_by_start():
        if id(segment) not in seen:
            _draw_from(tree, segment, followers, seen, rows)
    return rows


def _draw_from(
    tree: TraceTree, top: Part, followers: dict[int, list[Part]], seen: set[int], rows: list[Row]
) -> None:
    stack: list[tuple[Part, int]] = [(top, 0)]
    while stack:
        part, depth = stack.pop()
        if id(part) in seen:
            continue
        seen.add(id(part))
        rows.append(_row(tree, part, depth))
        below = [*tree.children(part), *followers.get(id(part), ())]
        below.sort(key=sort_key_by_start)
        stack.extend((child, depth + 1) for child in reversed(below) if id(child) not in seen)


def _row(tree: TraceTree, part: Part, depth: int) -> Row:
    is_segment = tree.is_segment(part)
    return Row(
        depth=depth,
        name=text(part, "name") or "?",
        is_segment=is_segment,
        origin=text(part, "origin") if is_segment else None,
        start=start_of(part),
        end=end_of(part),
        duration_ms=duration_ms(part),
        in_progress=end_of(part) is None,
        inferred=is_inferred(part),
        error=flag(part, "error"),
        fault=flag(part, "fault"),
        throttle=flag(part, "throttle"),
    )


def render_waterfall(tree: TraceTree, *, width: int = 120, color: bool = False) -> str:
    """The trace as text lines no wider than `width` (at least 60)."""
    width = max(width, 60)
    rows = waterfall_rows(tree)
    times = [t for row in rows for t in (row.start, row.end) if t is not None]
    first, last = (min(times), max(times)) if times else (0.0, 0.0)
    span = last - first
    name_width = min(max((_label_length(row) for row in rows), default=10), width * 2 // 5)
    marks_width = max((len(" ".join(row.marks)) + 1 for row in rows if row.marks), default=0)
    bar_width = max(10, width - name_width - _DURATION_WIDTH - marks_width - 4)
    paint = _painter(color)
    lines = [paint("bold", _title(tree, first, span, len(rows)))]
    total = _ms_text(span * 1000)
    axis = "0 ms".ljust(bar_width - len(total)) + total
    lines.append(" " * (name_width + _DURATION_WIDTH + 2) + "|" + axis + "|")
    for row in rows:
        label = _fit(_label(row), name_width).ljust(name_width)
        duration = ("…" if row.in_progress else _ms_text(row.duration_ms)).rjust(_DURATION_WIDTH)
        bar = _bar(row, first, span, bar_width, last)
        kind = "segment" if row.is_segment else "subsegment"
        bar_colour = "dim" if row.inferred or row.in_progress else kind
        marks = " ".join(paint(mark if mark in _COLOURS else "dim", mark) for mark in row.marks)
        name = paint("bold", label) if row.is_segment else label
        lines.append(f"{name}  {duration}|{paint(bar_colour, bar)}| {marks}".rstrip())
    return "\n".join(lines)


def _title(tree: TraceTree, first: float, span: float, parts: int) -> str:
    try:
        started = datetime.fromtimestamp(first, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    except (OverflowError, OSError, ValueError):
        started = f"{first:.3f}"
    return f"Trace {tree.trace_id or '?'}  ·  {started}  ·  {_ms_text(span * 1000)}  ·  {parts} parts"


def _label(row: Row) -> str:
    indent = "  " * min(row.depth, _MAX_INDENT)
    origin = f" ({row.origin})" if row.origin else ""
    return f"{indent}{row.name}{origin}"


def _label_length(row: Row) -> int:
    return len(_label(row))


def _fit(label: str, width: int) -> str:
    return label if len(label) <= width else label[: max(width - 1, 0)] + "…"


def _ms_text(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.1f} ms"


def _bar(row: Row, first: float, span: float, width: int, last: float) -> str:
    """The part's interval on a `width`-cell axis from `first` to `first + span` (at least one cell)."""
    if row.start is None:
        return " " * width
    end = row.end if row.end is not None else last  # still running: to the end of what is known

    def cell(moment: float) -> int:
        position = (moment - first) / span * width if span > 0 else 0.0
        if not math.isfinite(position):  # times so far apart that their difference overflows
            return 0
        return min(width, max(0, round(position)))

    begin = min(cell(row.start), width - 1)
    stop = max(begin + 1, cell(end))
    fill = "░" if row.in_progress else "█"
    return (" " * begin + fill * (stop - begin)).ljust(width)


def _painter(color: bool) -> Callable[[str, str], str]:
    def paint(style: str, value: str) -> str:
        if not color or not value:
            return value
        return f"{_COLOURS[style]}{value}{_RESET}"

    return paint
