"""Jira (Cloud and Server) and Confluence webhooks."""
