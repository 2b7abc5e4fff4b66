"""The local demo: objects with awkward keys go through the real pipeline handler on a moto server."""

import contextlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import boto3

from demo.lambda_context import LocalLambdaContext
from demo.local_stack import LocalStack, create_local_stack
from demo.moto_server import moto_server
from demo.s3_notifications import receive_s3_events

DEMO_KEYS = (
    "demo/plain.json",
    "demo/hello world.txt",  # S3 sends the space as '+'
    "demo/a+b=c.json",  # and the plus as '%2B'
    "demo/été ✓/données.csv",
    "demo/100% sure.bin",
)


@dataclass(frozen=True)
class DemoResult:
    uploaded: int
    deliveries: int
    outcome: Counter[str]
    items: list[dict[str, Any]]


def run_pipeline_demo(output_dir: Path, out: TextIO) -> DemoResult:
    output_dir.mkdir(parents=True, exist_ok=True)
    log_path = output_dir / "pipeline.log"
    with moto_server() as aws, log_path.open("w") as handler_output:
        os.environ.update(aws.environment())
        os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"  # the local X-Ray daemon comes with the full demo
        stack = create_local_stack("tracecanary-demo")
        os.environ.update(stack.pipeline_environment())
        print(
            f"local AWS (moto) at {aws.endpoint_url}; stack {stack.stack_name} made from template.yaml",
            file=out,
        )

        keys = [stack.synthetic_prefix + key for key in DEMO_KEYS]
        s3 = boto3.client("s3")
        for index, key in enumerate(keys):
            s3.put_object(Bucket=stack.bucket, Key=key, Body=b"tracecanary " * (index + 1))
        s3.put_object(Bucket=stack.bucket, Key=keys[0], Body=b"a newer version")
        print(
            f"uploaded {len(keys) + 1} objects to s3://{stack.bucket}/{stack.synthetic_prefix}demo/", file=out
        )

        events = receive_s3_events(boto3.client("sqs"), stack.notifications_queue_url)
        # S3 delivers at least once and in no set order: the newer version of the overwritten key comes
        # first (so its older event arrives stale), and it comes twice, as a re-delivery would.
        deliveries = [events[-1], *events[:-1], events[-1]] if events else []
        outcome: Counter[str] = Counter()
        with contextlib.redirect_stdout(handler_output):
            from handlers.pipeline import lambda_handler

            for event in deliveries:
                context = LocalLambdaContext(function_name=f"{stack.stack_name}-pipeline")
                outcome.update(lambda_handler(event, context))
        print(
            f"delivered {len(deliveries)} S3 events to the pipeline handler, out of order and one twice",
            file=out,
        )

        written = _scan_items(stack)
        _print_items(written, out)
        print(
            f"pipeline: {outcome['written']} written, {outcome['duplicates']} duplicate and "
            f"{outcome['stale']} stale events skipped, {outcome['failed']} failed; "
            f"handler logs and EMF in {log_path}",
            file=out,
        )
    return DemoResult(uploaded=len(keys) + 1, deliveries=len(deliveries), outcome=outcome, items=written)


def _scan_items(stack: LocalStack) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(stack.items_table)
    found: list[dict[str, Any]] = table.scan(ConsistentRead=True)["Items"]
    return sorted(found, key=lambda item: str(item["itemID"]))


def _print_items(items: list[dict[str, Any]], out: TextIO) -> None:
    print(f"\nitems in the table ({len(items)}):", file=out)
    width = max((len(str(item["itemID"])) for item in items), default=6)
    print(f"  {'itemID':<{width}}  {'size':>5}  {'sequencer':<32}  eventTime", file=out)
    for item in items:
        item_id, size, sequencer = str(item["itemID"]), int(item["size"]), str(item["sequencer"])
        print(f"  {item_id:<{width}}  {size:>5}  {sequencer:<32}  {item['eventTime']}", file=out)
    print(file=out)
