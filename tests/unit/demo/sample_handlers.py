"""Tiny handlers for the local runtime's own tests (run in its worker processes)."""

import time
from typing import Any


def sleep(event: dict[str, Any], _context: Any) -> dict[str, float]:
    time.sleep(float(event.get("seconds", 0)))
    return {"slept": float(event.get("seconds", 0))}
