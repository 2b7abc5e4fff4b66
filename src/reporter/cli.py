"""Subcommands of this part (being written)."""

import argparse


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    del subparsers
