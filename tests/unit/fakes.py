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
