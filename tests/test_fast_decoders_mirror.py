"""The msgspec structs of the hot paths mirror their pydantic models: a field added to one and not the other fails here."""

from __future__ import annotations

import msgspec
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from valuenet.schemas import Flow, RawEnvelope
from valuenet.schemas.envelope import _Envelope
from valuenet.schemas.flow import _FlowStruct


def _struct_fields(struct: type[msgspec.Struct]) -> dict[str, object]:
    """Field name → default (``...`` when required), in declaration order."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    out: dict[str, object] = {}
    for f in info.fields:
        out[f.name] = ... if f.required else f.default
    return out


def _model_fields(model: type[BaseModel]) -> dict[str, object]:
    return {
        name: ... if f.is_required() else (f.default if f.default is not PydanticUndefined else "<factory>")
        for name, f in model.model_fields.items()
    }


def test_flow_struct_has_every_flow_field_in_order_with_the_same_defaults() -> None:
    # the builder takes the struct's values in order, so order matters as much as the names
    assert _struct_fields(_FlowStruct) == _model_fields(Flow)
    assert list(_struct_fields(_FlowStruct)) == list(Flow.model_fields)


def test_envelope_struct_has_every_envelope_field() -> None:
    struct, model = _struct_fields(_Envelope), _model_fields(RawEnvelope)
    assert set(struct) == set(model)
    required = {n for n, d in model.items() if d is ...}
    assert {n for n, d in struct.items() if d is ...} == required
