import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.pipeline_demo import DEMO_KEYS, run_pipeline_demo


@pytest.fixture
def restored_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    from handlers import pipeline

    pipeline.item_store.cache_clear()
    pipeline.metrics.clear_default_dimensions()


@pytest.mark.usefixtures("restored_environment")
def test_demo_writes_every_object_once_and_skips_the_stale_and_repeated_events(tmp_path: Path) -> None:
    out = io.StringIO()
    result = run_pipeline_demo(tmp_path, out)

    assert [item["itemID"] for item in result.items] == sorted(f"synthetic/{key}" for key in DEMO_KEYS)
    assert (result.outcome["written"], result.outcome["stale"], result.outcome["duplicates"]) == (5, 1, 1)
    plain = next(item for item in result.items if item["itemID"] == "synthetic/demo/plain.json")
    assert plain["size"] == len(b"a newer version")
    printed = out.getvalue()
    assert "synthetic/demo/été ✓/données.csv" in printed
    assert "5 written, 1 duplicate and 1 stale events skipped, 0 failed" in printed
    log_lines = (tmp_path / "pipeline.log").read_text().splitlines()
    assert sum('"ItemsWritten"' in line for line in log_lines) == 7  # one EMF line per invocation
