"""Public names of a package imported on first use (a module ``__getattr__``, PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(namespace: dict[str, Any],
               names: Mapping[str, str | tuple[str, str]]) -> Callable[[str], Any]:
    """The ``__getattr__`` of the module whose globals are ``namespace``: each of ``names``
    comes from its module (``"pkg.mod"``, or ``("pkg.mod", "other_name")``) when first
    asked for, and is kept there after. A submodule imported alone then does not load the
    libraries its siblings need."""
    def __getattr__(name: str) -> Any:
        try:
            spec = names[name]
        except KeyError:
            raise AttributeError(
                f"module {namespace['__name__']!r} has no attribute {name!r}") from None
        module, attr = (spec, name) if isinstance(spec, str) else spec
        value = getattr(importlib.import_module(module), attr)
        namespace[name] = value
        return value

    return __getattr__
