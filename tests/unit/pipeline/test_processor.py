import copy

import pytest

from pipeline.events import MalformedEventError
from pipeline.processor import RecordsFailedError, process_event
from tests.conftest import load_event
from tests.unit.fakes import InMemoryItemStore

TRACE_ID = "1-6745a1b0-0123456789abcdef01234567"


def fixed_now() -> str:
    return "2026-11-25T12:00:03.000+00:00"


def with_sequencer(event: dict[str, object], sequencer: str) -> dict[str, object]:
    changed = copy.deepcopy(event)
    changed["Records"][0]["s3"]["object"]["sequencer"] = sequencer  # type: ignore[index]
    return changed


def test_each_created_record_becomes_an_item_with_its_trace() -> None:
    store = InMemoryItemStore()
    outcome = process_event(load_event("s3-put-multi.json"), store, TRACE_ID, now=fixed_now)
    assert outcome.summary() == {
        "records": 3,
        "written": 3,
        "duplicates": 0,
        "stale": 0,
        "skipped": 0,
        "failed": 0,
    }
    item = store.items["synthetic/powertools/2026-11-25/run-7f3a/000003.bin"]
    assert item.size == 65536
    assert item.etag == "92eb5ffee6ae2fec3ad71c777531578f"
    assert item.trace_id == TRACE_ID
    assert item.event_time == "2026-11-25T12:00:02.017Z"
    assert item.written_at == "2026-11-25T12:00:03.000+00:00"


def test_item_id_is_the_decoded_key() -> None:
    store = InMemoryItemStore()
    process_event(load_event("s3-put-encoded-key.json"), store, TRACE_ID)
    assert list(store.items) == ["synthetic/powertools/reports/Q3 summary + notes été.txt"]


def test_a_redelivered_event_writes_nothing_new() -> None:
    store = InMemoryItemStore()
    event = load_event("s3-put.json")
    process_event(event, store, TRACE_ID)
    first = store.items.copy()
    again = process_event(event, store, "1-6745a1b9-fedcba9876543210fedcba98")
    assert again.written == []
    assert again.duplicates == ["synthetic/powertools/2026-11-25/run-7f3a/000001.json"]
    assert store.items == first  # the first delivery's trace id is kept


def test_an_older_sequencer_never_overwrites_a_newer_one() -> None:
    store = InMemoryItemStore()
    event = load_event("s3-put.json")
    # A longer sequencer is not necessarily newer: compare after right-padding, as S3 documents.
    newer, older = "0067447B6C1D8E2F60", "0067447B6C1D8E2F5300"
    process_event(with_sequencer(event, newer), store, TRACE_ID)
    outcome = process_event(with_sequencer(event, older), store, TRACE_ID)
    assert outcome.stale == ["synthetic/powertools/2026-11-25/run-7f3a/000001.json"]
    assert store.items["synthetic/powertools/2026-11-25/run-7f3a/000001.json"].sequencer.startswith(newer)


def test_a_newer_sequencer_replaces_the_item() -> None:
    store = InMemoryItemStore()
    event = load_event("s3-put.json")
    process_event(with_sequencer(event, "0067447B6C1D8E2F53"), store, TRACE_ID)
    outcome = process_event(with_sequencer(event, "0067447B6C1D8E2F54"), store, TRACE_ID)
    assert outcome.written == ["synthetic/powertools/2026-11-25/run-7f3a/000001.json"]


def test_a_failing_write_spares_the_other_records_and_is_reported() -> None:
    store = InMemoryItemStore(failing_keys={"synthetic/powertools/2026-11-25/run-7f3a/000003.bin"})
    outcome = process_event(load_event("s3-put-multi.json"), store, TRACE_ID)
    assert sorted(store.items) == [
        "synthetic/powertools/2026-11-25/run-7f3a/000002.json",
        "synthetic/powertools/2026-11-25/run-7f3a/000004.txt",
    ]
    [failure] = outcome.failed
    assert failure.position == 1
    assert "synthetic/powertools/2026-11-25/run-7f3a/000003.bin" in failure.reason
    assert "ConnectionError" in failure.reason
    error = RecordsFailedError(outcome)
    assert str(error).startswith("1 of 3 records failed: Records[1]")


def test_a_retry_after_partial_failure_writes_only_what_was_missing() -> None:
    store = InMemoryItemStore(failing_keys={"synthetic/powertools/2026-11-25/run-7f3a/000003.bin"})
    event = load_event("s3-put-multi.json")
    process_event(event, store, TRACE_ID)
    store.failing_keys.clear()
    retried = process_event(event, store, TRACE_ID)
    assert retried.written == ["synthetic/powertools/2026-11-25/run-7f3a/000003.bin"]
    assert len(retried.duplicates) == 2


def test_malformed_records_count_as_failed() -> None:
    event = load_event("s3-put-multi.json")
    del event["Records"][2]["s3"]
    outcome = process_event(event, InMemoryItemStore(), TRACE_ID)
    assert len(outcome.written) == 2
    assert [problem.reason for problem in outcome.failed] == ["Records[2].s3: Field required"]


def test_a_non_s3_event_raises() -> None:
    with pytest.raises(MalformedEventError):
        process_event({"source": "aws.events"}, InMemoryItemStore(), TRACE_ID)
