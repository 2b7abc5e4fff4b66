"""The traffic plan of one run: when each object is due, its key, size and content type.

Arrivals are an open model: planned times do not depend on how fast earlier PUTs complete.

- `burst`: every object is due at the start.
- `uniform`: evenly spaced, `span / count` apart, the first at the start.
- `poisson`: a Poisson process of rate `count / span` conditioned on exactly `count` arrivals in the span,
  i.e. sorted independent uniform times; the gaps are exponential with mean about `span / count`.
"""

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from common.errors import UserError
from common.variants import DEFAULT_VARIANTS, PipelineVariant, spread, variant_prefix
from generator.payloads import PayloadMix, extension_for

MAX_COUNT = 100_000


class Arrival(StrEnum):
    BURST = "burst"
    UNIFORM = "uniform"
    POISSON = "poisson"


def parse_arrival(text: str) -> Arrival:
    try:
        return Arrival(text.strip().lower())
    except ValueError:
        choices = ", ".join(a.value for a in Arrival)
        raise UserError(f"unknown arrival pattern {text!r}; choose one of {choices}") from None


@dataclass(frozen=True, slots=True)
class PlannedObject:
    sequence: int
    planned_at: float  # epoch seconds, millisecond resolution
    key: str
    size: int
    content_type: str
    variant: PipelineVariant = PipelineVariant.POWERTOOLS  # the pipeline twin whose prefix the key is under


@dataclass(frozen=True, slots=True)
class RunPlan:
    run_id: str
    bucket: str
    prefix: str
    seed: int
    arrival: Arrival
    span: float
    started_at: float
    objects: tuple[PlannedObject, ...]


def arrival_offsets(arrival: Arrival, count: int, span: float, rng: random.Random) -> list[float]:
    """`count` sorted offsets in seconds from the start, each in [0, span) (all 0 for a burst)."""
    if count < 0 or span < 0:
        raise ValueError("count and span must not be negative")
    if arrival is Arrival.BURST or span == 0:
        return [0.0] * count
    if arrival is Arrival.UNIFORM:
        return [_ms_floor(i * span / count) for i in range(count)]
    return sorted(_ms_floor(rng.random() * span) for _ in range(count))


def expected_last_arrival(arrival: Arrival, count: int, span: float) -> float:
    """Seconds from the start to the run's last planned object, on average: a run ends there (plus its
    last PUT and the flush), not at the end of the span, and Lambda bills it for that long."""
    if count < 1 or arrival is Arrival.BURST or span == 0:
        return 0.0
    if arrival is Arrival.UNIFORM:
        return span * (count - 1) / count
    return span * count / (count + 1)  # the largest of `count` uniform times in [0, span)


def _ms_floor(seconds: float) -> float:
    return math.floor(seconds * 1000) / 1000


def normalize_prefix(prefix: str) -> str:
    """`synthetic` -> `synthetic/`; the empty prefix stays empty; no leading slash."""
    if prefix.startswith("/"):
        raise UserError(f"prefix {prefix!r} must not start with '/'")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def new_run_id(started_at: float, rng: random.Random | None = None) -> str:
    """`20261125T123500Z-1a2b3c`: sortable by time, unique enough for concurrent runs."""
    stamp = datetime.fromtimestamp(started_at, UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = (rng or random.SystemRandom()).getrandbits(24)
    return f"{stamp}-{suffix:06x}"


def object_key(prefix: str, run_id: str, sequence: int, started_at: float, content_type: str) -> str:
    """`<prefix><2-hex shard>/<YYYY-MM-DD>/<run id>/<sequence><ext>`; `prefix` is a variant's.

    The hash shard right after the prefix spreads keys over 256 key ranges (S3 partitions by prefix);
    date, run and sequence keep the rest low-cardinality and easy to list by hand.
    """
    shard = hashlib.sha256(f"{run_id}/{sequence}".encode()).hexdigest()[:2]
    day = datetime.fromtimestamp(started_at, UTC).strftime("%Y-%m-%d")
    return f"{prefix}{shard}/{day}/{run_id}/{sequence:06d}{extension_for(content_type)}"


def build_plan(
    *,
    run_id: str,
    bucket: str,
    prefix: str,
    count: int,
    span: float,
    arrival: Arrival,
    mix: PayloadMix,
    seed: int,
    started_at: float,
    variants: Sequence[PipelineVariant] = DEFAULT_VARIANTS,
) -> RunPlan:
    """The whole run, decided up front from the seed: same seed and settings, same offsets and mix.

    The objects go to the variants in turn, each under its variant's prefix below `prefix`.
    """
    if not 1 <= count <= MAX_COUNT:
        raise UserError(f"count must be between 1 and {MAX_COUNT}, got {count}")
    if not 0 <= span < math.inf:
        raise UserError(f"span must be zero or more seconds, got {span}")
    prefix = normalize_prefix(prefix)
    rng = random.Random(seed)
    offsets = arrival_offsets(arrival, count, span, rng)
    start = _ms_floor(started_at)
    objects = []
    for sequence, (offset, variant) in enumerate(zip(offsets, spread(count, variants), strict=True)):
        payload = mix.choose(rng)
        key_prefix = variant_prefix(prefix, variant)
        objects.append(
            PlannedObject(
                sequence=sequence,
                planned_at=round(start + offset, 3),
                key=object_key(key_prefix, run_id, sequence, start, payload.content_type),
                size=payload.size,
                content_type=payload.content_type,
                variant=variant,
            )
        )
    return RunPlan(
        run_id=run_id,
        bucket=bucket,
        prefix=prefix,
        seed=seed,
        arrival=arrival,
        span=span,
        started_at=start,
        objects=tuple(objects),
    )


def derive_seed(base: int | None, salt: str) -> int:
    """The seed of one scheduled run: reproducible from (base, salt) when a base is set, random otherwise.

    A fixed base seed with the schedule's event time as salt gives every run its own traffic, and the
    same traffic again when that event is replayed.
    """
    if base is None:
        return random.SystemRandom().getrandbits(63)
    return int.from_bytes(hashlib.sha256(f"{base}/{salt}".encode()).digest()[:8], "big") >> 1
