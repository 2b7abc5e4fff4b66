"""`tracecanary generate`: send traced synthetic objects to a bucket from anywhere (laptop, CI, moto).

Uses the normal AWS credential chain and honours AWS_ENDPOINT_URL. Every option is checked here so a bad
value is one clear line (exit 2), never a traceback.
"""

import argparse
import math
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from common.errors import UserError
from common.variants import DEFAULT_VARIANTS, parse_variants
from generator.aws import dynamodb_client, make_sink, s3_client
from generator.manifest import (
    DEFAULT_TTL_DAYS,
    DynamoDbManifest,
    JsonLinesManifest,
    ManifestRecord,
    ManifestStore,
)
from generator.payloads import DEFAULT_MIX, parse_mix
from generator.plan import MAX_COUNT, Arrival, normalize_prefix, parse_arrival
from generator.runner import MAX_WORKERS
from generator.segments import DEFAULT_SEGMENT_NAME
from generator.service import RunResult, RunSettings, generate
from generator.summary import RunSummary
from generator.uploader import S3ObjectStore

DEFAULT_MANIFEST_FILE = "tracecanary-manifest.jsonl"
DEFAULT_RATE = 10.0  # objects per second when neither --span nor --rate is given
_FILE_SUFFIXES = (".jsonl", ".json", ".ndjson")


def default_session(region: str | None) -> boto3.session.Session:
    return boto3.session.Session(region_name=region)


# Tests replace this to observe the clients the command builds.
session_factory: Callable[[str | None], boto3.session.Session] = default_session


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "generate",
        help="upload synthetic objects, each starting its own X-Ray trace, and record them in a manifest",
        description=(
            "Upload COUNT synthetic objects to s3://BUCKET/PREFIX over a time span, each with a new "
            "X-Ray trace (PutObject header + the generator's root segment), and record every planned "
            "object in a manifest."
        ),
    )
    parser.add_argument("--bucket", help="target bucket (required)")
    parser.add_argument("--prefix", default="synthetic/", help="key prefix (default: synthetic/)")
    parser.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help="the pipeline twins deployed (the stack's PipelineVariants): objects go to each in turn, under "
        "PREFIX/<variant>/ (default: %(default)s)",
    )
    parser.add_argument("--count", help=f"number of objects to send (required, 1..{MAX_COUNT})")
    parser.add_argument("--span", metavar="SECONDS", help="spread the objects over this many seconds")
    parser.add_argument(
        "--rate", metavar="PER_SECOND", help=f"or: mean objects per second (default {DEFAULT_RATE:g})"
    )
    parser.add_argument("--arrival", default="poisson", help="burst, uniform or poisson (default: poisson)")
    parser.add_argument(
        "--sizes",
        default=DEFAULT_MIX,
        help=f"payload mix SIZE:WEIGHT[:CONTENT_TYPE],... (default: {DEFAULT_MIX})",
    )
    parser.add_argument("--seed", help="seed for arrivals, mix and content (default: random, printed)")
    parser.add_argument("--workers", default="16", help="concurrent uploads (default: 16)")
    parser.add_argument(
        "--grace", default="10", metavar="SECONDS", help="how late after the span an object may still start"
    )
    parser.add_argument(
        "--manifest",
        default=DEFAULT_MANIFEST_FILE,
        metavar="TABLE_OR_FILE",
        help=(
            "where to record the objects: a DynamoDB table name (or dynamodb:NAME), or a JSON-lines file "
            f"(file:PATH, or a path ending in .jsonl/.json); default: {DEFAULT_MANIFEST_FILE}"
        ),
    )
    parser.add_argument("--ttl-days", default=str(DEFAULT_TTL_DAYS), help="manifest table TTL in days")
    parser.add_argument(
        "--trace-ids", metavar="FILE", help="file for the trace ids (default: tracecanary-<run id>.trace-ids)"
    )
    parser.add_argument(
        "--xray",
        default="auto",
        help="where segments go: auto (daemon if AWS_XRAY_DAEMON_ADDRESS is set, else API), daemon, api, off",
    )
    parser.add_argument("--segment-name", default=DEFAULT_SEGMENT_NAME, help="name of the root segments")
    parser.add_argument("--region", help="AWS region (default: from the environment or profile)")
    parser.set_defaults(run=run)


def _number(
    name: str, text: str, *, minimum: float, maximum: float = math.inf, integer: bool = False
) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise UserError(f"--{name} must be {kind}, got {text!r}") from None
    if not minimum <= value <= maximum or math.isnan(value):
        upper = "" if maximum == math.inf else f" and at most {maximum:g}"
        raise UserError(f"--{name} must be at least {minimum:g}{upper}, got {text!r}")
    return value


def _span(args: argparse.Namespace, count: int, arrival: Arrival) -> float:
    if args.span is not None and args.rate is not None:
        raise UserError("give either --span or --rate, not both")
    if args.span is not None:
        return _number("span", args.span, minimum=0, maximum=86_400)
    if args.rate is not None:
        rate = _number("rate", args.rate, minimum=0.001)
        return count / rate
    return 0.0 if arrival is Arrival.BURST else count / DEFAULT_RATE


