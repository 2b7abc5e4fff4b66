"""In-memory stand-ins for the AWS adapters, with the same rules as the real ones."""

from dataclasses import dataclass, field

from pipeline.items import Item, WriteResult


@dataclass
class InMemoryItemStore:
    """The items table as a dict, applying DynamoDbItemStore's condition: new key or newer sequencer."""

    items: dict[str, Item] = field(default_factory=dict)
    failing_keys: set[str] = field(default_factory=set)
    calls: int = 0

    def put_if_newer(self, item: Item) -> WriteResult:
        self.calls += 1
        if item.item_id in self.failing_keys:
            raise ConnectionError(f"simulated outage writing {item.item_id}")
        existing = self.items.get(item.item_id)
        if existing is not None and not existing.sequencer < item.sequencer:
            return WriteResult.DUPLICATE if existing.sequencer == item.sequencer else WriteResult.STALE
        self.items[item.item_id] = item
        return WriteResult.WRITTEN


@dataclass
class FakeLambdaContext:
    function_name: str = "tracecanary-pipeline"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:tracecanary-pipeline"
    aws_request_id: str = "6f1c3f0e-2b5e-4a8c-9d0e-1f2a3b4c5d6e"
    log_group_name: str = "/aws/lambda/tracecanary-pipeline"
    log_stream_name: str = "2026/11/25/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
