"""The pipeline's cold start stays free of pydantic, whose import and first models cost ~80 ms CPU."""

import os
import sys

import pytest

from tests.conftest import PROJECT_ROOT
from tests.fresh_process import run_fresh

# Imports the handler as Lambda does, builds its settings and client as the first call does, and prints every
# pydantic module that got loaded (any name under pydantic, pydantic_core, ...).
PROBE = """
import sys
import handlers.pipeline
handlers.pipeline.item_store()
print(sorted(name for name in sys.modules if name.partition(".")[0].startswith("pydantic")))
"""

LAMBDA_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "pipeline",
    "LAMBDA_TASK_ROOT": str(PROJECT_ROOT / "src"),
    "_X_AMZN_TRACE_ID": "Root=1-6745a1b0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "ITEMS_TABLE_NAME": "items-test",
    "POWERTOOLS_SERVICE_NAME": "pipeline",
    "POWERTOOLS_METRICS_NAMESPACE": "TraceCanary",
}


@pytest.mark.parametrize("trace_disabled", ["false", "true"])
def test_the_pipeline_cold_path_loads_no_pydantic(trace_disabled: str) -> None:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(PROJECT_ROOT / "src"),
        **LAMBDA_ENVIRONMENT,
        # With tracing on, the Tracer patches every library X-Ray knows (patch_all): that import path too.
        "POWERTOOLS_TRACE_DISABLED": trace_disabled,
    }
    printed = run_fresh([sys.executable, "-c", PROBE], environment)
    assert printed.strip().splitlines()[-1] == "[]"
