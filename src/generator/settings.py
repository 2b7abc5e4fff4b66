"""The generator function's settings, one environment variable each, validated once at cold start."""

from collections.abc import Callable
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from common.emf import MetricsDetail
from common.errors import UserError
from common.settings import EnvSettings
from common.variants import DEFAULT_VARIANTS, PipelineVariant, parse_variants
from generator.payloads import DEFAULT_MIX, PayloadMix, parse_mix
from generator.plan import MAX_COUNT, Arrival
from generator.runner import MAX_WORKERS
from generator.segments import DEFAULT_SEGMENT_NAME

XRaySinkChoice = Literal["auto", "daemon", "api", "off"]
MAX_SPAN_SECONDS = 840  # Lambda's 15-minute limit, less room to flush segments and the manifest


class GeneratorSettings(EnvSettings):
    bucket: str = Field(alias="INCOMING_BUCKET", min_length=3, max_length=63)
    prefix: str = Field("synthetic/", alias="SYNTHETIC_PREFIX")
    count: int = Field(10, alias="GENERATOR_COUNT", ge=1, le=MAX_COUNT)
    span_seconds: float = Field(20.0, alias="GENERATOR_SPAN_SECONDS", ge=0, le=MAX_SPAN_SECONDS)
    arrival: Arrival = Field(Arrival.POISSON, alias="GENERATOR_ARRIVAL")
    sizes: str = Field(DEFAULT_MIX, alias="GENERATOR_SIZES")
    seed: int | None = Field(None, alias="GENERATOR_SEED")
    workers: int = Field(16, alias="GENERATOR_WORKERS", ge=1, le=MAX_WORKERS)
    grace_seconds: float = Field(5.0, alias="GENERATOR_GRACE_SECONDS", ge=0, le=300)
    manifest_table: str = Field(alias="MANIFEST_TABLE", min_length=3, max_length=255)
    manifest_ttl_days: float = Field(8.0, alias="MANIFEST_TTL_DAYS", ge=1, le=365)
    segment_name: str = Field(
        DEFAULT_SEGMENT_NAME, alias="GENERATOR_SEGMENT_NAME", min_length=1, max_length=200
    )
    xray_sink: XRaySinkChoice = Field("auto", alias="GENERATOR_XRAY_SINK")
    daemon_address: str | None = Field(None, alias="AWS_XRAY_DAEMON_ADDRESS")
    pipeline_name: str = Field("tracecanary", alias="PIPELINE_NAME", min_length=1)
    metrics_namespace: str = Field("TraceCanary", alias="POWERTOOLS_METRICS_NAMESPACE", min_length=1)
    metrics_detail: MetricsDetail = Field(MetricsDetail.STANDARD, alias="METRICS_DETAIL")
    # The pipeline twins deployed (template parameter PipelineVariants), each object sent to one in turn.
    pipeline_variants: str = Field(",".join(DEFAULT_VARIANTS), alias="PIPELINE_VARIANTS")

    @field_validator("seed", "daemon_address", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # CloudFormation passes an unset optional parameter as an empty string.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("arrival", mode="before")
    @classmethod
    def _arrival_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("sizes", "pipeline_variants")
    @classmethod
    def _parses(cls, value: str, info: ValidationInfo) -> str:
        """The text is kept as given; its parser's error is the variable's."""
        parse: Callable[[str], object] = parse_mix if info.field_name == "sizes" else parse_variants
        try:
            parse(value)
        except UserError as error:
            raise ValueError(str(error)) from None
        return value

    @property
    def mix(self) -> PayloadMix:
        return parse_mix(self.sizes)

    @property
    def variants(self) -> tuple[PipelineVariant, ...]:
        return parse_variants(self.pipeline_variants)
