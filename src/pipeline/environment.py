"""What a pipeline handler builds once per execution environment: its settings and its item store.

Both twins' handlers import these, so they build the same things the same way; a test replaces the name in
the handler's module (`handlers.pipeline.item_store`), which is where the handler looks it up.
"""

from functools import cache

import boto3
from botocore.config import Config

from pipeline.items import DynamoDbItemStore, ItemStore
from pipeline.settings import PipelineSettings, load_pipeline_settings


@cache
def settings() -> PipelineSettings:
    """Checked once per execution environment (not common.settings: pydantic adds ~80 ms CPU to a cold
    start)."""
    return load_pipeline_settings()


@cache
def item_store() -> ItemStore:
    """The client is built once per execution environment."""
    client = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    return DynamoDbItemStore(client, settings().items_table_name)
