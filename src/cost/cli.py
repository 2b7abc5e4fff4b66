"""`tracecanary cost`: the monthly cost of running tracecanary with a deployment's parameters."""

import argparse
import shlex
import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from common.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Template parameter -> Deployment field.
PARAMETERS = {
    "GeneratorScheduleMinutes": "generator_rate_minutes",
    "GeneratorCount": "objects_per_run",
    "GeneratorSpanSeconds": "span_seconds",
    "GeneratorMemorySize": "generator_memory_mb",
    "PipelineMemorySize": "pipeline_memory_mb",
    "ReportPeriodMinutes": "report_period_minutes",
    "SyntheticObjectExpirationDays": "expiration_days",
    "LogRetentionDays": "log_retention_days",
}


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "cost",
        help="the monthly cost of tracecanary with the deployed parameters, beside a Synthetics canary",
        description="Reads template.yaml's defaults and samconfig.toml's parameter overrides for an "
        "environment, and prints what each part costs a month at list prices (src/cost/prices.json).",
    )
    parser.add_argument(
        "--config-env", default="default", help="samconfig.toml environment (default: default)"
    )
    parser.add_argument("--template", type=Path, default=PROJECT_ROOT / "template.yaml")
    parser.add_argument("--samconfig", type=Path, default=PROJECT_ROOT / "samconfig.toml")
    parser.add_argument(
        "--with-extension",
        action="store_true",
        help="the pipeline runs a Lambda extension: count the ExtensionOverhead metric its new-style traces "
        "add (without one, nothing emits it)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cost.model import load_prices, monthly_cost, synthetics_canary_cost

    prices = load_prices()
    deployment = deployment_for(args.template, args.samconfig, args.config_env, extension=args.with_extension)
    lines = monthly_cost(deployment, prices)
    canary = synthetics_canary_cost(deployment, prices)
    print(render(lines, canary, deployment, prices, args.config_env))
    return 0


def deployment_for(
    template_path: Path, samconfig_path: Path, config_env: str, *, extension: bool = False
) -> Any:
    from cost.metrics_count import count_alarms, count_custom_metrics
    from cost.model import Deployment
    from demo.template import load_template

    if not template_path.is_file():
        raise UserError(f"no template at {template_path}")
    template = load_template(template_path)
    values: dict[str, Any] = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    values.update(parameter_overrides(samconfig_path, config_env))
    deployment = Deployment(
        alarms=count_alarms(template),
        custom_metrics=count_custom_metrics(extension=extension),
        extension=extension,
    )
    types = {field.name: field.type for field in fields(Deployment)}
    numbers: dict[str, Any] = {}
    for parameter, field_name in PARAMETERS.items():
        if values.get(parameter) not in (None, ""):
            convert = float if types[field_name] in (float, "float") else int
            try:
                numbers[field_name] = convert(values[parameter])
            except ValueError:
                raise UserError(f"parameter {parameter}: not a number: {values[parameter]!r}") from None
    deployment = replace(deployment, **numbers)
    sizes = values.get("GeneratorSizes")
    if sizes:
        from generator.payloads import parse_mix

        deployment = replace(deployment, mean_object_bytes=parse_mix(str(sizes)).mean_size)
    return deployment


def parameter_overrides(samconfig_path: Path, config_env: str) -> dict[str, str]:
    if not samconfig_path.is_file():
        return {}
    try:
        config = tomllib.loads(samconfig_path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{samconfig_path}: not valid TOML: {error}") from None
    if config_env not in config:
        known = ", ".join(name for name in config if name != "version")
        raise UserError(f"{samconfig_path} has no environment {config_env!r} (it has: {known})")
    overrides = config[config_env].get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    tokens = shlex.split(overrides) if isinstance(overrides, str) else list(overrides)
    pairs = {}
    for token in tokens:
        name, separator, value = token.partition("=")
        if not separator:
            raise UserError(
                f"{samconfig_path} [{config_env}] parameter_overrides: {token!r} is not NAME=VALUE"
            )
        pairs[name] = value
    return pairs


def render(lines: list[Any], canary: Any, deployment: Any, prices: dict[str, Any], config_env: str) -> str:
    objects = prices["hours_per_month"] * 60 / deployment.generator_rate_minutes * deployment.objects_per_run
    out = [
        f"tracecanary, samconfig environment {config_env!r}: {deployment.objects_per_run} objects every "
        f"{deployment.generator_rate_minutes} min ({objects:,.0f} a month), windows of "
        f"{deployment.report_period_minutes} min",
        f"list prices {prices['region']} as of {prices['as_of']} (src/cost/prices.json); "
        "free tiers not subtracted",
        "",
        f"{'service':<11} {'item':<70} {'quantity':>14} {'unit':<12} {'$/month':>9}",
    ]
    for line in lines:
        out.append(
            f"{line.service:<11} {line.item:<70} {line.quantity:>14,.3f} {line.unit:<12} {line.monthly:>9.2f}"
        )
    total = sum(line.monthly for line in lines)
    out += [
        f"{'':<11} {'total':<70} {'':>14} {'':<12} {total:>9.2f}",
        "",
        "for comparison: a CloudWatch Synthetics canary at the same cadence costs "
        f"{canary.monthly:.2f} $/month in canary runs alone ({canary.quantity:,.0f} runs x "
        f"${canary.unit_price}), before its own Lambda, S3 and logs, and it sees one request per run, "
        "not the parts of each.",
    ]
    if not deployment.extension:
        out.append(
            "not counted: ExtensionOverhead (one metric a function), emitted only where a function runs a "
            "Lambda extension; --with-extension counts it."
        )
    return "\n".join(out)
