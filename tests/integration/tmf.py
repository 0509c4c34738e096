"""Validation of exported JSON against the TM Forum Open API schemas in ``tests/data/tmf``,
with format checking required: a ``format`` the schemas use (``uri``, ``date-time``) that
jsonschema cannot check — its checker's package missing — fails the test instead of passing
silently (``jsonschema[format-nongpl]`` in the dev extra provides them)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

TMF = Path(__file__).resolve().parents[1] / "data" / "tmf"
# OpenAPI's own formats, not JSON Schema's: numbers (nothing beyond the type) and
# ``base64`` (attachment contents, which the twin never exports)
OPENAPI_FORMATS = {"float", "double", "int32", "int64", "base64", "byte", "binary"}


def _formats(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["format"]} if isinstance(node.get("format"), str) else set()
        return own.union(*(_formats(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_formats(v) for v in node))
    return set()


@cache
def validator(api: str, definition: str) -> jsonschema.Validator:
    """A validator for ``definition`` of the ``api`` (e.g. ``TMF642``, ``Alarm``) that
    checks every string format the schema uses."""
    (path,) = TMF.glob(f"{api}-*.swagger.json")
    defs = json.loads(path.read_text(encoding="utf-8"))["definitions"]
    schema = {"$ref": f"#/definitions/{definition}", "definitions": defs}
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    checker = cls.FORMAT_CHECKER
    unchecked = _formats(defs) - OPENAPI_FORMATS - set(checker.checkers)
    assert not unchecked, (f"jsonschema cannot check the formats {sorted(unchecked)} used by "
                           f"{path.name}: install jsonschema[format-nongpl]")
    return cls(schema, format_checker=checker)


def check(api: str, definition: str, items: list[dict[str, Any]]) -> None:
    """Every item validates; every ``…Time``/``…Date`` string is a real ISO 8601 instant."""
    v = validator(api, definition)
    for item in items:
        errors = sorted(v.iter_errors(item), key=str)
        assert not errors, f"{item.get('id')}: {errors[0].message}"
        for key, value in item.items():
            if key.endswith(("Time", "Date")) and isinstance(value, str):
                datetime.fromisoformat(value)
