"""Placeholder: real Kafka broker fixtures (owned by the local-stack work)."""
