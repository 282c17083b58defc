"""PII tags: raw columns from the dlt schema (PII_CATALOG + suspected columns), model columns by lineage.

A model column is personal data when sqlglot's column lineage reaches a tagged raw column along a path
that *carries the value*: plain references, renames, COALESCE, CASE results, MIN/MAX and the like. A path
through a reducer (COUNT, SUM, AVG, a comparison or IS NULL test, a window's PARTITION/ORDER) yields a
count or a flag, not the person's data, so it does not tag (DECISIONLOG.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope

from sources.leadpanther import settings as s
from sources.leadpanther.helpers.pii import base_category
from sources.leadpanther.helpers.pii import suspected as suspected_category
from transforms.raw import RAW_TABLES
from transforms.sql import RAW_PLACEHOLDER, SOURCE_DIALECT, Model

LINEAGE_MODELS_DB = "__models"
REDUCERS = (exp.Count, exp.Sum, exp.Avg, exp.Predicate, exp.Not, exp.Length, exp.Connector)


@dataclass(frozen=True)
class PiiColumn:
    layer: str  # raw | staging | intermediate | marts
    table: str
    column: str
    category: str
    source_table: str  # the raw table it comes from (itself for raw)
    source_column: str
    suspected: bool = False

    def comment(self) -> str:
        src = "" if self.layer == "raw" else f"; from {self.source_table}.{self.source_column}"
        kind = "suspected personal data" if self.suspected else "personal data"
        return f"PII ({kind}): {self.category}{src}"


def raw_pii_from_schema(dlt_schema=None) -> dict[tuple[str, str], tuple[str, bool]]:
    """(table, column) -> (category, suspected) for raw columns: PII_CATALOG, then the dlt schema's hints.

    The dlt schema holds the catalogued columns (hinted at extract) and the ones the source suspects.
    """
    found: dict[tuple[str, str], tuple[str, bool]] = {}
    for table, cols in s.PII_CATALOG.items():
        for col, cat in cols.items():
            found[(table, col)] = (cat, False)
    if dlt_schema is not None:
        for table_name, table in dlt_schema.tables.items():
            for col_name, col in (table.get("columns") or {}).items():
                if not col.get(s.PII_HINT):
                    continue
                cat = col.get(s.PII_CATEGORY_HINT) or s.PII_CATALOG.get(table_name, {}).get(col_name)
                cat = cat or suspected_category("unknown")
                suspected = base_category(str(cat))[1]
                if (table_name, col_name) not in found or suspected:
                    found[(table_name, col_name)] = (str(cat), suspected)
    return found


def _lineage_sql(model: Model) -> exp.Expression:
    tree = sqlglot.parse_one(model.sql, read=SOURCE_DIALECT)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for t in tree.find_all(exp.Table):
        if not t.db and t.name not in ctes:
            t.set("db", exp.to_identifier(LINEAGE_MODELS_DB))
    return tree


def output_columns(models: Mapping[str, Model]) -> dict[str, list[str]]:
    """Model -> its output columns, from the SQL alone (stars expanded against the raw contract)."""
    schema: dict[str, dict[str, dict[str, str]]] = {
        RAW_PLACEHOLDER: {t: dict.fromkeys(cols, "text") for t, cols in RAW_TABLES.items()},
        LINEAGE_MODELS_DB: {},
    }
    out: dict[str, list[str]] = {}
    for name, model in models.items():
        q = qualify(_lineage_sql(model), schema=schema, dialect=SOURCE_DIALECT)
        cols = list(q.named_selects)
        out[name] = cols
        schema[LINEAGE_MODELS_DB][name] = dict.fromkeys(cols, "text")
    return out


def _carries(expression: exp.Expression, child_name: str) -> bool:
    """Does `expression` pass the value of column `child_name` (e.g. 'base.email') through unreduced?"""
    tbl, _, col = child_name.replace('"', "").rpartition(".")
    root = expression.this if isinstance(expression, exp.Alias) else expression
    refs = [c for c in root.find_all(exp.Column) if c.name == col and (not tbl or c.table in ("", tbl))]
    if isinstance(root, exp.Column):
        refs = refs or [root]
    for ref in refs:
        node, reduced = ref, False
        while node is not None and node is not root:
            parent = node.parent
            if isinstance(parent, REDUCERS) or (
                isinstance(parent, exp.Window) and node.arg_key in ("partition_by", "order")
            ):
                reduced = True
                break
            node = parent
        if not reduced and not isinstance(root, REDUCERS):
            return True
    return False


def _leaves(node: Node) -> Iterable[tuple[str, str]]:
    """(raw table or model, column) reached from node along value-carrying paths."""
    if isinstance(node.expression, exp.Table):
        yield node.expression.name, node.name.replace('"', "").rpartition(".")[2]
        return
    for child in node.downstream:
        if _carries(node.expression, child.name):
            yield from _leaves(child)


def model_pii(
    models: Mapping[str, Model], raw_pii: Mapping[tuple[str, str], tuple[str, bool]]
) -> list[PiiColumn]:
    """Every model column derived from a PII column, in dependency order (transitively through models)."""
    cols_by_model = output_columns(models)
    schema: dict[str, dict[str, dict[str, str]]] = {
        RAW_PLACEHOLDER: {t: dict.fromkeys(cols, "text") for t, cols in RAW_TABLES.items()},
        LINEAGE_MODELS_DB: {n: dict.fromkeys(c, "text") for n, c in cols_by_model.items()},
    }
    tagged: dict[tuple[str, str], list[PiiColumn]] = {}
    result: list[PiiColumn] = []
    for name, model in models.items():
        tree = qualify(_lineage_sql(model), schema=schema, dialect=SOURCE_DIALECT)
        scope = build_scope(tree)
        for col in cols_by_model[name]:
            root = lineage(col, tree, schema=schema, dialect=SOURCE_DIALECT, scope=scope, copy=False)
            seen: set[tuple[str, str, str]] = set()
            for table, src_col in _leaves(root):
                if table in models:
                    upstream = tagged.get((table, src_col), [])
                    sources = [(u.category, u.source_table, u.source_column, u.suspected) for u in upstream]
                else:
                    hit = raw_pii.get((table, src_col))
                    sources = [(hit[0], table, src_col, hit[1])] if hit else []
                for cat, st, sc, sus in sources:
                    if (cat, st, sc) in seen:
                        continue
                    seen.add((cat, st, sc))
                    pc = PiiColumn(model.layer, name, col, cat, st, sc, sus)
                    tagged.setdefault((name, col), []).append(pc)
                    result.append(pc)
    return result
