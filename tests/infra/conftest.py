"""The template, raw and as SAM translates it, and the linters' locations (set by `make test-infra`)."""

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from demo.template import TEMPLATE_PATH, load_template, translate
from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="session")
def translated(template: dict[str, Any]) -> dict[str, Any]:
    return translate(template)


def tool(variable: str, venv: str, name: str) -> str:
    """A linter from its own virtual environment (see the Makefile), else from PATH."""
    candidates = [os.environ.get(variable), str(PROJECT_ROOT / venv / "bin" / name), shutil.which(name)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail(f"{name} not found: run the infra suite with `make test-infra`, which installs it")
