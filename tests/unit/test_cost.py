from pathlib import Path

import pytest

from cli.main import main
from common.emf import METRIC_PLAN, MetricsDetail
from common.errors import UserError
from common.variants import PipelineVariant
from cost.cli import deployment_for, parameter_overrides
from cost.metrics_count import count_custom_metrics, emitted_metrics
from cost.model import Deployment, load_prices, monthly_cost, reporter_trace_calls, synthetics_canary_cost
from tests.conftest import PROJECT_ROOT

STANDARD, FULL = MetricsDetail.STANDARD, MetricsDetail.FULL


def test_full_counts_every_metric_the_functions_emit() -> None:
    # Reporter: 10 pipeline-level (SuccessRate, UntracedShare and TransactionsUntraced included), 7 per
    # function, 4 per (function, call);
    # generator: 4; the pipeline's own: 3.
    assert count_custom_metrics(FULL, functions=1, calls_per_function=1) == 11 + 7 + 4 + 4 + 3
    assert count_custom_metrics(FULL, functions=2, calls_per_function=3) == 11 + 2 * 7 + 6 * 4 + 4 + 3


def test_standard_counts_what_the_alarms_and_headline_graphs_need() -> None:
    # SuccessRate, TransactionsGenerated, EndToEndLatency, UntracedShare, ObjectsReported; DwellTime,
    # InitDuration, FunctionErrors per function; CallLatency per (function, call). The generator's and
    # the pipeline's are plain fields.
    assert count_custom_metrics(STANDARD) == 5 + 3 + 1 == 9
    assert count_custom_metrics(STANDARD, functions=2, calls_per_function=3) == 5 + 2 * 3 + 6
    names = {name for name, _ in emitted_metrics(STANDARD)}
    assert names == {name for name, planned in METRIC_PLAN.items() if planned.standard}
    assert count_custom_metrics(STANDARD) <= 10


@pytest.mark.parametrize(("detail", "metrics"), [("standard", 9), ("full", 29)])
def test_the_cli_prints_the_plans_count_and_stays_below_a_canary_at_the_defaults(
    capsys: pytest.CaptureFixture[str], detail: str, metrics: int
) -> None:
    assert main(["cost", "--metrics-detail", detail]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("CloudWatch  custom metrics")]
    assert f"MetricsDetail {detail}" in line
    assert f"{metrics:.3f} metrics" in line
    other = "full" if detail == "standard" else "standard"
    assert f"--metrics-detail {other}: {29 if other == 'full' else 9} metrics" in out
    total = float(next(line for line in out.splitlines() if line.split()[:1] == ["total"]).split()[-1])
    canary = float(out.split("costs ")[1].split(" $/month")[0])
    if detail == "standard":
        assert total <= canary


def test_the_default_deployment_runs_standard_and_costs_less_than_the_canarys_runs() -> None:
    deployment = deployment_for(PROJECT_ROOT / "template.yaml", PROJECT_ROOT / "samconfig.toml", "default")
    assert (deployment.metrics_detail, deployment.custom_metrics) == ("standard", 9)
    prices = load_prices()
    total = sum(line.monthly for line in monthly_cost(deployment, prices))
    assert total <= synthetics_canary_cost(deployment, prices).monthly


