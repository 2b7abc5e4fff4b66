"""The `tracecanary` command: one subcommand per job, each registered by the module that owns it."""

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

from common.errors import UserError

# Each module has `register(subparsers)`, which adds its subcommands with a `run(args) -> int` default.
COMMAND_MODULES: tuple[str, ...] = (
    "reporter.cli",
    "reporter.report_cli",
    "generator.cli",
    "cost.cli",
    "demo.cli",
)


class _Command(Protocol):
    def __call__(self, args: argparse.Namespace) -> int: ...


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracecanary",
        description="Synthetic traffic through S3 -> Lambda -> DynamoDB, followed through AWS X-Ray.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: _Command = args.run
    try:
        return run(args)
    except UserError as error:
        print(f"tracecanary {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tracecanary {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
