"""The pipeline's job: every ObjectCreated record of an event becomes an item, exactly once."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipeline.events import ObjectCreated, RecordProblem, parse_s3_event
from pipeline.items import Item, ItemStore, WriteResult


@dataclass
class EventOutcome:
    total: int = 0
    written: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    skipped: list[RecordProblem] = field(default_factory=list)
    failed: list[RecordProblem] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "records": self.total,
            "written": len(self.written),
            "duplicates": len(self.duplicates),
            "stale": len(self.stale),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
        }


class RecordsFailedError(RuntimeError):
    """Some records could not be written; the others were. Raised so Lambda retries the event."""

    def __init__(self, outcome: EventOutcome) -> None:
        details = "; ".join(problem.reason for problem in outcome.failed)
        super().__init__(f"{len(outcome.failed)} of {outcome.total} records failed: {details}")
        self.outcome = outcome


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def process_event(
    event: object,
    store: ItemStore,
    trace_id: str | None,
    now: Callable[[], str] = _utc_now,
) -> EventOutcome:
    """Write every ObjectCreated record; go on past a failing record, then report all that failed.

    Raises MalformedEventError when the event is not an S3 notification at all.
    """
    parsed = parse_s3_event(event)
    outcome = EventOutcome(
        total=len(parsed.created) + len(parsed.skipped) + len(parsed.malformed),
        skipped=list(parsed.skipped),
        failed=list(parsed.malformed),
    )
    for record in parsed.created:
        try:
            result = store.put_if_newer(_item_for(record, trace_id, now()))
        except Exception as error:  # noqa: BLE001 - one bad write must not stop the others
            reason = f"Records[{record.position}] (key {record.key!r}): {type(error).__name__}: {error}"
            outcome.failed.append(RecordProblem(record.position, reason))
            continue
        {
            WriteResult.WRITTEN: outcome.written,
            WriteResult.DUPLICATE: outcome.duplicates,
            WriteResult.STALE: outcome.stale,
        }[result].append(record.key)
    return outcome


def _item_for(record: ObjectCreated, trace_id: str | None, written_at: str) -> Item:
    return Item(
        item_id=record.key,
        bucket=record.bucket,
        size=record.size,
        etag=record.etag,
        event_time=record.event_time,
        sequencer=record.sequencer,
        trace_id=trace_id,
        written_at=written_at,
    )
