"""A bounded item-id → author map, to resolve reply targets that name only a parent."""

from __future__ import annotations

from collections import OrderedDict


class ParentIndex:
    """LRU map from item id to author id, at most ``capacity`` entries."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, str] = OrderedDict()

    def remember(self, item_id: str, author: str) -> None:
        """Record that ``author`` wrote ``item_id``."""
        self._items[item_id] = author
        self._items.move_to_end(item_id)
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def author_of(self, item_id: str | None) -> str | None:
        """The author of ``item_id`` if seen, else None."""
        if item_id is None:
            return None
        return self._items.get(item_id)

    def __len__(self) -> int:
        return len(self._items)
