"""The pipeline function's settings, from its environment.

Checked here, not with `common.settings`, because pydantic's import and first models would add ~80 ms CPU to
every cold start of the function; the errors read the same as `load_settings`'s.
"""

import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields

from common.emf import MetricsDetail
from common.errors import SettingsError


@dataclass(frozen=True)
class PipelineSettings:
    items_table_name: str
    pipeline_name: str = "tracecanary"
    metrics_namespace: str = "TraceCanary"
    service_name: str = "service_undefined"  # Powertools' name for an unnamed service
    metrics_detail: MetricsDetail = MetricsDetail.STANDARD


@dataclass(frozen=True)
class _Variable:
    """An environment variable behind one setting, the lengths it may have, and its choices if it has any."""

    name: str
    setting: str
    min_length: int
    max_length: int | None = None
    choices: tuple[str, ...] = ()


_VARIABLES = (
    _Variable("ITEMS_TABLE_NAME", "items_table_name", min_length=3, max_length=255),  # DynamoDB's limits
    _Variable("PIPELINE_NAME", "pipeline_name", min_length=1),
    _Variable("POWERTOOLS_METRICS_NAMESPACE", "metrics_namespace", min_length=1, max_length=255),
    _Variable("POWERTOOLS_SERVICE_NAME", "service_name", min_length=1),
    _Variable(
        "METRICS_DETAIL",
        "metrics_detail",
        min_length=1,
        choices=tuple(detail.value for detail in MetricsDetail),
    ),
)

# A setting with a default in PipelineSettings may be left unset; the dataclass is the one place that says so.
_OPTIONAL = {field.name for field in fields(PipelineSettings) if field.default is not MISSING}


def load_pipeline_settings(environ: Mapping[str, str] | None = None) -> PipelineSettings:
    """Read the settings from the environment, or raise SettingsError naming every bad variable."""
    source = os.environ if environ is None else environ
    values: dict[str, str] = {}
    problems: list[str] = []
    for variable in _VARIABLES:
        value = source.get(variable.name)
        if value is None:
            if variable.setting not in _OPTIONAL:
                problems.append(f"{variable.name} (not set): Field required")
            continue
        if message := _length_problem(value, variable) or _choice_problem(value, variable):
            problems.append(f"{variable.name} (got {value!r}): {message}")
        values[variable.setting] = value
    if problems:
        raise SettingsError(f"invalid settings for {PipelineSettings.__name__}: " + "; ".join(problems))
    detail = MetricsDetail(values.pop("metrics_detail", MetricsDetail.STANDARD))
    return PipelineSettings(**values, metrics_detail=detail)


def _length_problem(value: str, variable: _Variable) -> str | None:
    """What is wrong with the value's length, in pydantic's words (as `load_settings` reports), or None."""
    if len(value) < variable.min_length:
        return f"String should have at least {_characters(variable.min_length)}"
    if variable.max_length is not None and len(value) > variable.max_length:
        return f"String should have at most {_characters(variable.max_length)}"
    return None


def _choice_problem(value: str, variable: _Variable) -> str | None:
    """Pydantic's words for a value outside an enumeration, or None."""
    if not variable.choices or value in variable.choices:
        return None
    quoted = [repr(choice) for choice in variable.choices]
    return f"Input should be {', '.join(quoted[:-1])} or {quoted[-1]}"


def _characters(count: int) -> str:
    return f"{count} character{'s' if count != 1 else ''}"
