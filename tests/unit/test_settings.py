import dataclasses

import pytest
from pydantic import Field

from common.errors import SettingsError
from common.settings import EnvSettings, load_settings
from pipeline.settings import PipelineSettings, load_pipeline_settings


class ExampleSettings(EnvSettings):
    count: int = Field(alias="COUNT", gt=0)
    name: str = Field(alias="NAME")


def test_every_bad_variable_is_named_with_its_value() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(ExampleSettings, {"COUNT": "-3"})
    message = str(raised.value)
    assert "COUNT (got '-3'): Input should be greater than 0" in message
    assert "NAME (not set): Field required" in message


def test_pipeline_settings_come_from_the_named_variables() -> None:
    settings = load_pipeline_settings({"ITEMS_TABLE_NAME": "items-123", "PIPELINE_NAME": "canary"})
    assert settings == PipelineSettings(items_table_name="items-123", pipeline_name="canary")


def test_pipeline_name_has_a_default_and_other_variables_are_ignored() -> None:
    settings = load_pipeline_settings({"ITEMS_TABLE_NAME": "items-123", "UNRELATED": "x"})
    assert settings.pipeline_name == "tracecanary"


def test_pipeline_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITEMS_TABLE_NAME", "items-from-env")
    monkeypatch.delenv("PIPELINE_NAME", raising=False)
    assert load_pipeline_settings() == PipelineSettings(items_table_name="items-from-env")


def test_pipeline_settings_are_frozen() -> None:
    settings = load_pipeline_settings({"ITEMS_TABLE_NAME": "items-123"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.items_table_name = "other"  # type: ignore[misc]


def test_missing_table_name_is_reported() -> None:
    with pytest.raises(SettingsError) as raised:
        load_pipeline_settings({})
    assert (
        str(raised.value)
        == "invalid settings for PipelineSettings: ITEMS_TABLE_NAME (not set): Field required"
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"ITEMS_TABLE_NAME": "ab", "PIPELINE_NAME": ""},
            "ITEMS_TABLE_NAME (got 'ab'): String should have at least 3 characters; "
            "PIPELINE_NAME (got ''): String should have at least 1 character",
        ),
        (
            {"ITEMS_TABLE_NAME": "t" * 256},
            f"ITEMS_TABLE_NAME (got {'t' * 256!r}): String should have at most 255 characters",
        ),
    ],
)
def test_every_bad_pipeline_variable_is_named_in_one_error(environ: dict[str, str], message: str) -> None:
    # The wording of common.settings.load_settings, so every function's settings errors read alike.
    with pytest.raises(SettingsError) as raised:
        load_pipeline_settings(environ)
    assert str(raised.value) == f"invalid settings for PipelineSettings: {message}"


@pytest.mark.parametrize("table_name", ["abc", "t" * 255])
def test_table_names_at_dynamodbs_length_limits_are_accepted(table_name: str) -> None:
    assert load_pipeline_settings({"ITEMS_TABLE_NAME": table_name}).items_table_name == table_name
