import pytest
from pydantic import Field

from common.errors import SettingsError
from common.settings import EnvSettings, load_settings
from pipeline.settings import PipelineSettings


class ExampleSettings(EnvSettings):
    count: int = Field(alias="COUNT", gt=0)
    name: str = Field(alias="NAME")


def test_settings_come_from_the_named_variables() -> None:
    settings = load_settings(PipelineSettings, {"ITEMS_TABLE_NAME": "items-123", "PIPELINE_NAME": "canary"})
    assert settings.items_table_name == "items-123"
    assert settings.pipeline_name == "canary"


def test_every_bad_variable_is_named_with_its_value() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(ExampleSettings, {"COUNT": "-3"})
    message = str(raised.value)
    assert "COUNT (got '-3'): Input should be greater than 0" in message
    assert "NAME (not set): Field required" in message


def test_missing_table_name_is_reported() -> None:
    with pytest.raises(SettingsError, match=r"ITEMS_TABLE_NAME \(not set\): Field required"):
        load_settings(PipelineSettings, {})