def test_the_metrics_detail_comes_from_samconfig_unless_the_option_says(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text('[prod.deploy.parameters]\nparameter_overrides = "MetricsDetail=full"\n')
    template = PROJECT_ROOT / "template.yaml"
    assert deployment_for(template, samconfig, "prod").custom_metrics == 29
    assert deployment_for(template, samconfig, "prod", metrics_detail="standard").custom_metrics == 9
    samconfig.write_text('[prod.deploy.parameters]\nparameter_overrides = "MetricsDetail=verbose"\n')
    with pytest.raises(UserError, match="MetricsDetail: METRICS_DETAIL must be 'standard' or 'full'"):
        deployment_for(template, samconfig, "prod")


def test_a_run_is_billed_to_its_last_arrival_not_its_whole_span() -> None:
    prices = load_prices()
    poisson = {line.item.split(" (")[0]: line for line in monthly_cost(Deployment(), prices)}
    # 10 Poisson arrivals in 20 s: the last comes at 20 x 10/11 = 18.2 s on average, then 1.5 s.
    assert poisson["generator duration"].quantity == pytest.approx(8760 * (200 / 11 + 1.5) * 256 / 1024)
    burst = {line.item.split(" (")[0]: line for line in monthly_cost(Deployment(arrival="burst"), prices)}
    assert burst["generator duration"].quantity == pytest.approx(8760 * 1.5 * 256 / 1024)


def test_monthly_lines_follow_from_the_parameters() -> None:
    prices = load_prices()
    deployment = Deployment(
        generator_rate_minutes=5, objects_per_run=10, metrics_detail="full", custom_metrics=26, alarms=7
    )
    lines = {line.item.split(" (")[0]: line for line in monthly_cost(deployment, prices)}
    # 730 h x 60 / 5 min = 8,760 runs x 10 objects = 87,600 objects a month.
    assert lines["PUT requests"].quantity == pytest.approx(87.6)
    assert lines["PUT requests"].monthly == pytest.approx(87.6 * 0.005)
    assert lines["traces retrieved by the reporter"].monthly == pytest.approx(0.0876 * 0.50)
    assert lines["custom metrics at MetricsDetail full"].monthly == pytest.approx(26 * 0.30)
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
    assert deployment.alarms == 9


def test_bad_samconfig_is_one_clear_error(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text('[default.deploy.parameters]\nparameter_overrides = "JustAWord"\n')
    with pytest.raises(UserError, match="'JustAWord' is not NAME=VALUE"):
        parameter_overrides(samconfig, "default")
    with pytest.raises(UserError, match="has no environment 'prod'"):
        parameter_overrides(samconfig, "prod")


def test_extension_overhead_is_a_metric_only_at_full_and_only_with_an_extension() -> None:
    assert count_custom_metrics(FULL, extension=True) == count_custom_metrics(FULL) + 1
    assert (
        count_custom_metrics(FULL, functions=2, extension=True) == count_custom_metrics(FULL, functions=2) + 2
    )
    assert count_custom_metrics(STANDARD, extension=True) == count_custom_metrics(STANDARD)  # a plain field
    template, samconfig = PROJECT_ROOT / "template.yaml", PROJECT_ROOT / "samconfig.toml"
    for detail, extra in (("standard", 0), ("full", 1)):
        plain = deployment_for(template, samconfig, "default", metrics_detail=detail)
        with_extension = deployment_for(template, samconfig, "default", extension=True, metrics_detail=detail)
        assert with_extension.custom_metrics == plain.custom_metrics + extra, detail


def test_the_readme_shows_the_exact_output_at_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## What it costs", 1)[1]
    shown = section.split("```\n", 2)[1].rstrip("\n")
    assert main(["cost"]) == 0
    assert capsys.readouterr().out.rstrip("\n") == shown


def test_the_reporters_calls_follow_the_trace_source() -> None:
    # 10 objects a window: two BatchGetTraces calls (5 ids each), or one retrieval read in two pages and
    # polled once before it completes.
    assert reporter_trace_calls("xray", 10, 100) == {"BatchGetTraces": 200}
    assert reporter_trace_calls("transaction-search", 10, 100) == {
        "StartTraceRetrieval": 100,
        "ListRetrievedTraces": 300,
    }
    # 250 a window: three retrievals of at most 100 ids, 50 pages of 5 traces.
    assert reporter_trace_calls("transaction-search", 250, 1)["StartTraceRetrieval"] == 3


def test_cost_names_the_calls_of_the_chosen_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--trace-source", "transaction-search"]) == 0
    out = capsys.readouterr().out
    assert "reading through transaction-search: StartTraceRetrieval 8,760, ListRetrievedTraces 26,280" in out
    assert "BatchGetTraces" not in out


def test_the_opentelemetry_twin_adds_its_metrics_and_alarms_counted_from_what_it_emits(
    tmp_path: Path,
) -> None:
    template = PROJECT_ROOT / "template.yaml"
    alone = deployment_for(template, PROJECT_ROOT / "samconfig.toml", "default")
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        '[twins.deploy.parameters]\nparameter_overrides = "PipelineVariants=powertools,opentelemetry"\n'
    )
    twins = deployment_for(template, samconfig, "twins")
    assert twins.pipeline_variants == ("powertools", "opentelemetry")
    per_function_alarms = 4  # dwell time, init duration, PutItem latency, function errors
    assert twins.alarms == alone.alarms + per_function_alarms
    # Each per-function metric once more, under the twin's FunctionName.
    emitted = emitted_metrics(STANDARD, variants=(PipelineVariant.POWERTOOLS, PipelineVariant.OPENTELEMETRY))
    otel = {
        name for name, dimensions in emitted if ("FunctionName", "tracecanary-pipeline-otel") in dimensions
    }
    assert otel == {"DwellTime", "InitDuration", "CallLatency", "FunctionErrors"}
    assert twins.custom_metrics == alone.custom_metrics + len(otel)
    # The objects are shared, so what scales with them does not change.
    assert twins.objects_per_run == alone.objects_per_run
    by_item = {line.item: line.monthly for line in monthly_cost(twins, load_prices())}
    by_item_alone = {line.item: line.monthly for line in monthly_cost(alone, load_prices())}
    changed = {item for item in by_item if by_item[item] != by_item_alone.get(item)}
    assert all("metrics" in item or "alarms" in item for item in changed), changed


def test_the_variants_option_is_checked_against_the_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--variants", "opentelemetry"]) == 2
    assert "--variants: opentelemetry is not one the template takes" in capsys.readouterr().err
    assert main(["cost", "--variants", "powertools,opentelemetry"]) == 0
    assert "2 pipeline twins (powertools, opentelemetry)" in capsys.readouterr().out
