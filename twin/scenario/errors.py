"""The one error a scenario can have: a list of ``field.path: what is wrong``."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``problems`` lists ``field.path: what is wrong``."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        what = "invalid argument" if source.startswith("--") else "invalid scenario"
        super().__init__(f"{source}: {what}\n" + "\n".join(f"  {p}" for p in problems))
