"""Bluesky: Jetstream events."""
