"""Connectors: platform payloads → raw envelopes on ``valuenet.raw``; parsers → canonical Interactions."""
