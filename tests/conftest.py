"""Fixtures shared by every suite: paths to the sample events and the shared X-Ray fixtures."""

import json
import sys
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = PROJECT_ROOT / "events"
SHARED_XRAY_FIXTURES = PROJECT_ROOT.parent / "shared" / "fixtures" / "xray"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return event


@pytest.fixture(scope="session")
def xray_fixtures_dir() -> Path:
    """The real public traces beside the project; tests that need them skip where they are absent."""
    if not SHARED_XRAY_FIXTURES.is_dir():
        pytest.skip(f"shared X-Ray fixtures not found at {SHARED_XRAY_FIXTURES}")
    return SHARED_XRAY_FIXTURES


class CurrentStdout:
    """Writes to whatever sys.stdout is when a line is logged (capsys swaps it in only for the test call)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()
