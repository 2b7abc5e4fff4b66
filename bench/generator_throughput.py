"""Generator benchmark against a local moto server: sustained objects/s by worker count, and schedule lag.

    .venv/bin/python -m bench.generator_throughput [--objects 400] [--seconds 10]

The moto server runs in a child process (its own interpreter and GIL) on 127.0.0.1; the generator uses
its real adapters (S3 PutObject with SHA-256 checksums and the per-object header, segments through
PutTraceSegments). Prints a markdown section for BENCHMARKS.md. Numbers measure this machine and moto,
not S3: read them as the generator's own overhead and the schedule's faithfulness under load.
"""

import argparse
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event

import boto3

from demo.moto_server import LOCAL_ENVIRONMENT, moto_server
from generator.aws import s3_client, xray_client
from generator.manifest import ManifestRecord, Outcome
from generator.payloads import parse_mix
from generator.plan import Arrival, build_plan
from generator.runner import execute
from generator.sinks import XRayApiSink
from generator.summary import percentile, put_latencies, schedule_lags
from generator.uploader import S3ObjectStore

BUCKET = "tracecanary-bench"
MIX = "1KiB:1:application/json"


def _serve(conn: Connection, stop: Event) -> None:
    with moto_server() as server:
        conn.send(server.endpoint_url)
        stop.wait(timeout=900)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_once(
    *, count: int, span: float, arrival: Arrival, workers: int, seed: int
) -> tuple[list[ManifestRecord], float]:
    session = boto3.session.Session()
    store = S3ObjectStore(s3_client(session, workers))
    sink = XRayApiSink(xray_client(session))
    plan = build_plan(
        run_id=f"bench-{workers}-{seed}",
        bucket=BUCKET,
        prefix="synthetic/",
        count=count,
        span=span,
        arrival=arrival,
        mix=parse_mix(MIX),
        seed=seed,
        started_at=time.time() + 0.2,
    )
    records = execute(plan, store=store, sink=sink, workers=workers, deadline=plan.started_at + span + 60)
    sink.flush()
    started = [r.started_at for r in records if r.started_at is not None]
    finished = [r.started_at + r.put_ms / 1000 for r in records if r.started_at is not None and r.put_ms]
    elapsed = max(finished) - min(started) if started and finished else float("nan")
    return records, elapsed


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _outcomes(records: Sequence[ManifestRecord]) -> str:
    failed = sum(1 for r in records if r.outcome is Outcome.FAILED)
    dropped = sum(1 for r in records if r.outcome is Outcome.DROPPED)
    return f"{failed}/{dropped}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=400, help="objects per throughput run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each schedule-lag run")
    parser.add_argument("--workers", default="1,4,16,32", help="worker counts for the throughput runs")
    args = parser.parse_args(argv)
    worker_counts = [int(w) for w in args.workers.split(",")]

    receive, send = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(send, stop), daemon=True)
    server.start()
    try:
        if not receive.poll(60):
            raise SystemExit("the moto server did not start")
        endpoint = receive.recv()
        os.environ.update({**LOCAL_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint})
        boto3.client("s3").create_bucket(Bucket=BUCKET)

        lines = [
            "## Generator (`bench/generator_throughput.py`)",
            "",
            f"Machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()} "
            f"on {platform.system()} {platform.machine()}; moto server in a child process on 127.0.0.1.",
            f"Objects: `{MIX}` (1 KiB JSON), SHA-256 checksums, "
            "segments through PutTraceSegments (50 a call).",
            "",
            f"### Sustained throughput ({args.objects} objects, burst arrival)",
            "",
            "| workers | objects/s | PutObject p50 ms | PutObject p99 ms | failed/dropped |",
            "|---:|---:|---:|---:|---|",
        ]
        for seed, workers in enumerate(worker_counts):
            records, elapsed = run_once(
                count=args.objects, span=0, arrival=Arrival.BURST, workers=workers, seed=seed
            )
            sent = sum(1 for r in records if r.outcome is Outcome.SENT)
            puts = put_latencies(records)
            lines.append(
                f"| {workers} | {sent / elapsed:.0f} | {_ms(percentile(puts, 50))} | "
                f"{_ms(percentile(puts, 99))} | {_outcomes(records)} |"
            )
            print(f"throughput, {workers} workers: done", file=sys.stderr)
        lines += [
            "",
            f"### Schedule lag (Poisson arrivals, {args.seconds:g} s, 16 workers)",
            "",
            "| rate /s | objects | lag p50 ms | lag p99 ms | lag max ms | PutObject p99 ms "
            "| failed/dropped |",
            "|---:|---:|---:|---:|---:|---:|---|",
        ]
        for seed, rate in enumerate((20, 100), start=100):
            count = round(rate * args.seconds)
            records, _ = run_once(
                count=count, span=args.seconds, arrival=Arrival.POISSON, workers=16, seed=seed
            )
            lags = schedule_lags(records)
            lines.append(
                f"| {rate} | {count} | {_ms(percentile(lags, 50))} | {_ms(percentile(lags, 99))} | "
                f"{_ms(max(lags, default=None))} | {_ms(percentile(put_latencies(records), 99))} | "
                f"{_outcomes(records)} |"
            )
            print(f"lag at {rate}/s: done", file=sys.stderr)
        print("\n".join(lines))
    finally:
        stop.set()
        server.join(timeout=30)
        if server.is_alive():
            server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
