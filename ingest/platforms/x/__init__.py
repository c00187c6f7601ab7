"""X: API v2 responses with includes."""
