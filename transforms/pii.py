"""Personal data through the models: which columns the dlt schema suspects, and each model column's
lineage computed with sqlglot on dbt's compiled SQL (used by tests/transforms/test_pii_lineage.py, which fails
when a column derived from personal data carries no `meta: {pii: ...}`).

A model column derives from personal data when sqlglot's column lineage reaches a tagged column along a path
that *carries the value*: plain references, renames, COALESCE, CASE results, MIN/MAX and the like. A path
through a reducer (COUNT, SUM, AVG, a comparison or IS NULL test, a window's PARTITION/ORDER) yields a count or
a flag, not the person's data (transforms/DECISIONLOG.md, "PII through lineage").
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope

from sources.leadpanther import settings as s
from sources.leadpanther.helpers.pii import suspected as suspected_category

REDUCERS = (exp.Count, exp.Sum, exp.Avg, exp.Predicate, exp.Not, exp.Length, exp.Connector)
DIALECTS = {"duckdb": "duckdb", "postgres": "postgres"}


def suspected_raw_columns(pipeline: Any) -> list[dict[str, str]]:
    """Raw columns the source tagged in the dlt schema but the catalog does not know (unknown API fields that
    look like personal data): [{table, column, category}]."""
    schema = pipeline.default_schema if pipeline.default_schema_name else None
    found: list[dict[str, str]] = []
    for table_name, table in (schema.tables.items() if schema is not None else []):
        for col_name, col in (table.get("columns") or {}).items():
            if col.get(s.PII_HINT) and col_name not in s.PII_CATALOG.get(table_name, {}):
                category = str(col.get(s.PII_CATEGORY_HINT) or suspected_category("unknown"))
                found.append({"table": table_name, "column": col_name, "category": category})
    return found


def _key(table: exp.Table) -> tuple[str, str, str]:
    return (table.catalog.lower(), table.db.lower(), table.name.lower())


def _carries(expression: exp.Expression, child_name: str) -> bool:
    """Does `expression` pass the value of column `child_name` (e.g. 'base.email') through unreduced?"""
    tbl, _, col = child_name.replace('"', "").rpartition(".")
    tbl = tbl.rpartition(".")[2]
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


def _leaves(node: Node) -> Iterable[tuple[tuple[str, str, str], str]]:
    """(relation key, column) reached from node along value-carrying paths."""
    if isinstance(node.expression, exp.Table):
        yield _key(node.expression), node.name.replace('"', "").rpartition(".")[2]
        return
    for child in node.downstream:
        if _carries(node.expression, child.name):
            yield from _leaves(child)


def lineage_pii(manifest: dict[str, Any], dialect: str) -> dict[tuple[str, str], set[str]]:
    """(model, column) -> PII categories it derives from, for every model column of the manifest (compiled
    SQL required: `dbt compile` or `dbt build`), transitively through models. Sources' `meta.pii` is the
    only input; the models' own meta is what this is checked against."""
    read = DIALECTS.get(dialect, dialect)
    relations: dict[tuple[str, str, str], str] = {}
    schema: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
    tagged: dict[tuple[str, str], set[str]] = {}

    def register(unique_id: str, relation_name: str, columns: Iterable[str]) -> None:
        table = sqlglot.exp.to_table(relation_name, dialect=read)
        relations[_key(table)] = unique_id
        cat, db, name = _key(table)
        schema.setdefault(cat, {}).setdefault(db, {})[name] = dict.fromkeys(columns, "text")

    for uid, src in manifest["sources"].items():
        if src.get("package_name") != "leadpanther":
            continue
        register(uid, src["relation_name"], src["columns"])
        for col, info in src["columns"].items():
            category = (info.get("meta") or {}).get("pii") or (info.get("config", {}).get("meta") or {}).get("pii")
            if category:
                tagged[(uid, col)] = {category}
    models = {
        uid: n for uid, n in manifest["nodes"].items()
        if n["resource_type"] == "model" and n.get("package_name") == "leadpanther"
    }
    order = graphlib.TopologicalSorter(
        {uid: [d for d in n["depends_on"]["nodes"] if d in models] for uid, n in models.items()}
    ).static_order()
    out: dict[tuple[str, str], set[str]] = {}
    for uid in order:
        node = models[uid]
        if not node.get("compiled_code"):
            raise ValueError(f"{uid} has no compiled SQL: run dbt compile first")
        tree = qualify(sqlglot.parse_one(node["compiled_code"], read=read), schema=schema, dialect=read)
        columns = list(tree.named_selects)
        register(uid, node["relation_name"], columns)
        scope = build_scope(tree)
        for col in columns:
            root = lineage(col, tree, schema=schema, dialect=read, scope=scope, copy=False)
            cats: set[str] = set()
            for rel, src_col in _leaves(root):
                upstream = relations.get(rel)
                if upstream is not None:
                    cats |= tagged.get((upstream, src_col), set())
            tagged[(uid, col)] = cats
            out[(node["name"], col)] = cats
    return out


def pii_tag_problems(manifest: dict[str, Any], dialect: str) -> list[str]:
    """Model columns whose `meta.pii` disagrees with their lineage: derived from personal data but untagged,
    tagged with a category none of their sources has, or tagged without deriving from personal data."""
    derived = lineage_pii(manifest, dialect)
    meta: dict[tuple[str, str], str | None] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node.get("package_name") == "leadpanther":
            for col, info in node["columns"].items():
                meta[(node["name"], col)] = (info.get("meta") or {}).get("pii")
    problems = []
    for (model, col), cats in sorted(derived.items()):
        tag = meta.get((model, col))
        if cats and not tag:
            problems.append(f"{model}.{col} derives from personal data ({', '.join(sorted(cats))}) but has no "
                            "`meta: {pii: <category>}` in its schema.yml")
        elif tag and tag not in cats:
            found = ", ".join(sorted(cats)) or "no personal data"
            problems.append(f"{model}.{col} is tagged pii: {tag} but its lineage reaches {found}")
    return problems
