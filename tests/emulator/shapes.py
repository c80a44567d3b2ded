"""A small recursive validator of values against botocore's ``mturk`` shapes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import botocore.session
from botocore.model import ServiceModel, Shape

_MODEL: ServiceModel | None = None


def model() -> ServiceModel:
    global _MODEL
    if _MODEL is None:
        _MODEL = botocore.session.get_session().get_service_model("mturk")
    return _MODEL


def validate(value: Any, shape: Shape, path: str = "$", *, raw: bool) -> list[str]:
    """Problems of ``value`` against ``shape`` (empty list = valid).

    ``raw``: the value is decoded wire JSON (timestamps are numbers) rather than a
    botocore-parsed result (timestamps are datetimes, ResponseMetadata allowed).
    """
    errs: list[str] = []
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {type(value).__name__}"]
        for k, v in value.items():
            if k == "ResponseMetadata" and not raw and path == "$":
                continue
            if k not in shape.members:
                errs.append(f"{path}: unknown member {k!r}")
                continue
            errs += validate(v, shape.members[k], f"{path}.{k}", raw=raw)
        for req in shape.required_members:
            if req not in value:
                errs.append(f"{path}: missing required member {req!r}")
    elif t == "list":
        if not isinstance(value, list):
            return [f"{path}: expected list, got {type(value).__name__}"]
        for i, item in enumerate(value):
            errs += validate(item, shape.member, f"{path}[{i}]", raw=raw)
    elif t == "string":
        if not isinstance(value, str):
            return [f"{path}: expected string, got {type(value).__name__}"]
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            errs.append(f"{path}: {value!r} not in enum {enum}")
        meta = shape.metadata
        if "min" in meta and len(value) < meta["min"]:
            errs.append(f"{path}: shorter than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            errs.append(f"{path}: longer than {meta['max']}")
        if "pattern" in meta:
            import re

            if not re.match(meta["pattern"], value):
                errs.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            errs.append(f"{path}: expected {t}, got {type(value).__name__}")
    elif t == "double" or t == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errs.append(f"{path}: expected number, got {type(value).__name__}")
    elif t == "boolean":
        if not isinstance(value, bool):
            errs.append(f"{path}: expected boolean, got {type(value).__name__}")
    elif t == "timestamp":
        if raw:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errs.append(f"{path}: expected epoch-seconds number, got {value!r}")
        elif not isinstance(value, dt.datetime):
            errs.append(f"{path}: expected datetime, got {type(value).__name__}")
    else:
        errs.append(f"{path}: unsupported shape type {t}")
    return errs


def assert_output(op: str, value: Any, *, raw: bool = False) -> None:
    """Assert ``value`` is a valid output of ``op``."""
    shape = model().operation_model(op).output_shape
    problems = validate(value, shape, raw=raw) if shape is not None else []
    assert not problems, "\n".join(problems[:20])
