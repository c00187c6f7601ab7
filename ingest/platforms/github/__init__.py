"""GitHub: webhooks and GH Archive NDJSON."""
