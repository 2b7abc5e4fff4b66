"""`tracecanary demo`: tracecanary on this machine against a local moto server, no AWS account needed."""

import argparse
import sys
from pathlib import Path


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the pipeline locally against a moto server (no AWS account needed)",
        description="Uploads objects with awkward keys to a local S3, delivers their events to the real "
        "pipeline handler (one twice, as S3 may), and prints the items written.",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=Path(".demo"), help="where logs go (default .demo)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from demo.pipeline_demo import run_pipeline_demo  # moto is imported only when the demo runs

    result = run_pipeline_demo(args.output_dir, sys.stdout)
    return 0 if result.outcome["failed"] == 0 and len(result.items) == result.uploaded - 1 else 1
