from pathlib import Path

import pytest

from common.errors import UserError
from cost.cli import deployment_for, parameter_overrides
from cost.metrics_count import count_custom_metrics
from cost.model import Deployment, load_prices, monthly_cost, synthetics_canary_cost
from tests.conftest import PROJECT_ROOT


def test_custom_metrics_are_counted_from_what_is_emitted() -> None:
    # Reporter: 8 pipeline-level (SuccessRate included), 7 per function, 4 per (function, call);
    # generator: 4; the pipeline's own: 3.
    assert count_custom_metrics(functions=1, calls_per_function=1) == 8 + 7 + 4 + 4 + 3
    assert count_custom_metrics(functions=2, calls_per_function=3) == 8 + 2 * 7 + 6 * 4 + 4 + 3


def test_monthly_lines_follow_from_the_parameters() -> None:
    prices = load_prices()
    deployment = Deployment(generator_rate_minutes=5, objects_per_run=10, custom_metrics=26, alarms=7)
    lines = {line.item.split(" (")[0]: line for line in monthly_cost(deployment, prices)}
    # 730 h x 60 / 5 min = 8,760 runs x 10 objects = 87,600 objects a month.
    assert lines["PUT requests"].quantity == pytest.approx(87.6)
    assert lines["PUT requests"].monthly == pytest.approx(87.6 * 0.005)
    assert lines["traces retrieved by the reporter"].monthly == pytest.approx(0.0876 * 0.50)
    assert lines["custom metrics"].monthly == pytest.approx(26 * 0.30)
    assert lines["alarms"].monthly == pytest.approx(0.70)
    canary = synthetics_canary_cost(deployment, prices)
    assert canary.quantity == 8760
    assert canary.monthly == pytest.approx(8760 * 0.0012)


def test_samconfig_overrides_win_over_template_defaults(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        "version = 0.1\n"
        "[dev.deploy.parameters]\n"
        'parameter_overrides = "ReportPeriodMinutes=15 LogRetentionDays=7"\n'
    )
    assert parameter_overrides(samconfig, "dev") == {"ReportPeriodMinutes": "15", "LogRetentionDays": "7"}
    deployment = deployment_for(PROJECT_ROOT / "template.yaml", samconfig, "dev")
    assert deployment.report_period_minutes == 15
    assert deployment.log_retention_days == 7
    assert deployment.alarms == 7


def test_bad_samconfig_is_one_clear_error(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text('[default.deploy.parameters]\nparameter_overrides = "JustAWord"\n')
    with pytest.raises(UserError, match="'JustAWord' is not NAME=VALUE"):
        parameter_overrides(samconfig, "default")
    with pytest.raises(UserError, match="has no environment 'prod'"):
        parameter_overrides(samconfig, "prod")


def test_extension_overhead_is_counted_only_for_functions_with_an_extension() -> None:
    assert count_custom_metrics(extension=True) == count_custom_metrics() + 1
    assert count_custom_metrics(functions=2, extension=True) == count_custom_metrics(functions=2) + 2
    plain = deployment_for(PROJECT_ROOT / "template.yaml", PROJECT_ROOT / "samconfig.toml", "default")
    with_extension = deployment_for(
        PROJECT_ROOT / "template.yaml", PROJECT_ROOT / "samconfig.toml", "default", extension=True
    )
    assert with_extension.custom_metrics == plain.custom_metrics + 1
