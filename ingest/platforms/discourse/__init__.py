"""Discourse: webhooks and API posts."""
