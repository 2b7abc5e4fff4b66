"""The pipeline's variants: the same pipeline, traced by Powertools (X-Ray SDK) or by OpenTelemetry.

Each deployed variant is its own function with its own key prefix under the synthetic prefix (S3 notification
filters of one bucket cannot overlap); the generator spreads a run's objects evenly over the deployed ones.
template.yaml's `PipelineVariants` parameter and its notification filters follow these names (an infra test
checks that they agree).
"""

from collections.abc import Sequence
from enum import StrEnum

from common.errors import UserError


class PipelineVariant(StrEnum):
    POWERTOOLS = "powertools"
    OPENTELEMETRY = "opentelemetry"

    @property
    def function_suffix(self) -> str:
        """`<stack>-<suffix>` is the variant's function name (its FunctionName dimension)."""
        return _FUNCTION_SUFFIXES[self]

    @property
    def logical_id(self) -> str:
        """The variant's function in template.yaml."""
        return _LOGICAL_IDS[self]


_FUNCTION_SUFFIXES = {
    PipelineVariant.POWERTOOLS: "pipeline",
    PipelineVariant.OPENTELEMETRY: "pipeline-otel",
}
_LOGICAL_IDS = {
    PipelineVariant.POWERTOOLS: "PipelineFunction",
    PipelineVariant.OPENTELEMETRY: "PipelineOtelFunction",
}
DEFAULT_VARIANTS = (PipelineVariant.POWERTOOLS,)


def parse_variants(text: str, where: str = "variants") -> tuple[PipelineVariant, ...]:
    """`powertools,opentelemetry` -> both, in the order given, once each; a clear error naming `where`."""
    names = [name.strip().lower() for name in text.split(",")]
    if not any(names):
        raise UserError(f"{where}: empty; name one or more of {_choices()}")
    variants: list[PipelineVariant] = []
    for name in names:
        try:
            variant = PipelineVariant(name)
        except ValueError:
            raise UserError(f"{where}: unknown variant {name!r}; choose from {_choices()}") from None
        if variant in variants:
            raise UserError(f"{where}: {name} named twice")
        variants.append(variant)
    return tuple(variants)


def variant_prefix(synthetic_prefix: str, variant: PipelineVariant) -> str:
    """The variant's key prefix, e.g. `synthetic/opentelemetry/`: its function's notification filter."""
    return f"{synthetic_prefix}{variant.value}/"


def function_name(stack_name: str, variant: PipelineVariant) -> str:
    return f"{stack_name}-{variant.function_suffix}"


def spread(count: int, variants: Sequence[PipelineVariant]) -> list[PipelineVariant]:
    """The variant of each of `count` objects in planned order: round robin, so every variant gets the same
    share of the run's time and sizes, and the counts differ by at most one."""
    if not variants:
        raise ValueError("spread over no variant")
    return [variants[sequence % len(variants)] for sequence in range(count)]


def variant_of_key(key: str, synthetic_prefix: str) -> PipelineVariant | None:
    """The variant whose prefix the key is under, None for a key outside every variant's prefix."""
    head = key.removeprefix(synthetic_prefix).partition("/")[0] if key.startswith(synthetic_prefix) else ""
    try:
        return PipelineVariant(head)
    except ValueError:
        return None


def _choices() -> str:
    return ", ".join(variant.value for variant in PipelineVariant)
