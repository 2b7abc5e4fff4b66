import pytest

from common.errors import UserError
from common.variants import (
    PipelineVariant,
    function_name,
    parse_variants,
    spread,
    variant_of_key,
    variant_prefix,
)

POWERTOOLS, OPENTELEMETRY = PipelineVariant.POWERTOOLS, PipelineVariant.OPENTELEMETRY


def test_variants_are_read_in_the_order_given_whatever_the_case_and_spaces() -> None:
    assert parse_variants("powertools") == (POWERTOOLS,)
    assert parse_variants(" OpenTelemetry , powertools ") == (OPENTELEMETRY, POWERTOOLS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "PIPELINE_VARIANTS: empty; name one or more of powertools, opentelemetry"),
        (" , ", "PIPELINE_VARIANTS: empty"),
        ("powertools,otel", "PIPELINE_VARIANTS: unknown variant 'otel'; choose from powertools, opentel"),
        ("powertools,,opentelemetry", "PIPELINE_VARIANTS: unknown variant ''"),
        ("powertools,Powertools", "PIPELINE_VARIANTS: powertools named twice"),
    ],
)
def test_a_bad_list_says_what_and_where(text: str, message: str) -> None:
    with pytest.raises(UserError, match=f"^{message}"):
        parse_variants(text, where="PIPELINE_VARIANTS")


def test_each_twin_has_its_function_and_prefix() -> None:
    assert function_name("tc", POWERTOOLS) == "tc-pipeline"
    assert function_name("tc", OPENTELEMETRY) == "tc-pipeline-otel"
    assert variant_prefix("synthetic/", OPENTELEMETRY) == "synthetic/opentelemetry/"
    # neither prefix is a prefix of the other: S3 refuses overlapping notification filters
    first, second = (variant_prefix("synthetic/", variant) for variant in PipelineVariant)
    assert not first.startswith(second)
    assert not second.startswith(first)


def test_objects_go_to_the_twins_in_turn() -> None:
    assert spread(5, (POWERTOOLS, OPENTELEMETRY)) == [POWERTOOLS, OPENTELEMETRY] * 2 + [POWERTOOLS]
    assert spread(3, (POWERTOOLS,)) == [POWERTOOLS] * 3
    with pytest.raises(ValueError, match="no variant"):
        spread(3, ())


@pytest.mark.parametrize(
    ("key", "variant"),
    [
        ("synthetic/opentelemetry/ab/2026-12-02/run/000001.json", OPENTELEMETRY),
        ("synthetic/powertools/ab/x.json", POWERTOOLS),
        ("synthetic/ab/2026-12-02/run/000001.json", None),  # written before the twins
        ("elsewhere/powertools/x.json", None),
    ],
)
def test_a_key_tells_its_twin(key: str, variant: PipelineVariant | None) -> None:
    assert variant_of_key(key, "synthetic/") is variant
