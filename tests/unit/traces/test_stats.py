"""Distributions: nearest-rank percentiles, per function and per downstream call."""

import pytest

from tests.unit.traces.helpers import function_segment, part, sdk_call
from traces.analysis import analyze
from traces.invocations import Invocation
from traces.stats import distribution, per_call, per_function, percentile, values_by_function


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted on purpose
    summary = distribution(values)
    # Nearest rank: the ceil(p/100 * 100)-th smallest value.
    assert (summary.count, summary.p50, summary.p90, summary.p99, summary.max) == (
        100,
        50.0,
        90.0,
        99.0,
        100.0,
    )
    assert percentile([7.0], 50) == 7.0
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0  # ceil(1.5) = 2nd
    assert percentile([], 99) is None


def test_missing_values_are_left_out() -> None:
    summary = distribution([None, 3.0, None, 1.0])
    assert (summary.count, summary.p50, summary.max) == (2, 1.0, 3.0)
    empty = distribution([None])
    assert (empty.count, empty.p50, empty.p99, empty.max) == (0, None, None, None)


def invocations_of_two_functions() -> list[Invocation]:
    cold = part("n000000000000001", "Initialization", 9.0, 9.5)
    put = sdk_call("c000000000000001", "DynamoDB", "PutItem", 10.1, 10.2, table_name="t")
    get = sdk_call("c000000000000002", "dynamodb", "GetItem", 20.1, 20.4, table_name="t")
    throttled = sdk_call("c000000000000003", "DynamoDB", "PutItem", 20.5, 20.9, table_name="t")
    throttled.update(error=True, throttle=True)
    documents = [
        function_segment("f000000000000001", 10.0, 11.0, name="a", subsegments=[cold, put]),
        function_segment("f000000000000002", 20.0, 21.0, name="a", subsegments=[get, throttled], error=True),
        function_segment("f000000000000003", 30.0, 30.5, name="b"),
    ]
    return list(analyze(documents).invocations)


def test_per_function() -> None:
    stats = per_function(invocations_of_two_functions())
    assert list(stats) == ["a", "b"]
    a = stats["a"]
    assert (a.invocations, a.cold_starts, a.function_errors, a.incomplete) == (2, 1, 1, 0)
    assert a.durations["init_ms"].count == 1
    assert a.durations["invocation_ms"].max == pytest.approx(1000.0)  # both 1 s long
    assert stats["b"].durations["invocation_ms"].p50 == pytest.approx(500.0)  # 30.0 -> 30.5


def test_per_call_by_downstream_and_by_function() -> None:
    invocations = invocations_of_two_functions()
    calls = per_call(invocations)
    assert list(calls) == [("DynamoDB", "GetItem"), ("DynamoDB", "PutItem")]
    put = calls[("DynamoDB", "PutItem")]
    assert (put.calls, put.errors, put.throttles, put.faults) == (2, 1, 1, 0)
    # PutItem durations: 100 ms (10.1 -> 10.2) and 400 ms (20.5 -> 20.9).
    assert (put.duration.p50, put.duration.max) == (pytest.approx(100.0), pytest.approx(400.0))
    assert list(per_call(invocations, by_function=True)) == [
        ("a", "DynamoDB", "GetItem"),
        ("a", "DynamoDB", "PutItem"),
    ]


def test_raw_values_per_function() -> None:
    values = values_by_function(invocations_of_two_functions(), "invocation_ms")
    assert values == {"a": [pytest.approx(1000.0), pytest.approx(1000.0)], "b": [pytest.approx(500.0)]}
