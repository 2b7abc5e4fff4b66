"""`tracecanary` imports only the module of the subcommand it runs; the rest of the time, every module."""

import argparse
import importlib

import pytest

from cli import main as cli_main
from cli.main import COMMAND_MODULES, COMMANDS, build_parser, main, parser_for


def registered_by(module_name: str) -> set[str]:
    subparsers = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module_name).register(subparsers)
    return set(subparsers.choices)


def subcommands(parser: argparse.ArgumentParser) -> set[str]:
    return {word for word in parser.format_usage().split() if not word.startswith(("-", "[", "usage"))}


def test_each_known_subcommand_is_registered_by_its_module() -> None:
    for command, module_name in COMMANDS.items():
        assert module_name in COMMAND_MODULES
        assert command in registered_by(module_name)


@pytest.mark.parametrize("argv", [["analyze", "--format", "json", "x.json"], ["show", "x.json"], ["cost"]])
def test_a_known_subcommand_gets_only_its_module(argv: list[str]) -> None:
    parser = parser_for(argv)
    assert parser.parse_args(argv).command == argv[0]
    assert parser.format_help() != build_parser().format_help()  # not every module's subcommands


@pytest.mark.parametrize("argv", [["--help"], [], ["no-such-command"], ["-h", "analyze"]])
def test_help_and_errors_get_every_module(argv: list[str]) -> None:
    assert parser_for(argv).format_help() == build_parser().format_help()


def test_a_stale_hint_falls_back_to_every_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli_main.COMMANDS, "cost", "demo.cli")
    assert parser_for(["cost"]).parse_args(["cost"]).command == "cost"


def test_an_unknown_subcommand_is_still_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["no-such-command"])
    assert raised.value.code == 2
    assert "invalid choice: 'no-such-command'" in capsys.readouterr().err
