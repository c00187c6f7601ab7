"""JSON Schemas of the pydantic records, generated from the models and committed under ``schemas/json/``.

Regenerate after changing a model: ``python -m valuenet.schemas.jsonschema`` (``--check`` exits 1 when stale).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from valuenet.schemas import SCHEMA_VERSION
from valuenet.schemas.envelope import RawEnvelope
from valuenet.schemas.flow import Flow, FlowRecord
from valuenet.schemas.interaction import Interaction
from valuenet.schemas.metrics import ActorMetrics, Alert, MetricsEvent, NetworkMetrics, SegmentFlow

__all__ = ["MODELS", "SCHEMA_DIR", "render", "write_all", "stale"]

SCHEMA_DIR = Path(__file__).with_name("json")
MODELS: dict[str, type[BaseModel]] = {
    "raw_envelope": RawEnvelope,
    "interaction": Interaction,
    "flow": Flow,
    "flow_record": FlowRecord,
    "actor_metrics": ActorMetrics,
    "network_metrics": NetworkMetrics,
    "segment_flow": SegmentFlow,
    "alert": Alert,
    "metrics_event": MetricsEvent,
}


def render(name: str, model: type[BaseModel]) -> str:
    """The committed text of one model's JSON Schema (validation mode, sorted keys, trailing newline)."""
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://valuenet.dev/schemas/v{SCHEMA_VERSION}/{name}.json"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every model's schema to ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, model in MODELS.items():
        path = directory / f"{name}.json"
        path.write_text(render(name, model), encoding="utf-8")
        paths.append(path)
    return paths


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names whose committed schema differs from the models (or is missing)."""
    out = []
    for name, model in MODELS.items():
        path = directory / f"{name}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != render(name, model):
            out.append(name)
    return out


def main(argv: list[str]) -> int:
    """CLI: write the schemas, or with ``--check`` report stale ones."""
    if "--check" in argv:
        names = stale()
        for n in names:
            print(f"stale: schemas/json/{n}.json")
        return 1 if names else 0
    for p in write_all():
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
