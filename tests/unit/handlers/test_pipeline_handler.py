import json
import logging
from typing import Any

import pytest

from common.errors import SettingsError
from demo.lambda_context import LocalLambdaContext
from pipeline.processor import RecordsFailedError
from tests.conftest import CurrentStdout, load_event
from tests.unit.fakes import InMemoryItemStore

TRACE_ID = "1-6745a1b0-0123456789abcdef01234567"
REQUEST_ID = "6f1c3f0e-2b5e-4a8c-9d0e-1f2a3b4c5d6e"


def context() -> LocalLambdaContext:
    return LocalLambdaContext(function_name="tracecanary-pipeline", aws_request_id=REQUEST_ID)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> InMemoryItemStore:
    from handlers import pipeline

    fake = InMemoryItemStore()
    monkeypatch.setattr(pipeline, "item_store", lambda: fake)
    return fake


@pytest.fixture(autouse=True)
def logs_to_captured_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Logger took sys.stdout when the module was imported; make it follow capsys like print does."""
    from handlers import pipeline

    handler = pipeline.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", CurrentStdout())


def printed_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def emf_metrics(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The invocation's own record line (EMF at `full`, plain fields at `standard`)."""
    [emf] = [line for line in lines if line.get("record") == "pipeline_event"]
    return emf


def test_handler_writes_items_and_prints_its_counts_as_plain_fields_at_standard(
    store: InMemoryItemStore, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.pipeline import lambda_handler

    result = lambda_handler(load_event("s3-put-multi.json"), context())

    assert result == {"records": 3, "written": 3, "duplicates": 0, "stale": 0, "skipped": 0, "failed": 0}
    assert {item.trace_id for item in store.items.values()} == {TRACE_ID}
    # No alarm needs these counts: no metric (nothing billed), the same figures for Logs Insights.
    assert emf_metrics(printed_lines(capsys.readouterr().out)) == {
        "Pipeline": "tracecanary-test",
        "service": "pipeline",
        "record": "pipeline_event",
        "trace_id": TRACE_ID,
        "ItemsWritten": 3,
        "DuplicatesSkipped": 0,
        "RecordsFailed": 0,
    }


def test_at_full_the_counts_are_metrics_with_the_service_dimension(
    store: InMemoryItemStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import pipeline

    monkeypatch.setenv("METRICS_DETAIL", "full")
    pipeline.settings.cache_clear()
    pipeline.lambda_handler(load_event("s3-put-multi.json"), context())
    emf = emf_metrics(printed_lines(capsys.readouterr().out))
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "TraceCanary"
    assert directive["Dimensions"] == [["Pipeline", "service"]]
    assert directive["Metrics"] == [
        {"Name": "ItemsWritten", "Unit": "Count"},
        {"Name": "DuplicatesSkipped", "Unit": "Count"},
        {"Name": "RecordsFailed", "Unit": "Count"},
    ]
    assert (emf["ItemsWritten"], emf["DuplicatesSkipped"], emf["RecordsFailed"]) == (3, 0, 0)
    assert emf["Pipeline"] == "tracecanary-test"


def test_log_lines_carry_the_xray_trace_id(
    store: InMemoryItemStore, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.pipeline import lambda_handler

    lambda_handler(load_event("s3-put.json"), context())
    logs = [line for line in printed_lines(capsys.readouterr().out) if "message" in line]
    processed = next(line for line in logs if line["message"] == "event processed")
    assert processed["xray_trace_id"] == TRACE_ID
    assert processed["function_request_id"] == REQUEST_ID
    assert processed["cold_start"] is True
    assert processed["written"] == 1


def test_a_redelivery_counts_a_duplicate(
    store: InMemoryItemStore, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.pipeline import lambda_handler

    lambda_handler(load_event("s3-put.json"), context())
    capsys.readouterr()
    result = lambda_handler(load_event("s3-put.json"), context())
    assert result["duplicates"] == 1
    emf = emf_metrics(printed_lines(capsys.readouterr().out))
    assert (emf["ItemsWritten"], emf["DuplicatesSkipped"]) == (0, 1)


def test_the_s3_test_event_is_skipped(store: InMemoryItemStore, capsys: pytest.CaptureFixture[str]) -> None:
    from handlers.pipeline import lambda_handler

    result = lambda_handler(load_event("s3-test-event.json"), context())
    assert result == {"records": 0, "written": 0, "duplicates": 0, "stale": 0, "skipped": 0, "failed": 0}
    assert store.calls == 0
    logs = printed_lines(capsys.readouterr().out)
    assert any(line.get("message") == "skipping the S3 test event" for line in logs)


def test_partial_failure_writes_the_rest_then_fails_with_metrics_flushed(
    store: InMemoryItemStore, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.pipeline import lambda_handler

    store.failing_keys.add("synthetic/powertools/2026-11-25/run-7f3a/000002.json")
    with pytest.raises(RecordsFailedError, match=r"1 of 3 records failed: Records\[0\]"):
        lambda_handler(load_event("s3-put-multi.json"), context())
    assert len(store.items) == 2
    emf = emf_metrics(printed_lines(capsys.readouterr().out))
    assert (emf["ItemsWritten"], emf["RecordsFailed"]) == (2, 1)


def test_missing_setting_fails_with_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.pipeline import lambda_handler

    monkeypatch.delenv("ITEMS_TABLE_NAME")
    with pytest.raises(SettingsError, match="ITEMS_TABLE_NAME"):
        lambda_handler(load_event("s3-put.json"), context())
