"""Whole synthetic transactions as X-Ray holds them: generator root, Lambda service and function segments."""

import json
from typing import Any

from demo.lambda_segments import Attempt, async_invocation_segments, sdk_call_subsegment
from generator.manifest import ManifestRecord, Outcome
from generator.segments import PutCall, TraceContext, put_object_segment

FUNCTION = "tc-pipeline"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"


def transaction(
    put_at: float,
    key: str,
    *,
    cold: bool = False,
    dynamodb_status: int = 200,
    function_error: str | None = None,
    in_progress: bool = False,
    with_invocation: bool = True,
) -> tuple[ManifestRecord, list[dict[str, Any]]]:
    """A manifest record and its trace's segment documents, every part timed in milliseconds from put_at."""
    context = TraceContext.new(put_at)
    call = PutCall("bucket", key, "us-east-1", put_at, put_at + 0.040, 1024, 200, request_id="R1")
    root = put_object_segment(context, call)
    segments = [root]
    if with_invocation:
        ms = 0.001
        start = put_at + 0.040 + 0.100  # S3 notifies 100 ms after the PutObject ends
        first = start + 0.030  # after 30 ms of dwell time
        init = (first + 5 * ms, first + 205 * ms) if cold else None
        function_start = init[1] if init else first + 5 * ms
        invocation = (function_start, function_start + 40 * ms)
        put_item = sdk_call_subsegment(
            service="DynamoDB",
            operation="PutItem",
            interval=(function_start + 10 * ms, function_start + 22 * ms),
            table_name="items",
            status=dynamodb_status,
        )
        attempt = Attempt(
            interval=(first, invocation[1] + 2 * ms),
            function=(function_start, invocation[1] + 1 * ms),
            invocation=invocation,
            overhead=(invocation[1], invocation[1] + 1 * ms),
            initialization=init,
            handler_subsegments=[put_item],
            error=function_error,
        )
        segments += async_invocation_segments(
            trace_id=context.trace_id,
            parent_id=context.subsegment_id,
            function_name=FUNCTION,
            function_arn=FUNCTION_ARN,
            accepted_at=start,
            attempts=[attempt],
        )
        if in_progress:
            function_segment = segments[-1]
            del function_segment["end_time"]
            function_segment["in_progress"] = True
    record = ManifestRecord(
        run_id="run1",
        sequence=0,
        bucket="bucket",
        key=key,
        trace_id=context.trace_id,
        segment_id=context.segment_id,
        put_subsegment_id=context.subsegment_id,
        planned_at=put_at,
        outcome=Outcome.SENT,
        size=1024,
        content_type="application/json",
        started_at=put_at,
        put_ms=40.0,
        http_status=200,
    )
    return record, segments


def as_trace(trace_id: str, segments: list[dict[str, Any]]) -> dict[str, Any]:
    """The BatchGetTraces form: Document as a JSON string."""
    return {
        "Id": trace_id,
        "Duration": 1.0,
        "Segments": [{"Id": segment["id"], "Document": json.dumps(segment)} for segment in segments],
    }
