import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.segments import (
    SEGMENT_ID_PATTERN,
    TRACE_HEADER_PATTERN,
    TRACE_ID_PATTERN,
    PutCall,
    TraceContext,
    error_flags,
    new_segment_id,
    new_trace_id,
    put_object_segment,
)

EPOCH = 1_795_600_000.7


def call(status: int | None = 200, code: str | None = None) -> PutCall:
    return PutCall(
        bucket="bucket",
        key="synthetic/ab/2026-11-25/run/000001.json",
        region="eu-west-1",
        started_at=EPOCH,
        ended_at=EPOCH + 0.042,
        size=1024,
        status=status,
        request_id="REQ1",
        extended_request_id="HOST",
        retries=1,
        error_code=code,
        error_message=None if code is None else "it broke",
        annotations={"tracecanary_run": "run", "tracecanary_sequence": 1},
    )


@given(st.floats(min_value=0, max_value=2**32 - 1))
def test_trace_ids_carry_the_epoch_second(epoch: float) -> None:
    trace_id = new_trace_id(epoch)
    assert TRACE_ID_PATTERN.match(trace_id)
    assert int(trace_id.split("-")[1], 16) == int(epoch)


def test_ids_are_fresh_and_well_formed() -> None:
    contexts = [TraceContext.new(EPOCH) for _ in range(500)]
    assert len({c.trace_id for c in contexts}) == 500
    for context in contexts:
        assert SEGMENT_ID_PATTERN.match(context.segment_id)
        assert SEGMENT_ID_PATTERN.match(context.subsegment_id)
        assert TRACE_HEADER_PATTERN.match(context.header)
        assert context.header == f"Root={context.trace_id};Parent={context.subsegment_id};Sampled=1"


def test_segment_ids_are_never_all_zeros() -> None:
    draws = iter(["0000000000000000", "00000000000000a1"])
    assert new_segment_id(lambda _: next(draws)) == "00000000000000a1"


def test_the_root_segment_holds_the_put_object_subsegment_named_by_the_header() -> None:
    context = TraceContext.new(EPOCH)
    document = put_object_segment(context, call())
    assert document["name"] == "tracecanary-generator"
    assert document["trace_id"] == context.trace_id
    assert document["id"] == context.segment_id
    assert "origin" not in document  # never looks like a Lambda function segment
    assert "parent_id" not in document
    (subsegment,) = document["subsegments"]
    assert subsegment["id"] == context.subsegment_id == re.search(r"Parent=(\w+)", context.header).group(1)  # type: ignore[union-attr]
    assert subsegment["namespace"] == "aws"
    assert subsegment["name"] == "S3"
    assert subsegment["aws"] == {
        "operation": "PutObject",
        "region": "eu-west-1",
        "bucket_name": "bucket",
        "key": "synthetic/ab/2026-11-25/run/000001.json",
        "retries": 1,
        "request_id": "REQ1",
        "id_2": "HOST",
    }
    assert subsegment["http"]["response"] == {"status": 200}
    assert subsegment["start_time"] == pytest.approx(EPOCH)
    assert subsegment["end_time"] == pytest.approx(EPOCH + 0.042)
    assert (
        document["start_time"] <= subsegment["start_time"] <= subsegment["end_time"] <= document["end_time"]
    )
    assert not any(k in subsegment for k in ("error", "fault", "throttle", "cause"))
    assert document["annotations"] == {"tracecanary_run": "run", "tracecanary_sequence": 1}
    assert len(json.dumps(document)) < 64 * 1024


@pytest.mark.parametrize(
    ("status", "code", "flags"),
    [
        (200, None, {}),
        (403, "AccessDenied", {"error": True}),
        (404, "NoSuchBucket", {"error": True}),
        (429, "TooManyRequests", {"error": True, "throttle": True}),
        (500, "InternalError", {"fault": True}),
        (503, "SlowDown", {"fault": True, "throttle": True}),
        (None, "ConnectTimeoutError", {"fault": True}),
    ],
)
def test_error_flags(status: int | None, code: str | None, flags: dict[str, bool]) -> None:
    assert error_flags(status, code) == flags
    document = put_object_segment(TraceContext.new(EPOCH), call(status, code))
    subsegment = document["subsegments"][0]
    for flag in ("error", "fault", "throttle"):
        assert subsegment.get(flag, False) == flags.get(flag, False)
        assert document.get(flag, False) == flags.get(flag, False)
    if flags:
        (exception,) = subsegment["cause"]["exceptions"]
        assert exception["type"] == code
        assert SEGMENT_ID_PATTERN.match(exception["id"])
    if status is None:
        assert "response" not in subsegment["http"]
