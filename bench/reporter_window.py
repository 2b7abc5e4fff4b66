"""Benchmark: one reporter run over a window of N synthetic transactions against a moto server.

The moto server runs in its own process, so the reporter's wall time and peak memory are its own. The
baseline, measured in the same run, is the I/O floor of the same window: reading the manifest, fetching
the same traces with the same source and looking up the same items, with no analysis and no EMF.

    python -m bench.reporter_window [--transactions 5000]
"""

import argparse
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WINDOW_START = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
RUN_AT = datetime(2026, 11, 25, 12, 14, tzinfo=UTC)
STACK = "bench"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def local_environment(endpoint: str) -> dict[str, str]:
    from demo.moto_server import LOCAL_ENVIRONMENT

    return {**LOCAL_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint, "POWERTOOLS_TRACE_DISABLED": "true"}


def seed(transactions: int) -> dict[str, str]:
    """Manifest, traces and items for one window; every 50th object was not written (lost)."""
    import boto3

    from demo.local_stack import create_local_stack
    from generator.manifest import DynamoDbManifest
    from tests.unit.reporter.traces import transaction

    stack = create_local_stack(STACK)
    dynamodb = boto3.client("dynamodb")
    xray = boto3.client("xray")
    records, documents = [], []
    items: list[Any] = []
    spacing = 290 / transactions
    for index in range(transactions):
        record, segments = transaction(
            WINDOW_START.timestamp() + 5 + index * spacing, f"synthetic/{index:06d}"
        )
        records.append(record)
        documents += [json.dumps(segment) for segment in segments]
        if index % 50:
            items.append(
                {"PutRequest": {"Item": {"itemID": {"S": record.key}, "traceId": {"S": record.trace_id}}}}
            )
    DynamoDbManifest(dynamodb, stack.tables["ManifestTable"]).write(records)
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(RequestItems={stack.items_table: items[start : start + 25]})
    for start in range(0, len(documents), 50):
        xray.put_trace_segments(TraceSegmentDocuments=documents[start : start + 50])
    return {
        "manifest": stack.tables["ManifestTable"],
        "items": stack.items_table,
        "state": stack.tables["ReporterStateTable"],
    }


