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

    local = subparsers.add_parser(
        "local-stack",
        help="serve the stack's storage on a local moto server for `sam local invoke`",
        description="Starts a moto server with the template's bucket, tables and queues, writes an "
        "--env-vars file for SAM CLI, and runs until Ctrl-C.",
    )
    local.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    local.add_argument("--port", type=int, default=4566, help="port (default: 4566)")
    local.add_argument(
        "--container-host",
        default="127.0.0.1",
        help="how the Lambda container reaches this machine (default 127.0.0.1, with --docker-network host; "
        "host.docker.internal on Docker Desktop)",
    )
    local.add_argument("--env-file", type=Path, default=Path(".demo/env.json"))
    local.set_defaults(run=run_local_stack)


def run_local_stack(args: argparse.Namespace) -> int:
    from demo.local_services import serve_local_stack

    serve_local_stack(args.host, args.port, args.container_host, args.env_file, sys.stdout)
    return 0


def run(args: argparse.Namespace) -> int:
    from demo.pipeline_demo import run_pipeline_demo  # moto is imported only when the demo runs

    result = run_pipeline_demo(args.output_dir, sys.stdout)
    return 0 if result.outcome["failed"] == 0 and len(result.items) == result.uploaded - 1 else 1
