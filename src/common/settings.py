"""Typed settings from environment variables, validated once at cold start."""

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from common.errors import SettingsError

SettingsModel = TypeVar("SettingsModel", bound="EnvSettings")


class EnvSettings(BaseModel):
    """Base for a function's settings: each field's alias is the environment variable it comes from."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


def load_settings(model: type[SettingsModel], environ: Mapping[str, str] | None = None) -> SettingsModel:
    """Build `model` from the environment, or raise SettingsError naming every bad variable."""
    source = os.environ if environ is None else environ
    try:
        return model.model_validate(dict(source))
    except ValidationError as error:
        problems = []
        for issue in error.errors():
            variable = ".".join(str(part) for part in issue["loc"]) or model.__name__
            value = source.get(variable)
            shown = "not set" if value is None else f"got {value!r}"
            problems.append(f"{variable} ({shown}): {issue['msg']}")
        raise SettingsError(f"invalid settings for {model.__name__}: " + "; ".join(problems)) from None
