"""The contract's rules on small hand-made traces: each test states the trace and the expected numbers."""

import math

import pytest

from tests.unit.traces.helpers import TRACE_ID, function_segment, only, part, sdk_call, segment
from traces.analysis import analyze

SERVICE_ID = "a000000000000001"
FUNCTION_ID = "f000000000000001"


def async_service(*subsegments: dict[str, object], parent: str | None = None) -> dict[str, object]:
    fields: dict[str, object] = {"origin": "AWS::Lambda", "http": {"response": {"status": 202}}}
    if parent:
        fields["parent_id"] = parent
    return segment(SERVICE_ID, "fn", 100.0, 100.01, subsegments=list(subsegments), **fields)


def test_repeated_invocation_phase_the_one_overlapping_most_counts() -> None:
    # Function 10.0 -> 11.0. Invocation 9.0 -> 9.9 overlaps it 0 s; Invocation 10.0 -> 10.8 0.8 s.
    stray = part(
        "i000000000000001", "Invocation", 9.0, 9.9, subsegments=[sdk_call("c1", "S3", "GetObject", 9.1, 9.2)]
    )
    real = part(
        "i000000000000002",
        "Invocation",
        10.0,
        10.8,
        subsegments=[sdk_call("c2", "S3", "PutObject", 10.1, 10.3)],
    )
    invocation = only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, subsegments=[stray, real])]))
    assert invocation.invocation_ms == pytest.approx(800.0)  # 10.0 -> 10.8
    assert [call.operation for call in invocation.calls] == ["PutObject"]  # not the call under the stray one


def test_repeated_phase_ties_go_to_the_latest() -> None:
    # Both Overheads lie after the function's end (10.0 -> 11.0): overlap 0 each; the later one (12.0) counts.
    early = part("o000000000000001", "Overhead", 11.5, 11.6)
    late = part("o000000000000002", "Overhead", 12.0, 12.25)
    invocation = only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, subsegments=[late, early])]))
    assert invocation.overhead_ms == pytest.approx(250.0)  # 12.0 -> 12.25


def test_calls_are_found_at_any_depth_but_not_inside_another_call() -> None:
    inner = sdk_call("c000000000000002", "S3", "GetObject", 10.3, 10.4)
    outer = sdk_call("c000000000000001", "Lambda", "Invoke", 10.2, 10.6, function_name="other")
    outer["subsegments"] = [inner]
    user = part("u000000000000001", "## handler", 10.1, 10.9, subsegments=[outer])
    remote = part("r000000000000001", "example.com", 10.05, 10.06, namespace="remote")
    invocation = only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, subsegments=[remote, user])]))
    assert [(c.service, c.operation, c.resource) for c in invocation.calls] == [("Lambda", "Invoke", "other")]


def test_sdk_name_variants_are_one_service_and_matching_ignores_case() -> None:
    calls = [
        sdk_call("c000000000000001", "dynamodb", "PutItem", 10.1, 10.2, table_name="items"),
        sdk_call("c000000000000002", "DynamoDB", "GetItem", 10.3, 10.4, table_name="items"),
    ]
    calls[1]["namespace"] = "AWS"
    invocation = only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, subsegments=calls)]))
    assert [(c.service, c.operation) for c in invocation.calls] == [
        ("DynamoDB", "PutItem"),
        ("DynamoDB", "GetItem"),
    ]


def test_inferred_segments_are_never_invocations_or_service_segments() -> None:
    inferred_function = function_segment("f000000000000002", 10.0, 11.0, inferred=True)
    inferred_lambda = segment(SERVICE_ID, "Lambda", 9.9, 11.1, origin="AWS::Lambda", inferred=True)
    function = function_segment(FUNCTION_ID, 10.0, 11.0, parent_id=SERVICE_ID)
    invocation = only(analyze([inferred_function, inferred_lambda, function]))
    assert invocation.attempts is None  # no (non-inferred) service segment matched
    assert invocation.dwell_ms is None


def test_async_invoke_dwell_attempts_and_s3_notification() -> None:
    # Uploader's PutObject ends at 99.5; the service segment starts at 100.0: notification 500 ms.
    put = sdk_call(
        "p000000000000001", "S3", "putobject", 99.2, 99.5, bucket_name="b"
    )  # operation in lower case
    uploader = segment("g000000000000001", "uploader", 99.0, 99.6, subsegments=[put])
    service = async_service(
        part("d000000000000001", "Dwell Time", 100.0, 100.125),
        part("t000000000000001", "Attempt #1", 100.125, 101.0),
        part("t000000000000002", "Attempt #2", 102.0, 103.0),
        parent="p000000000000001",
    )
    function = function_segment(FUNCTION_ID, 102.1, 102.9, parent_id="t000000000000002")
    invocation = only(analyze([uploader, service, function]))
    assert invocation.dwell_ms == pytest.approx(125.0)  # 100.0 -> 100.125
    assert invocation.attempts == 2
    assert invocation.s3_notification_ms == pytest.approx(500.0)  # 100.0 - 99.5


def test_dwell_in_progress_ends_at_the_first_attempt_and_makes_the_invocation_incomplete() -> None:
    service = async_service(
        part("t000000000000002", "Attempt #2", 100.5, 101.0),
        part("t000000000000001", "Attempt #1", 100.25, 100.4),
        part("d000000000000001", "Dwell Time", 100.0, None),
    )
    function = function_segment(FUNCTION_ID, 100.6, 100.9, parent_id="t000000000000002")
    invocation = only(analyze([service, function]))
    assert invocation.dwell_ms == pytest.approx(250.0)  # 100.0 -> first attempt start 100.25
    assert invocation.complete is False