def child(mode: str, tables: dict[str, str]) -> dict[str, Any]:
    """Run in a fresh process: the full reporter run, or the I/O floor of the same window."""
    import boto3

    from generator.manifest import DynamoDbManifest
    from reporter.checkpoints import DynamoDbCheckpointStore
    from reporter.items_lookup import DynamoDbItemLookup
    from reporter.runner import NullLog, Reporter, ReporterConfig
    from reporter.windows import Window
    from traces.sources.xray import XRayTraceSource

    dynamodb = boto3.client("dynamodb")
    dynamodb_calls = 0

    def count(**_: Any) -> None:
        nonlocal dynamodb_calls
        dynamodb_calls += 1

    dynamodb.meta.events.register("before-call.dynamodb", count)
    manifest = DynamoDbManifest(dynamodb, tables["manifest"])
    traces = XRayTraceSource(max_workers=4)
    items = DynamoDbItemLookup(dynamodb, tables["items"])
    emitted: list[dict[str, Any]] = []
    started = time.perf_counter()
    if mode == "floor":
        window = Window(WINDOW_START, WINDOW_START + timedelta(minutes=5))
        records = manifest.read_window(window.start.timestamp(), window.end.timestamp())
        batch = traces.get_traces(record.trace_id for record in records)
        found = items.find(record.key for record in records)
        transactions, complete = len(records), len(found)
        assert len(batch.traces) == len(records)
    else:
        reporter = Reporter(
            ReporterConfig(STACK, "TraceCanary", timedelta(minutes=5), timedelta(minutes=3)),
            manifest=manifest,
            traces=traces,
            items=items,
            checkpoints=DynamoDbCheckpointStore(dynamodb, tables["state"], f"{STACK}-{time.time_ns()}"),
            log=NullLog(),
            emit=emitted.append,
        )
        [report] = reporter.run(RUN_AT).reports
        transactions = report.reconciliation.figures.generated
        complete = report.reconciliation.figures.complete
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "transactions": transactions,
        "complete": complete,
        "xray_calls": traces.stats.api_calls,
        "traces_retrieved": traces.stats.traces_retrieved,
        "dynamodb_calls": dynamodb_calls,
        "emf_lines": len(emitted),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(mode: str, tables: dict[str, str], environment: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.reporter_window", "--child", mode, "--tables", json.dumps(tables)]
    output = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **environment}, capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, Any] = json.loads(output.splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reporter_window")
    parser.add_argument("--transactions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--xray-tps", type=float, default=5.0, help="assumed BatchGetTraces requests/s on AWS"
    )
    parser.add_argument("--child", choices=["reporter", "floor"])
    parser.add_argument("--tables")
    args = parser.parse_args(argv)
    if args.child:
        sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
        print(json.dumps(child(args.child, json.loads(args.tables))))
        return 0

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        environment = local_environment(endpoint)
        os.environ.update(environment)
        seeding = time.perf_counter()
        tables = seed(args.transactions)
        seeded = time.perf_counter() - seeding
        reporter_runs, floor_runs = [], []
        for _ in range(args.runs):  # alternating, so a drift of the server affects both alike
            reporter_runs.append(run_child("reporter", tables, environment))
            floor_runs.append(run_child("floor", tables, environment))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(report(args, seeded, reporter_runs, floor_runs))
    return 0


def _wait_for(port: int) -> None:
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto server did not start")


def report(
    args: argparse.Namespace, seeded: float, runs: list[dict[str, Any]], floors: list[dict[str, Any]]
) -> str:
    wall = statistics.median(run["wall_s"] for run in runs)
    floor = statistics.median(run["wall_s"] for run in floors)
    first = runs[0]
    n = first["transactions"]
    xray_calls = first["xray_calls"]
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    retrieval_cost = n * 0.50 / 1_000_000
    return "\n".join(
        [
            "## Reporter: one window of synthetic transactions",
            "",
            f"Run: `python -m bench.reporter_window --transactions {args.transactions} --runs {args.runs}` "
            f"on {datetime.now(UTC):%Y-%m-%d}; {os.cpu_count()} cores, {cpu}; "
            f"Python {platform.python_version()}.",
            f"moto server in its own process on 127.0.0.1; the window seeded in {seeded:.1f} s "
            "(manifest, items with every 50th missing, 3 segment documents per trace via PutTraceSegments).",
            "Each run is a fresh process, the two kinds alternating; median of the runs. Baseline (same "
            "run): the I/O floor of the same window, reading the manifest, fetching the same traces and "
            "looking up the same items, no analysis and no EMF.",
            "",
            "| | wall s (median) | transactions/s | X-Ray calls | DynamoDB calls | peak RSS MiB |",
            "|---|---:|---:|---:|---:|---:|",
            f"| reporter run | {wall:.2f} | {n / wall:,.0f} | {xray_calls} | {first['dynamodb_calls']} | "
            f"{first['max_rss_mib']:.0f} |",
            f"| I/O floor | {floor:.2f} | {n / floor:,.0f} | {floors[0]['xray_calls']} | "
            f"{floors[0]['dynamodb_calls']} | {floors[0]['max_rss_mib']:.0f} |",
            "",
            f"- reporter / floor: **{wall / floor:.2f}x** wall time; {first['complete']} of {n} complete "
            f"(every 50th item missing by design); {first['emf_lines']} EMF lines.",
            f"- API calls per transaction: X-Ray {xray_calls / n:.3f} (5 ids per BatchGetTraces), "
            f"DynamoDB {first['dynamodb_calls'] / n:.3f} "
            "(100 keys per BatchGetItem, one Query page per 1 MB).",
            f"- On AWS: {n:,} traces retrieved cost ${retrieval_cost:.4f} a window "
            f"(${retrieval_cost * 8640:.2f} a month at one such window every 5 minutes, before the 1M free "
            "retrievals). The request rate X-Ray allows for BatchGetTraces is an account quota this "
            f"benchmark cannot measure; at an assumed {args.xray_tps:g} requests/s the "
            f"{xray_calls} calls take at least {xray_calls / args.xray_tps:.0f} s, within a 300 s function "
            "timeout; beyond that, shorten the window or raise the concurrency only as far as throttling "
            "allows (throttles are retried with backoff and counted).",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
