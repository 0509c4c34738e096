"""Validation of exported JSON against the TM Forum Open API schemas in ``tests/data/tmf``."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

TMF = Path(__file__).resolve().parents[1] / "data" / "tmf"


@cache
def validator(api: str, definition: str) -> jsonschema.Validator:
    """A validator for ``definition`` of the ``api`` (e.g. ``TMF642``, ``Alarm``)."""
    (path,) = TMF.glob(f"{api}-*.swagger.json")
    defs = json.loads(path.read_text(encoding="utf-8"))["definitions"]
    schema = {"$ref": f"#/definitions/{definition}", "definitions": defs}
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check(api: str, definition: str, items: list[dict[str, Any]]) -> None:
    """Every item validates; every ``…Time``/``…Date`` string is a real ISO 8601 instant."""
    v = validator(api, definition)
    for item in items:
        errors = sorted(v.iter_errors(item), key=str)
        assert not errors, f"{item.get('id')}: {errors[0].message}"
        for key, value in item.items():
            if key.endswith(("Time", "Date")) and isinstance(value, str):
                datetime.fromisoformat(value)