def test_dwell_in_progress_without_attempts_is_unknown() -> None:
    service = async_service(part("d000000000000001", "Dwell Time", 100.0, None))
    function = function_segment(FUNCTION_ID, 100.6, 100.9, parent_id=SERVICE_ID)
    invocation = only(analyze([service, function]))
    assert (invocation.dwell_ms, invocation.attempts) == (None, 0)


def test_sync_invoke_and_missing_service_segment() -> None:
    service = segment(SERVICE_ID, "fn", 9.0, 12.0, origin="AWS::Lambda", http={"response": {"status": 200}})
    sync = only(analyze([service, function_segment(FUNCTION_ID, 10.0, 11.0, parent_id=SERVICE_ID)]))
    assert (sync.dwell_ms, sync.attempts, sync.s3_notification_ms) == (None, 0, None)
    orphan = only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, parent_id="ffffffffffffffff")]))
    assert (orphan.dwell_ms, orphan.attempts, orphan.s3_notification_ms) == (None, None, None)


def test_cold_start_from_initialization_or_restore() -> None:
    for phase in ("Initialization", "Restore"):
        init = part("n000000000000001", phase, 9.5, 9.75)
        invocation = only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, subsegments=[init])]))
        assert invocation.cold_start is True
        assert invocation.init_ms == pytest.approx(250.0)  # 9.5 -> 9.75


def test_invocation_in_progress_has_no_duration_and_no_fallback() -> None:
    phase = part("i000000000000001", "Invocation", 10.0, None)
    invocation = only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, subsegments=[phase])]))
    assert invocation.invocation_ms is None
    assert invocation.complete is False


def test_function_error_from_the_segment_or_its_invocation() -> None:
    faulty = part("i000000000000001", "Invocation", 10.0, 10.5, fault=True)
    assert only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, subsegments=[faulty])])).function_error
    assert only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, error=True)])).function_error
    assert not only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, error="yes")])).function_error


def test_call_flags_and_in_progress_call() -> None:
    throttled = sdk_call("c000000000000001", "DynamoDB", "PutItem", 10.1, 10.2, table_name="t")
    throttled.update(error=True, throttle=True)
    running = sdk_call("c000000000000002", "DynamoDB", "PutItem", 10.3, None, table_name="t")
    invocation = only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, subsegments=[running, throttled])]))
    first, second = invocation.calls
    assert (first.error, first.fault, first.throttle) == (True, False, True)
    assert second.duration_ms is None
    assert invocation.complete is False


def test_subsegment_sent_as_its_own_document_is_attached() -> None:
    function = function_segment(FUNCTION_ID, 10.0, 11.0)
    standalone = sdk_call("c000000000000001", "SQS", "SendMessage", 10.2, 10.3, queue_url="https://q")
    standalone.update(type="subsegment", parent_id=FUNCTION_ID, trace_id=TRACE_ID)
    invocation = only(analyze([standalone, function]))
    assert [(c.service, c.resource) for c in invocation.calls] == [("SQS", "https://q")]


def test_a_repeated_subsegment_id_counts_once() -> None:
    call = sdk_call("c000000000000001", "S3", "GetObject", 10.2, 10.3)
    invocation = only(analyze([function_segment(FUNCTION_ID, 10.0, 11.0, subsegments=[call, dict(call)])]))
    assert len(invocation.calls) == 1


def test_cyclic_parent_ids_do_not_loop() -> None:
    # The function follows the service segment's Attempt, the service segment follows the function's call.
    call = sdk_call("c000000000000001", "S3", "PutObject", 100.2, 100.3)
    service = async_service(part("t000000000000001", "Attempt #1", 100.1, 100.9), parent="c000000000000001")
    function = function_segment(FUNCTION_ID, 100.15, 100.8, parent_id="t000000000000001", subsegments=[call])
    looping = function_segment("f000000000000002", 1.0, 2.0, name="self", parent_id="f000000000000002")
    result = analyze([service, function, looping])
    assert len(result.invocations) == 2
    invocation = next(i for i in result.invocations if i.function == "fn")
    assert invocation.attempts == 1
    # Service start 100.0 - PutObject end 100.3: nonsense from a loop, but measured faithfully.
    assert invocation.s3_notification_ms == pytest.approx(-300.0)


def test_several_functions_in_one_trace_in_start_order() -> None:
    second = function_segment("f000000000000002", 20.0, 21.0, name="second")
    first = function_segment(FUNCTION_ID, 10.0, 11.0, name="first")
    result = analyze([second, first])
    assert [i.function for i in result.invocations] == ["first", "second"]


@pytest.mark.parametrize("bad_time", [1e308, -1e308, 10**400, -5.0, "10.0", None, True])
def test_huge_negative_or_mistyped_times_give_finite_numbers_or_none(bad_time: object) -> None:
    function = function_segment(FUNCTION_ID, 10.0, 11.0)
    function["end_time"] = bad_time
    invocation = only(analyze([function]))
    value = invocation.invocation_ms
    assert value is None or math.isfinite(value)


def test_durations_too_long_for_a_float_are_unknown() -> None:
    # 1e306 s is a finite time, but in milliseconds it overflows to infinity: no duration, not infinity.
    call = sdk_call("c000000000000001", "S3", "GetObject", 0.0, 1e306)
    invocation = only(analyze([function_segment(FUNCTION_ID, 0.0, 1e306, subsegments=[call])]))
    assert invocation.invocation_ms is None
    assert invocation.calls[0].duration_ms is None
