"""A test's fresh interpreter, free of the test's imports: what it printed, or a failure with its stderr."""

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_fresh(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None, timeout: float = 120
) -> str:
    completed = subprocess.run(
        list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout
