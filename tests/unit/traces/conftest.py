"""Fixtures for the engine's tests: a shared X-Ray fixture analysed by name."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from traces.analysis import AnalysisResult, analyze


@pytest.fixture
def analyze_fixture(xray_fixtures_dir: Path) -> Callable[[str], AnalysisResult]:
    """Analyse one shared fixture file by name (read where it lies, never copied into the project)."""

    def run(name: str) -> AnalysisResult:
        data = json.loads((xray_fixtures_dir / name).read_text())
        return analyze(data, source=name)

    return run
