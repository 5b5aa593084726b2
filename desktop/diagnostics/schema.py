"""The report's JSON Schema, generated from the probes' declared result types.

The published copy is ``resources/report.schema.json``; a test fails when it differs from what
:func:`report_schema` generates, so the schema can never drift from the code.
Regenerate it with ``deskline schema --output resources/report.schema.json``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from desktop.diagnostics.base import result_types
from desktop.diagnostics.findings import SEVERITIES
from desktop.diagnostics.registry import PROBES, probes
from desktop.diagnostics.runner import STATUSES

SCHEMA_ID = "https://deskline.invalid/schemas/report-1.schema.json"


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        options = [_type_schema(a, defs) for a in args if a is not type(None)]
        if type(None) in args:
            options.append({"type": "null"})
        return options[0] if len(options) == 1 else {"anyOf": options}
    if origin is tuple:
        return {"type": "array", "items": _type_schema(args[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(args[1], defs)}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            defs[name] = _dataclass_schema(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"type {tp!r} is not allowed in a probe result")


def _dataclass_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    hints = result_types(cls)
    props: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        schema = _type_schema(hints[f.name], defs)
        desc = f.metadata.get("doc", "")
        unit = f.metadata.get("unit", "")
        if unit:
            desc = f"{desc} [{unit}]"
        props[f.name] = {**schema, "description": desc} if "$ref" not in schema else {"allOf": [schema],
                                                                                       "description": desc}
    return {
        "type": "object",
        "description": (cls.__doc__ or cls.__name__).strip().splitlines()[0],
        "properties": props,
        "required": [f.name for f in dataclasses.fields(cls)],
        "additionalProperties": False,
    }


def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a report document."""
    defs: dict[str, Any] = {}
    probe_props: dict[str, Any] = {}
    for p in probes():
        data = _type_schema(p.result_type, defs)
        probe_props[p.name] = {
            "type": "object",
            "description": p.title,
            "properties": {
                "title": {"type": "string"},
                "status": {"enum": list(STATUSES)},
                "duration_ms": {"type": "number", "minimum": 0},
                "error": {"type": ["string", "null"]},
                "data": {"anyOf": [data, {"type": "null"}]},
            },
            "required": ["title", "status", "duration_ms", "error", "data"],
            "additionalProperties": False,
            "if": {"properties": {"status": {"const": "ok"}}},
            "then": {"properties": {"data": data, "error": {"type": "null"}}},
            "else": {"properties": {"data": {"type": "null"}, "error": {"type": "string"}}},
        }
    scalar = {"type": ["string", "number", "integer", "boolean", "null"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Deskline diagnostic report",
        "description": "A system report collected by Deskline: probe results, findings, redaction record.",
        "type": "object",
        "required": [
            "format", "schema_version", "report_id", "created", "app", "platform", "host", "collector",
            "findings", "probes", "timings", "redaction", "attachments",
        ],
        "additionalProperties": False,
        "properties": {
            "format": {"const": "deskline-report"},
            "schema_version": {"const": 1},
            "report_id": {"type": "string",
                          "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"},
            "created": {"type": "string", "format": "date-time"},
            "app": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                               "python": {"type": "string"}},
                "required": ["name", "version", "python"],
                "additionalProperties": False,
            },
            "platform": {"type": "string"},
            "host": {"type": "string"},
            "collector": {"enum": ["local", "agent"]},
            "findings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "pattern": "^[a-z_]+\\.[a-z_.]+$"},
                        "severity": {"enum": list(SEVERITIES)},
                        "title": {"type": "string", "minLength": 1},
                        "detail": {"type": "string"},
                        "next_step": {"type": "string", "minLength": 1},
                        "probe": {"enum": list(PROBES)},
                        "subject": {"type": "string"},
                        "evidence": {"type": "object", "additionalProperties": scalar},
                    },
                    "required": ["id", "severity", "title", "detail", "next_step", "probe", "subject", "evidence"],
                    "additionalProperties": False,
                },
            },
            "probes": {
                "type": "object",
                "properties": probe_props,
                "additionalProperties": False,
            },
            "timings": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0},
                        "required": ["total_ms"]},
            "redaction": {
                "type": "object",
                "properties": {
                    "pseudonymized": {"type": "boolean"},
                    "maskings": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "kind": {"type": "string"},
                                "where": {"type": "string"},
                                "line": {"type": ["integer", "null"]},
                                "count": {"type": "integer", "minimum": 1},
                            },
                            "required": ["kind", "where", "count"],
                        },
                    },
                },
                "required": ["pseudonymized", "maskings"],
                "additionalProperties": False,
            },
            "attachments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "size": {"type": "integer", "minimum": 0},
                        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        "media_type": {"type": "string"},
                        "redacted": {"type": "boolean"},
                    },
                    "required": ["name", "size", "sha256", "media_type", "redacted"],
                    "additionalProperties": False,
                },
            },
        },
        "$defs": defs,
    }
