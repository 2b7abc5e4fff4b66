import itertools
import random
import re
import statistics
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import UserError
from common.variants import DEFAULT_VARIANTS, PipelineVariant, variant_of_key
from generator.payloads import parse_mix
from generator.plan import (
    Arrival,
    arrival_offsets,
    build_plan,
    derive_seed,
    expected_last_arrival,
    new_run_id,
    normalize_prefix,
    parse_arrival,
)

MIX = parse_mix("1KiB:70:application/json,64KiB:25:text/plain,1MiB:5")
START = 1_795_600_000.25
KEY = re.compile(r"^synthetic/powertools/[0-9a-f]{2}/2026-11-25/run-1/\d{6}\.(json|txt|bin)$")


def plan(  # type: ignore[no-untyped-def]
    count: int, span: float, arrival: Arrival, seed: int = 7, variants=DEFAULT_VARIANTS
):
    return build_plan(
        run_id="run-1",
        bucket="bucket",
        prefix="synthetic/",
        count=count,
        span=span,
        arrival=arrival,
        mix=MIX,
        seed=seed,
        started_at=START,
        variants=variants,
    )


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=400),
    span=st.floats(min_value=0, max_value=900, allow_nan=False),
    arrival=st.sampled_from(list(Arrival)),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_plans_have_exact_counts_and_every_time_inside_the_span(
    count: int, span: float, arrival: Arrival, seed: int
) -> None:
    result = plan(count, span, arrival, seed)
    assert len(result.objects) == count
    assert [o.sequence for o in result.objects] == list(range(count))
    times = [o.planned_at for o in result.objects]
    assert times == sorted(times)
    assert all(result.started_at <= t <= result.started_at + span for t in times)
    assert all(t < result.started_at + span for t in times) or span < 0.001 or arrival is Arrival.BURST
    keys = [o.key for o in result.objects]
    assert len(set(keys)) == count
    assert all(KEY.match(k) for k in keys)


@given(seed=st.integers(min_value=0, max_value=2**32))
def test_the_same_seed_gives_the_same_plan(seed: int) -> None:
    assert plan(50, 60, Arrival.POISSON, seed) == plan(50, 60, Arrival.POISSON, seed)


def test_burst_is_all_at_the_start() -> None:
    assert {o.planned_at for o in plan(20, 60, Arrival.BURST).objects} == {round(START, 3)}


def test_uniform_is_evenly_spaced() -> None:
    times = [o.planned_at for o in plan(10, 5, Arrival.UNIFORM).objects]
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)] == [0.5] * 9


def test_poisson_gaps_have_the_right_mean_and_are_exponential_for_a_fixed_seed() -> None:
    count, span = 5000, 1000.0
    offsets = arrival_offsets(Arrival.POISSON, count, span, random.Random(7))
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    mean = statistics.fmean(gaps)
    assert mean == pytest.approx(span / count, rel=0.03)
    # exponential gaps: standard deviation equals the mean (uniform spacing would have none)
    assert statistics.pstdev(gaps) / mean == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("arrival", list(Arrival))
def test_the_expected_last_arrival_is_where_plans_end_on_average(arrival: Arrival) -> None:
    # A run ends at its last arrival, not at the end of its span: that is the time Lambda bills.
    count, span = 10, 20.0
    last = [arrival_offsets(arrival, count, span, random.Random(seed))[-1] for seed in range(4000)]
    assert statistics.fmean(last) == pytest.approx(expected_last_arrival(arrival, count, span), abs=0.15)
    assert expected_last_arrival(arrival, count, 0.0) == 0.0


def test_keys_spread_over_many_shards() -> None:
    shards = {o.key.split("/")[2] for o in plan(2000, 10, Arrival.UNIFORM).objects}
    assert len(shards) > 200


BOTH = (PipelineVariant.POWERTOOLS, PipelineVariant.OPENTELEMETRY)


@given(count=st.integers(min_value=1, max_value=300), seed=st.integers(min_value=0, max_value=2**32))
def test_a_run_is_spread_evenly_over_the_twins_each_under_its_own_prefix(count: int, seed: int) -> None:
    result = plan(count, 30, Arrival.POISSON, seed, variants=BOTH)
    per_variant = Counter(o.variant for o in result.objects)
    assert set(per_variant) == (set(BOTH) if count > 1 else {PipelineVariant.POWERTOOLS})
    assert max(per_variant.values()) - min(per_variant.values()) <= 1
    for o in result.objects:
        assert o.key.startswith(f"synthetic/{o.variant.value}/")
        assert variant_of_key(o.key, "synthetic/") is o.variant


def test_the_twins_do_not_change_the_traffic_only_where_it_goes() -> None:
    alone, twinned = plan(40, 30, Arrival.POISSON, 3), plan(40, 30, Arrival.POISSON, 3, variants=BOTH)
    assert [(o.planned_at, o.size, o.content_type) for o in alone.objects] == [
        (o.planned_at, o.size, o.content_type) for o in twinned.objects
    ]
    # neighbours in time go to different twins, so neither gets the run's start or its end only
    assert [o.variant for o in twinned.objects[:4]] == [*BOTH, *BOTH]


@pytest.mark.parametrize(("count", "span"), [(0, 10), (-1, 10), (100_001, 10), (5, -1)])
def test_bad_counts_and_spans_are_user_errors(count: int, span: float) -> None:
    with pytest.raises(UserError):
        plan(count, span, Arrival.UNIFORM)


def test_arrival_names() -> None:
    assert parse_arrival(" Poisson ") is Arrival.POISSON
    with pytest.raises(UserError, match="burst, uniform, poisson"):
        parse_arrival("gaussian")


def test_prefixes() -> None:
    assert normalize_prefix("synthetic") == "synthetic/"
    assert normalize_prefix("") == ""
    with pytest.raises(UserError):
        normalize_prefix("/abs")


def test_run_ids_sort_by_time() -> None:
    assert re.match(r"^20261125T\d{6}Z-[0-9a-f]{6}$", new_run_id(START))
    assert new_run_id(START) < new_run_id(START + 3600)


def test_seeds_per_scheduled_run() -> None:
    assert derive_seed(7, "2026-11-25T12:00:00Z") == derive_seed(7, "2026-11-25T12:00:00Z")
    assert derive_seed(7, "2026-11-25T12:00:00Z") != derive_seed(7, "2026-11-25T12:01:00Z")
    assert 0 <= derive_seed(None, "x") < 2**63
