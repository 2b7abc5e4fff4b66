"""The `tracecanary` command: one subcommand per job, each registered by the module that owns it."""

import argparse
import importlib
import sys
from collections.abc import Collection, Sequence
from typing import Protocol

from common.errors import UserError

# Each module has `register(subparsers)`, which adds its subcommands with a `run(args) -> int` default.
COMMAND_MODULES: tuple[str, ...] = (
    "cli.trace_commands",
    "cli.report",
    "generator.cli",
    "cost.cli",
    "demo.cli",
)

# Which module registers a subcommand, so that a run imports only that module (some import boto3 at load,
# which costs more start-up than `tracecanary analyze` of a small file takes in all). Only a hint: a
# subcommand missing here, or no longer registered by its module, is found by importing every module.
COMMANDS: dict[str, str] = {
    "analyze": "cli.trace_commands",
    "show": "cli.trace_commands",
    "report": "cli.report",
    "generate": "generator.cli",
    "cost": "cost.cli",
    "demo": "demo.cli",
    "local-stack": "demo.cli",
}


class _Command(Protocol):
    def __call__(self, args: argparse.Namespace) -> int: ...


def build_parser(imported: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The parser with the subcommands of the modules in `imported` (None: of every module)."""
    parser, _ = _parser_and_subcommands(imported)
    return parser


def parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser for this command line: where its subcommand's module is known, with that module's only.

    The subcommand is the first word (the top level has only `--help`). Help, errors and anything unknown
    get the parser of every module, so `tracecanary --help` lists every subcommand.
    """
    command = argv[0] if argv else None
    module_name = COMMANDS.get(command) if command is not None else None
    if module_name is not None:
        parser, subcommands = _parser_and_subcommands((module_name,))
        if command in subcommands:
            return parser
    return build_parser()


def _parser_and_subcommands(
    imported: Collection[str] | None,
) -> tuple[argparse.ArgumentParser, Collection[str]]:
    parser = argparse.ArgumentParser(
        prog="tracecanary",
        description="Synthetic traffic through S3 -> Lambda -> DynamoDB, followed through AWS X-Ray.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        if imported is None or module_name in imported:
            importlib.import_module(module_name).register(subparsers)
    return parser, subparsers.choices.keys()


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    args = parser_for(words).parse_args(words)
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
