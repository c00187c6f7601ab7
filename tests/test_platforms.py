"""The platform layout: one package per platform under ingest/platforms/, one record each, payloads beside."""

from __future__ import annotations

import importlib
from pathlib import Path

from valuenet.ingest.parsers import SUPPORTED
from valuenet.ingest.platforms import PLATFORMS
from valuenet.schemas.interaction import Source

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "ingest" / "platforms"
PAYLOADS = Path(__file__).parent / "payloads"
PARTS = ("verify", "read", "fake")


def test_every_platform_folder_has_one_record_and_every_source_one_platform() -> None:
    folders = sorted(p.name for p in PACKAGES.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
    assert folders == sorted(p.name for p in PLATFORMS)
    sources = [s for p in PLATFORMS for s in p.sources]
    assert len(sources) == len(set(sources)) and set(sources) == set(Source) == SUPPORTED


def test_each_record_names_exactly_the_parts_its_folder_holds() -> None:
    for p in PLATFORMS:
        assert (PACKAGES / p.name / "parse.py").is_file(), p.name
        assert callable(importlib.import_module(p.module("parse")).parse), p.name
        for part in PARTS:
            assert (PACKAGES / p.name / f"{part}.py").is_file() is getattr(p, part), (p.name, part)


def test_every_parsed_source_has_its_payloads_in_one_folder() -> None:
    assert not (Path(__file__).parent / "fixtures").exists()
    for s in SUPPORTED - {Source.synth}:  # synth payloads are generated (ingest/synth.py), never stored
        folder = PAYLOADS / s.value
        assert folder.is_dir() and any(folder.iterdir()), s.value
