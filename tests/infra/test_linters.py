"""SAM CLI, cfn-lint and checkov on template.yaml: nothing reported, every checkov skip explained."""

import json
import os
import subprocess
from typing import Any

from tests.conftest import PROJECT_ROOT
from tests.infra.conftest import tool

QUIET_TOOLS = {**os.environ, "SAM_CLI_TELEMETRY": "0", "BC_SKIP_MAPPING": "TRUE"}


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=QUIET_TOOLS, check=False
    )


def test_sam_validate_lint_passes() -> None:
    result = run(
        tool("TRACECANARY_SAM", ".venv-sam", "sam"), "validate", "--lint", "--template", "template.yaml"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_cfn_lint_reports_nothing() -> None:
    result = run(tool("TRACECANARY_CFN_LINT", ".venv-sam", "cfn-lint"), "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_checkov_fails_no_check() -> None:
    result = run(
        tool("TRACECANARY_CHECKOV", ".venv-checkov", "checkov"),
        "--file",
        "template.yaml",
        "--framework",
        "cloudformation",
        "--output",
        "json",
        "--quiet",
        "--skip-download",
    )
    report: dict[str, Any] = json.loads(result.stdout)
    failed = [
        f"{check['check_id']} on {check['resource']}: {check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["passed"] > 0


def test_every_checkov_skip_gives_a_reason(template: dict[str, Any]) -> None:
    for name, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, f"{name} skips {skip['id']} without a reason"
