"""Transactions: a generator root segment's S3 PutObject, and the invocations that follow it."""

from typing import Any

import pytest

from tests.unit.traces.helpers import function_segment, part, sdk_call, segment
from traces.analysis import analyze


def generator_trace(suffix: str = "1", offset: float = 0.0) -> list[dict[str, Any]]:
    """Generator root -> PutObject -> S3 notification -> async AWS::Lambda -> function -> DynamoDB PutItem."""
    t = 100.0 + offset
    put_id, attempt_id = f"p00000000000000{suffix}", f"t00000000000000{suffix}"
    put = sdk_call(put_id, "S3", "PutObject", t + 0.1, t + 0.3, bucket_name="bucket")
    root = segment(f"g00000000000000{suffix}", "tracecanary-generator", t, t + 0.5, subsegments=[put])
    inferred_s3 = segment(
        f"s00000000000000{suffix}",
        "S3",
        t + 0.1,
        t + 0.3,
        origin="AWS::S3::Bucket",
        inferred=True,
        parent_id=put_id,
    )
    service = segment(
        f"a00000000000000{suffix}",
        "pipeline",
        t + 0.5,
        t + 0.52,
        origin="AWS::Lambda",
        parent_id=put_id,
        subsegments=[
            part(f"d00000000000000{suffix}", "Dwell Time", t + 0.5, t + 0.55),
            part(attempt_id, "Attempt #1", t + 0.55, t + 1.2),
        ],
    )
    put_item = sdk_call(
        f"c00000000000000{suffix}", "DynamoDB", "PutItem", t + 0.7, t + 0.9, table_name="items"
    )
    function = function_segment(
        f"f00000000000000{suffix}",
        t + 0.6,
        t + 1.1,
        name="pipeline",
        parent_id=attempt_id,
        subsegments=[
            part(f"i00000000000000{suffix}", "Invocation", t + 0.6, t + 1.0, subsegments=[put_item]),
            part(f"o00000000000000{suffix}", "Overhead", t + 1.0, t + 1.1),
        ],
    )
    return [root, inferred_s3, service, function]


def test_a_generator_trace_is_one_transaction() -> None:
    result = analyze(generator_trace())
    (transaction,) = result.transactions
    assert transaction.generator == "tracecanary-generator"
    assert transaction.start == pytest.approx(100.1)
    assert transaction.put_object_ms == pytest.approx(200.0)  # 100.1 -> 100.3
    # From the PutObject's start 100.1 to the last segment end, the function's 101.1.
    assert transaction.end_to_end_ms == pytest.approx(1000.0)
    assert transaction.s3_notification_ms == pytest.approx(200.0)  # service start 100.5 - PutObject end 100.3
    assert [invocation.function for invocation in transaction.invocations] == ["pipeline"]
    (invocation,) = result.invocations
    assert invocation.dwell_ms == pytest.approx(50.0)  # 100.5 -> 100.55
    assert invocation.invocation_ms == pytest.approx(400.0)  # 100.6 -> 101.0
    assert invocation.overhead_ms == pytest.approx(100.0)  # 101.0 -> 101.1
    assert transaction.complete is True
    assert transaction.error is False
    assert transaction.to_dict()["functions"] == ["pipeline"]


def test_errors_and_parts_in_progress_show_on_the_transaction() -> None:
    documents = generator_trace()
    documents[0]["subsegments"][0].update(error=True, fault=True)  # the PutObject failed
    failed = analyze(documents).transactions[0]
    assert (failed.complete, failed.error) == (True, True)
    documents = generator_trace()
    documents[3].pop("end_time")
    documents[3]["in_progress"] = True
    running = analyze(documents).transactions[0]
    assert running.complete is False
    # The last finished segment is now the service segment, ending at 100.52: 100.52 - 100.1.
    assert running.end_to_end_ms == pytest.approx(420.0)


def test_no_transaction_without_a_non_lambda_root_holding_a_put_object() -> None:
    documents = generator_trace()
    documents[0]["origin"] = "AWS::Lambda::Function"  # the root is a function: it is an invocation instead
    result = analyze(documents)
    assert result.transactions == []
    assert len(result.invocations) == 2
    documents = generator_trace()
    documents[0]["subsegments"][0]["aws"]["operation"] = "GetObject"
    assert analyze(documents).transactions == []


def test_two_generator_roots_in_one_trace_each_keep_their_invocations() -> None:
    result = analyze([*generator_trace("1"), *generator_trace("2", offset=10.0)])
    assert len(result.transactions) == 2
    assert [len(t.invocations) for t in result.transactions] == [1, 1]
    assert [t.start for t in result.transactions] == [pytest.approx(100.1), pytest.approx(110.1)]
    # Both end where the trace's last segment ends: the second function's 111.1.
    assert [t.end_to_end_ms for t in result.transactions] == [pytest.approx(11000.0), pytest.approx(1000.0)]
