"""Model files, their dependency order and their SQL in each destination's dialect.

Models are plain ``.sql`` files in DuckDB's dialect under ``models/<layer>/``. A model refers to a raw table
as ``raw.<table>`` and to another model by its bare name; nothing else. The order models run in is found
by parsing each file with sqlglot and listing the tables it reads (no hand-kept list). Each model states
its grain in a ``-- Grain:`` header line and its key columns in a ``-- Key:`` line (used by the data tests).
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import sqlglot
from sqlglot import exp

from transforms.raw import RAW_TABLES, sql_type

MODELS_DIR = Path(__file__).parent / "models"
LAYERS = ("staging", "intermediate", "marts")
SOURCE_DIALECT = "duckdb"
RAW_PLACEHOLDER = "raw"  # schema name model SQL uses for raw tables
MODELS_SCHEMA_SUFFIX = "_models"


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str
    grain: str
    key: tuple[str, ...]
    depends_on: frozenset[str] = field(default_factory=frozenset)
    raw_tables: frozenset[str] = field(default_factory=frozenset)

    @property
    def materialization(self) -> str:
        return "table" if self.layer == "marts" else "view"


def _header(sql: str, label: str) -> str | None:
    m = re.search(rf"^--\s*{label}:\s*(.+)$", sql, flags=re.MULTILINE | re.IGNORECASE)
    return m.group(1).strip() if m else None


def _tables(tree: exp.Expression) -> tuple[set[str], set[str]]:
    """(models read, raw tables read) by one parsed model; CTE names are not tables."""
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    models, raws = set(), set()
    for t in tree.find_all(exp.Table):
        if t.db == RAW_PLACEHOLDER:
            raws.add(t.name)
        elif not t.db and t.name not in ctes:
            models.add(t.name)
    return models, raws


@cache
def load_models(models_dir: Path = MODELS_DIR) -> dict[str, Model]:
    """All models, keyed by name, in dependency order."""
    found: dict[str, Model] = {}
    for layer in LAYERS:
        for path in sorted((models_dir / layer).glob("*.sql")):
            sql = path.read_text()
            tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
            models, raws = _tables(tree)
            grain = _header(sql, "Grain")
            key = _header(sql, "Key")
            if not grain or not key:
                raise ValueError(f"{path}: a model states its grain and key ('-- Grain:', '-- Key:')")
            unknown = raws - set(RAW_TABLES)
            if unknown:
                raise ValueError(f"{path}: unknown raw tables {sorted(unknown)}")
            found[path.stem] = Model(
                name=path.stem,
                layer=layer,
                path=path,
                sql=sql,
                grain=grain,
                key=tuple(k.strip() for k in key.split(",")),
                depends_on=frozenset(models),
                raw_tables=frozenset(raws),
            )
    for m in found.values():
        missing = m.depends_on - set(found)
        if missing:
            raise ValueError(f"{m.path}: reads unknown models {sorted(missing)}")
    sorter = graphlib.TopologicalSorter({n: sorted(m.depends_on) for n, m in sorted(found.items())})
    order = list(sorter.static_order())  # raises CycleError on a cycle
    return {n: found[n] for n in order}


def models_schema_name(dataset_name: str) -> str:
    return f"{dataset_name}{MODELS_SCHEMA_SUFFIX}"


def raw_subquery(
    table: str, raw_schema: str, present_columns: set[str] | None, alias: str
) -> exp.Expression:
    """A subquery projecting every contract column of a raw table, typed; absent ones as typed NULLs.

    present_columns None: the table does not exist (typed empty result). A set: the columns it has.
    """
    cols = RAW_TABLES[table]
    select = []
    for col, dlt_type in cols.items():
        typ = sql_type(dlt_type)
        if present_columns is not None and col in present_columns:
            select.append(f'CAST("{col}" AS {typ}) AS "{col}"')
        else:
            select.append(f'CAST(NULL AS {typ}) AS "{col}"')
    if present_columns is None:
        # one NULL row filtered out: no FROM needed, so the dialect never sees a missing table
        body = f"SELECT {', '.join(select)} WHERE 1 = 0"
    else:
        body = f'SELECT {", ".join(select)} FROM "{raw_schema}"."{table}"'
    return exp.Subquery(this=sqlglot.parse_one(body, read=SOURCE_DIALECT), alias=exp.TableAlias(
        this=exp.to_identifier(alias, quoted=True)))


def render(
    model: Model,
    dialect: str,
    raw_schema: str,
    models_schema: str,
    raw_columns: Mapping[str, set[str] | None] | None = None,
    pretty: bool = False,
    identify: bool = True,
) -> str:
    """The model's SELECT in ``dialect``, reading the real raw tables and models schemas.

    raw_columns: table -> its columns in the destination (None if the table is absent). Not given:
    every contract column is assumed present (transpile-only use).
    """
    tree = sqlglot.parse_one(model.sql, read=SOURCE_DIALECT)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for t in list(tree.find_all(exp.Table)):
        if t.db == RAW_PLACEHOLDER:
            present = set(RAW_TABLES[t.name]) if raw_columns is None else raw_columns.get(t.name)
            t.replace(raw_subquery(t.name, raw_schema, present, t.alias_or_name))
        elif not t.db and t.name not in ctes:
            t.set("db", exp.to_identifier(models_schema, quoted=True))
    return tree.sql(dialect=dialect, pretty=pretty, identify=identify)


def transpile_models(
    dialect: str,
    dataset_name: str = "leadpanther",
    models_schema: str | None = None,
    pretty: bool = True,
) -> dict[str, str]:
    """Model name -> its SELECT in ``dialect`` (e.g. "bigquery", "snowflake", "postgres", "duckdb")."""
    schema = models_schema or models_schema_name(dataset_name)
    return {
        name: render(m, dialect, dataset_name, schema, None, pretty=pretty, identify=False)
        for name, m in load_models().items()
    }
