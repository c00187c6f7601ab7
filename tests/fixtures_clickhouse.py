"""Placeholder: ClickHouse fixtures (owned by the storage work)."""
