"""`tracecanary cost`: the monthly cost of running tracecanary with a deployment's parameters."""

import argparse
import shlex
import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from common.emf import MetricsDetail, parse_metrics_detail
from common.errors import UserError
from common.variants import DEFAULT_VARIANTS

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Template parameter -> Deployment field.
PARAMETERS = {
    "GeneratorScheduleMinutes": "generator_rate_minutes",
    "GeneratorCount": "objects_per_run",
    "GeneratorSpanSeconds": "span_seconds",
    "GeneratorArrival": "arrival",
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
        "--metrics-detail",
        choices=[detail.value for detail in MetricsDetail],
        default=None,
        help="the MetricsDetail to price: standard (the alarms' and headline graphs' metrics) or full "
        "(every figure a metric); default: the template's, or the environment's parameter override",
    )
    parser.add_argument(
        "--trace-source",
        choices=("xray", "transaction-search"),
        default="xray",
        help="where the reporter reads traces (the account's destination): counts its calls by operation "
        "(default: xray)",
    )
    parser.add_argument(
        "--variants",
        default=None,
        metavar="VARIANTS",
        help="the pipeline twins to price (the template's PipelineVariants: powertools, or "
        "powertools,opentelemetry); default: the template's, or the environment's parameter override",
    )
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
    deployment = deployment_for(
        args.template,
        args.samconfig,
        args.config_env,
        extension=args.with_extension,
        metrics_detail=args.metrics_detail,
        variants=args.variants,
    )
    lines = monthly_cost(deployment, prices)
    canary = synthetics_canary_cost(deployment, prices)
    print(render(lines, canary, deployment, prices, args.config_env))
    print(trace_calls_note(deployment, prices, args.trace_source))
    return 0


def deployment_for(
    template_path: Path,
    samconfig_path: Path,
    config_env: str,
    *,
    extension: bool = False,
    metrics_detail: str | None = None,
    variants: str | None = None,
) -> Any:
    """The deployment's parameters; `metrics_detail` and `variants` override the template's and
    samconfig's."""
    from cost.metrics_count import count_alarms, count_custom_metrics, record_bytes
    from cost.model import Deployment
    from demo.template import load_template, offered_variants
    from generator.plan import parse_arrival

    if not template_path.is_file():
        raise UserError(f"no template at {template_path}")
    template = load_template(template_path)
    values: dict[str, Any] = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    values.update(parameter_overrides(samconfig_path, config_env))
    try:
        detail = parse_metrics_detail(str(metrics_detail or values.get("MetricsDetail") or "standard"))
    except ValueError as error:
        raise UserError(f"parameter MetricsDetail: {error}") from None
    if variants is not None:
        values["PipelineVariants"] = variants
    where = "--variants" if variants is not None else "parameter PipelineVariants"
    twins = offered_variants(
        template, str(values.get("PipelineVariants") or ",".join(DEFAULT_VARIANTS)), where
    )
    values["PipelineVariants"] = ",".join(twins)
    deployment = Deployment(
        alarms=count_alarms(
            template, {name: str(value) for name, value in values.items() if value is not None}
        ),
        metrics_detail=detail.value,
        pipeline_variants=twins,
        custom_metrics=count_custom_metrics(detail, extension=extension, variants=twins),
        extension=extension,
        record_bytes=record_bytes(detail),
    )
    types = {field.name: field.type for field in fields(Deployment)}
    settings: dict[str, Any] = {}
    for parameter, field_name in PARAMETERS.items():
        if values.get(parameter) in (None, ""):
            continue
        if types[field_name] in (str, "str"):
            if field_name == "arrival":
                settings[field_name] = parse_arrival(str(values[parameter])).value
            continue
        convert = float if types[field_name] in (float, "float") else int
        try:
            settings[field_name] = convert(values[parameter])
        except ValueError:
            raise UserError(f"parameter {parameter}: not a number: {values[parameter]!r}") from None
    deployment = replace(deployment, **settings)
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
        *metric_plan_notes(deployment, prices),
    ]
    return "\n".join(out)


