import pytest

from common.errors import SettingsError
from common.settings import load_settings
from common.variants import PipelineVariant
from generator.plan import Arrival
from generator.settings import GeneratorSettings

REQUIRED = {"INCOMING_BUCKET": "incoming-bucket", "MANIFEST_TABLE": "manifest"}


def test_defaults() -> None:
    settings = load_settings(GeneratorSettings, REQUIRED)
    assert settings.prefix == "synthetic/"
    assert (settings.count, settings.span_seconds, settings.arrival) == (10, 20.0, Arrival.POISSON)
    assert settings.seed is None
    assert settings.xray_sink == "auto"
    assert settings.mix.classes[0].size == 1024
    assert settings.manifest_ttl_days == 8
    assert settings.variants == (PipelineVariant.POWERTOOLS,)


def test_every_variable_is_read() -> None:
    settings = load_settings(
        GeneratorSettings,
        {
            **REQUIRED,
            "SYNTHETIC_PREFIX": "canary/",
            "GENERATOR_COUNT": "120",
            "GENERATOR_SPAN_SECONDS": "30",
            "GENERATOR_ARRIVAL": "Uniform",
            "GENERATOR_SIZES": "4KiB:1:text/csv",
            "GENERATOR_SEED": "42",
            "GENERATOR_WORKERS": "8",
            "GENERATOR_GRACE_SECONDS": "2",
            "MANIFEST_TTL_DAYS": "10",
            "GENERATOR_SEGMENT_NAME": "canary-gen",
            "GENERATOR_XRAY_SINK": "api",
            "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
            "PIPELINE_NAME": "stack",
            "PIPELINE_VARIANTS": "powertools,opentelemetry",
        },
    )
    assert settings.variants == (PipelineVariant.POWERTOOLS, PipelineVariant.OPENTELEMETRY)
    assert settings.arrival is Arrival.UNIFORM
    assert settings.seed == 42
    assert settings.mix.classes[0].content_type == "text/csv"
    assert settings.daemon_address == "169.254.79.129:2000"
    assert settings.pipeline_name == "stack"


def test_an_empty_seed_from_cloudformation_means_random() -> None:
    assert load_settings(GeneratorSettings, {**REQUIRED, "GENERATOR_SEED": ""}).seed is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GENERATOR_COUNT", "-1"),
        ("GENERATOR_COUNT", "many"),
        ("GENERATOR_SPAN_SECONDS", "5000"),
        ("GENERATOR_ARRIVAL", "gaussian"),
        ("GENERATOR_SIZES", "1KiB"),
        ("GENERATOR_WORKERS", "0"),
        ("GENERATOR_XRAY_SINK", "kafka"),
        ("MANIFEST_TTL_DAYS", "0"),
        ("PIPELINE_VARIANTS", "powertools,otel"),
    ],
)
def test_bad_values_name_their_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(GeneratorSettings, {**REQUIRED, variable: value})
    assert variable in str(caught.value)
    assert repr(value) in str(caught.value)


def test_missing_required_variables_are_named() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(GeneratorSettings, {})
    assert "INCOMING_BUCKET (not set)" in str(caught.value)
    assert "MANIFEST_TABLE (not set)" in str(caught.value)
