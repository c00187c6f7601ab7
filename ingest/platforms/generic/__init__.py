"""Generic JSONL/CSV with a YAML/TOML column mapping (also the synth source)."""
