"""Mastodon: entities, notifications, streaming frames and SSE."""
