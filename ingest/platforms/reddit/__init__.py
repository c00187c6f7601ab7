"""Reddit: listings, /comments responses and dumps."""
