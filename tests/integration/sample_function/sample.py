"""Tiny handlers for the local runtime's own tests: a code root of its own, packaged and run as a function is
(no requirements, so its package is this folder alone)."""

import os
import sys
import time
from typing import Any

print(f"sample: imported from {os.path.dirname(__file__)}")

if os.environ.get("SAMPLE_IMPORT_FAILS"):
    import not_in_the_package  # noqa: F401  # an init error, as a package missing a module has


def sleep(event: dict[str, Any], _context: Any) -> dict[str, float]:
    time.sleep(float(event.get("seconds", 0)))
    return {"slept": float(event.get("seconds", 0))}


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """What the function sees of Lambda: the event, its context, the environment, its search path."""
    print(f"echo: {event}")
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_stream_name": context.log_stream_name,
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "cwd": os.getcwd(),
        "sys_path": sys.path,
        "executable": sys.executable,
        "version": list(sys.version_info[:2]),
        "dont_write_bytecode": sys.dont_write_bytecode,
        "environment": sorted(os.environ),
    }


class RecordsFailedError(Exception):
    pass


def fail(event: dict[str, Any], _context: Any) -> None:
    print("fail: about to raise")
    raise RecordsFailedError(f"{event.get('records', 1)} of {event.get('records', 1)} records failed")


def big(event: dict[str, Any], _context: Any) -> str:
    return "x" * int(event["bytes"])


def exit_now(event: dict[str, Any], _context: Any) -> None:
    os._exit(int(event.get("status", 3)))
