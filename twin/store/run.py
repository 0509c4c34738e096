"""A finished run, read back: summary, tables as DataFrames, and SQL over them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # loaded when a table is read: the command line starts without them
    import duckdb
    import pandas as pd


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested summary as ``{"oss.mttr_s": …}``: dotted keys to the leaves."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


class Run:
    """A run directory. ``run.table("alarms")``; ``run.sql("select … from tickets")``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / "summary.json").exists():
            raise FileNotFoundError(f"{self.path} is not a run directory (no summary.json)")

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @cached_property
    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path / "summary.json").read_text())
        return data

    @cached_property
    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path / "manifest.json").read_text())
        return data

    @cached_property
    def scenario(self) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load((self.path / "scenario.yaml").read_text())
        return data

    @property
    def tables(self) -> list[str]:
        return sorted(p.stem for p in (self.path / "tables").glob("*.parquet"))

    def table(self, name: str) -> pd.DataFrame:
        path = self.path / "tables" / f"{name}.parquet"
        if not path.exists():
            raise KeyError(f"no table {name!r}; tables: {', '.join(self.tables)}")
        import pandas as pd

        return pd.read_parquet(path)

    def story(self, fault: int | None = None) -> pd.DataFrame:
        """Each fault's chain from failure to bill, step by step (see
        :mod:`twin.analysis.story`); ``fault`` picks one fault id."""
        from twin.analysis.story import story

        return story(self.path, fault)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table."""
        import duckdb

        con = duckdb.connect()
        for name in self.tables:
            path = (self.path / "tables" / f"{name}.parquet").as_posix().replace("'", "''")
            con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{path}')")
        return con

    def sql(self, query: str) -> pd.DataFrame:
        con = self.connect()
        try:
            return con.execute(query).df()
        finally:
            con.close()