def parse_settings(args: argparse.Namespace) -> RunSettings:
    if not args.bucket:
        raise UserError("--bucket is required")
    if args.count is None:
        raise UserError("--count is required")
    count = int(_number("count", args.count, minimum=1, maximum=MAX_COUNT, integer=True))
    arrival = parse_arrival(args.arrival)
    seed = (
        int(_number("seed", args.seed, minimum=0, maximum=2**63 - 1, integer=True))
        if args.seed is not None
        else random.SystemRandom().getrandbits(31)
    )
    return RunSettings(
        bucket=args.bucket,
        prefix=normalize_prefix(args.prefix),
        count=count,
        span=_span(args, count, arrival),
        arrival=arrival,
        mix=parse_mix(args.sizes),
        seed=seed,
        workers=int(_number("workers", args.workers, minimum=1, maximum=MAX_WORKERS, integer=True)),
        grace=_number("grace", args.grace, minimum=0, maximum=3600),
        segment_name=args.segment_name,
        variants=parse_variants(args.variants, where="--variants"),
    )


def manifest_store(spec: str, session: boto3.session.Session, ttl_days: float) -> ManifestStore:
    """`dynamodb:NAME` or `file:PATH`; otherwise a path (has a slash or a .jsonl/.json suffix) or a table."""
    if spec.startswith("file:"):
        return JsonLinesManifest(Path(spec.removeprefix("file:")))
    if spec.startswith("dynamodb:"):
        return DynamoDbManifest(dynamodb_client(session), spec.removeprefix("dynamodb:"), ttl_days)
    if os.sep in spec or "/" in spec or spec.endswith(_FILE_SUFFIXES):
        return JsonLinesManifest(Path(spec))
    return DynamoDbManifest(dynamodb_client(session), spec, ttl_days)


def check_bucket(session: boto3.session.Session, bucket: str) -> None:
    try:
        session.client("s3").head_bucket(Bucket=bucket)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchBucket", "NotFound"}:
            raise UserError(f"bucket {bucket!r} does not exist") from None
        if code in {"403", "AccessDenied", "Forbidden"}:
            raise UserError(f"no access to bucket {bucket!r} with the current credentials") from None
        raise UserError(f"cannot use bucket {bucket!r}: {error}") from None


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self._total = total
        self._stream = stream
        self._enabled = stream.isatty()
        self._lock = threading.Lock()
        self._counts = {"sent": 0, "failed": 0, "dropped": 0}
        self._drawn_at = 0.0

    def update(self, record: ManifestRecord) -> None:
        if not self._enabled:
            return
        with self._lock:
            self._counts[record.outcome.value] += 1
            now = time.monotonic()
            if now - self._drawn_at >= 0.1 or sum(self._counts.values()) == self._total:
                self._drawn_at = now
                self._draw()

    def _draw(self) -> None:
        done = sum(self._counts.values())
        filled = self.WIDTH * done // max(self._total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        counts = " ".join(f"{name} {value}" for name, value in self._counts.items())
        self._stream.write(f"\r[{bar}] {done}/{self._total} {counts}")
        self._stream.flush()

    def close(self) -> None:
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def format_summary(
    result: RunResult, settings: RunSettings, manifest: ManifestStore, trace_ids: Path, sink_kind: str
) -> str:
    summary: RunSummary = result.summary
    plan = result.plan
    rate = f"{summary.planned / plan.span:.1f}/s" if plan.span else "burst"
    started = summary.sent + summary.failed
    per_variant = Counter(item.variant.value for item in plan.objects)
    variants = ", ".join(f"{name}/ {count}" for name, count in per_variant.items())  # {powertools/ 5, ...}
    return "\n".join(
        [
            f"run {plan.run_id}: {summary.planned} objects to s3://{plan.bucket}/{plan.prefix}{{{variants}}} "
            f"over {plan.span:.1f} s ({plan.arrival.value}, {rate}, seed {plan.seed}, "
            f"{settings.workers} workers)",
            f"sent {summary.sent} · failed {summary.failed} · dropped {summary.dropped}",
            f"PutObject latency p50 {_ms(summary.put_p50_ms)} · p99 {_ms(summary.put_p99_ms)}",
            f"schedule lag p50 {_ms(summary.lag_p50_ms)} · p99 {_ms(summary.lag_p99_ms)}",
            f"X-Ray ({sink_kind}): {summary.segments_sent} segments sent, "
            f"{summary.segments_rejected} rejected",
            f"manifest: {manifest.description} ({summary.planned} records)",
            f"trace ids: {trace_ids} ({started})",
        ]
    )


def run(args: argparse.Namespace) -> int:
    settings = parse_settings(args)
    ttl_days = _number("ttl-days", args.ttl_days, minimum=1, maximum=365)
    try:
        session = session_factory(args.region)
        manifest = manifest_store(args.manifest, session, ttl_days)
        sink = make_sink(args.xray, os.environ.get("AWS_XRAY_DAEMON_ADDRESS"), session)
        check_bucket(session, settings.bucket)
        manifest.verify()
        store = S3ObjectStore(s3_client(session, settings.workers))
    except NoCredentialsError:
        raise UserError("no AWS credentials found (environment, profile or instance role)") from None
    except NoRegionError:
        raise UserError("no AWS region configured: set AWS_REGION or use --region") from None
    except BotoCoreError as error:
        raise UserError(f"cannot reach AWS: {error}") from None
    progress = Progress(settings.count, sys.stderr)
    try:
        result = generate(settings, store=store, sink=sink, manifest=manifest, on_record=progress.update)
    except (ClientError, BotoCoreError) as error:
        raise UserError(f"run failed: {error}") from None
    finally:
        progress.close()
    trace_ids = Path(args.trace_ids or f"tracecanary-{result.plan.run_id}.trace-ids")
    started = [r.trace_id for r in result.records if r.started_at is not None]
    trace_ids.write_text("".join(f"{trace_id}\n" for trace_id in started), encoding="utf-8")
    print(format_summary(result, settings, manifest, trace_ids, sink.kind))
    return 0 if result.summary.failed == result.summary.dropped == 0 else 1
