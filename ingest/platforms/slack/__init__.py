"""Slack: Events API callbacks and export directories."""
