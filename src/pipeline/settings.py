"""The pipeline function's settings, from its environment."""

from pydantic import Field

from common.settings import EnvSettings


class PipelineSettings(EnvSettings):
    items_table_name: str = Field(alias="ITEMS_TABLE_NAME", min_length=3, max_length=255)
    pipeline_name: str = Field(alias="PIPELINE_NAME", default="tracecanary", min_length=1)