def metric_plan_notes(deployment: Any, prices: dict[str, Any]) -> list[str]:
    """Which metrics the plan makes at this MetricsDetail and what the other level costs, all counted from
    what the functions emit, and what the line items leave out."""
    from cost.metrics_count import emitted_metrics
    from cost.model import reporter_log_bytes

    detail = MetricsDetail(deployment.metrics_detail)
    other = MetricsDetail.FULL if detail is MetricsDetail.STANDARD else MetricsDetail.STANDARD
    per_metric = prices["cloudwatch"]["per_custom_metric_month"]
    twins = deployment.pipeline_variants
    emitted = {"extension": deployment.extension, "variants": twins}
    names = sorted({name for name, _ in emitted_metrics(detail, **emitted)})
    other_count = len(emitted_metrics(other, **emitted))
    functions = (
        "one pipeline function" if len(twins) == 1 else f"{len(twins)} pipeline twins ({', '.join(twins)})"
    )
    notes = [
        f"metrics at MetricsDetail {detail.value} ({deployment.custom_metrics}, {functions}, one "
        f"kind of call): {', '.join(names)}"
        + (
            "; every other figure is a plain field of the same EMF lines."
            if detail is MetricsDetail.STANDARD
            else "."
        ),
        f"--metrics-detail {other.value}: {other_count} metrics, {other_count * per_metric:.2f} $/month "
        f"instead of {deployment.custom_metrics * per_metric:.2f}.",
    ]
    if len(twins) > 1:
        alone = len(emitted_metrics(detail, extension=deployment.extension))
        notes.append(
            "the twins share the run's objects (each object goes to one), so invocations, traces and logs "
            f"stay those of one pipeline; the twins add {deployment.custom_metrics - alone} metrics and "
            "their own alarms (counted above); the OpenTelemetry layer is Lambda code storage, which costs "
            "nothing up to 75 GB a region."
        )
    if detail is MetricsDetail.STANDARD:
        notes.append(
            "ExtensionOverhead (only where a function runs a Lambda extension) is a plain field at standard; "
            "at full it is one metric a function, which --with-extension counts."
        )
    elif not deployment.extension:
        notes.append(
            "not counted: ExtensionOverhead (one metric a function), emitted only where a function runs a "
            "Lambda extension; --with-extension counts it."
        )
    scanned_mb = reporter_log_bytes(deployment) / 1024**2
    per_gb = prices["cloudwatch"]["per_gb_logs_insights_scanned"]
    notes.append(
        f"not counted: the dashboard's Logs Insights widgets, ${per_gb} per GB scanned on each load or "
        f"refresh: the reporter writes about {scanned_mb:.1f} MB a day, so a widget over a one-week view "
        f"scans {7 * scanned_mb:.0f} MB (${7 * scanned_mb / 1024 * per_gb:.4f})."
    )
    return notes


def trace_calls_note(deployment: Any, prices: dict[str, Any], source: str) -> str:
    """The reporter's X-Ray calls a month through the chosen source: X-Ray bills the traces retrieved (the
    line above), not the calls; AWS gives no separate price for a Transaction Search retrieval."""
    from cost.model import reporter_trace_calls

    minutes = prices["hours_per_month"] * 60
    windows = minutes / deployment.report_period_minutes
    objects = minutes / deployment.generator_rate_minutes * deployment.objects_per_run
    calls = reporter_trace_calls(source, objects / windows, windows)
    listed = ", ".join(f"{name} {count:,.0f}" for name, count in calls.items())
    note = (
        f"reporter's X-Ray calls a month reading through {source}: {listed}; calls are not billed, the "
        "traces retrieved are (priced above at X-Ray's rate)"
    )
    if source == "transaction-search":
        note += (
            "; on a Transaction Search account spans are billed at CloudWatch's prices instead of X-Ray's "
            "traces recorded, and AWS lists no separate retrieval price: check the pricing pages"
        )
    return note + "."
