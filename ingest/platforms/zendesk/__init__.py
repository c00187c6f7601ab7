"""Zendesk: ticket and comment webhooks."""
