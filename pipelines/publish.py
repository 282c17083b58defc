"""Publish what dashboards read to a DuckDB file of its own, so a dashboard never blocks a load.

DuckDB lets one process write a file or many read it, never both: a BI tool that keeps the loader's file open
(even read-only) makes every scheduled run wait `lock_wait_s` and exit 4. So after each run that built the
models, the marts (every table of `<dataset>_models`; the raw tables too with `publish_raw = true`) are copied
into a new file under a temporary name beside the published one, checkpointed, fsynced and `os.replace`d
onto it. A reader that holds the old file keeps a consistent snapshot (its open descriptor still names the
old file's data); a new connection sees the whole new publication; the loader never opens the published
file, so no reader can make it wait. Views (staging, intermediate) are not copied: they read raw tables by
name and are the models' inputs, not what dashboards read.

Each publication carries `<dataset>_models._lp_publication`: one row per table copied, with the run id, the
time and the row count, so a reader can check that what it sees is one whole publication.

Configuration, `[destination.duckdb.dashboards]` (or DESTINATION__DUCKDB__DASHBOARDS__*):
`publish` (default true), `file` (default `<main file>_dashboards.duckdb` beside the main file),
`publish_raw` (default false). PostgreSQL and the other warehouses need none of this: their readers never
block writers.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration

from pipelines.errors import PublishError
from sources.leadpanther.helpers.errors import ConfigError

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

PUBLICATION_TABLE = "_lp_publication"
DASHBOARDS_SUFFIX = "_dashboards"
SOURCE_ALIAS = "lp_publish_source"  # the main file, attached read-only into the file being written


@configspec
class DashboardsSettings(BaseConfiguration):
    """`[destination.duckdb.dashboards]`: the file dashboards read."""

    publish: bool = True
    """write the dashboards file after each run that built the models"""
    # Not `path`: dlt looks a key up in the enclosing sections too, and would find the PATH env var.
    file: Optional[str] = None  # noqa: UP045 (dlt reads Optional[...] as "not required")
    """the published file; default `<main file stem>_dashboards.duckdb` beside the main file"""
    publish_raw: bool = False
    """also copy the raw tables (the dataset's own, without dlt's `_dlt_*` tables)"""


def dashboards_settings() -> DashboardsSettings:
    return resolve_configuration(DashboardsSettings(), sections=("destination", "duckdb", "dashboards"))


@dataclass
class Publication:
    """One publication: where, what (table -> rows), what it cost."""

    path: Path
    publication_id: str
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    size_bytes: int = 0

    def line(self) -> str:
        rows = sum(self.tables.values())
        return (
            f"  dashboards: published {len(self.tables)} tables ({rows:,} rows, {self.size_bytes / 1e6:.1f} MB) in "
            f"{self.seconds:.2f} s to {self.path} (open it read-only; docs/dashboards.md)"
        )


def dashboards_path(main: Path, settings: DashboardsSettings | None = None) -> Path | None:
    """The published file for the main DuckDB file `main`, or None when publishing is off."""
    settings = settings or dashboards_settings()
    if not settings.publish:
        return None
    if settings.file:
        configured = Path(settings.file)
        return configured if configured.is_absolute() else main.parent / configured
    return main.with_name(f"{main.stem}{DASHBOARDS_SUFFIX}{main.suffix or '.duckdb'}")


def check_dashboards_path(main: Path | None, dataset: str) -> Path | None:
    """The published file, after refusing names that cannot work: the main file itself, or a file named like
    a schema it holds (DuckDB would see a catalog and a schema of one name: "Ambiguous reference")."""
    if main is None:
        return None
    path = dashboards_path(main)
    if path is None:
        return None
    if path.resolve() == main.resolve():
        raise ConfigError(
            f"[destination.duckdb.dashboards] file {path} is the loader's own file; dashboards need a file of "
            "their own (the default is <main file>_dashboards.duckdb)"
        )
    from transforms.runner import models_schema_name

    if path.stem in (dataset, models_schema_name(dataset)):
        raise ConfigError(
            f"the dashboards file {path.name!r} is named like the schema {path.stem!r} it would hold; DuckDB "
            "would see a catalog and a schema of one name. Set [destination.duckdb.dashboards] file to another name"
        )
    return path


def publish_dashboards(main: Path | None, dataset: str, publication_id: str) -> Publication | None:
    """Publish the models (and raw tables if configured) of `main` for dashboards; None when not DuckDB or
    publishing is off. Raises PublishError when the file cannot be written; the published file is then
    untouched."""
    import duckdb

    from transforms.runner import models_schema_name

    path = check_dashboards_path(main, dataset)
    if main is None or path is None:
        return None
    started = time.monotonic()
    schemas = [models_schema_name(dataset)] + ([dataset] if dashboards_settings().publish_raw else [])
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    _unlink(temporary)
    publication = Publication(path, publication_id)
    try:
        with duckdb.connect(str(temporary)) as con:
            con.execute(f"ATTACH {_literal(str(main))} AS {SOURCE_ALIAS} (READ_ONLY)")
            for schema, table in _tables(con, schemas):
                publication.tables[f"{schema}.{table}"] = _copy_table(con, schema, table)
            _copy_comments(con, schemas)
            _write_publication(con, schemas[0], publication)
            con.execute(f"DETACH {SOURCE_ALIAS}")
            con.execute("CHECKPOINT")
        _fsync(temporary)
        os.replace(temporary, path)
        _fsync(path.parent)
    except (duckdb.Error, OSError) as error:
        _unlink(temporary)
        reason = " ".join(str(error).split())[:300]
        raise PublishError(f"could not publish the dashboards file {path}: {type(error).__name__}: {reason}") from error
    publication.seconds = time.monotonic() - started
    publication.size_bytes = path.stat().st_size
    return publication


def publish_and_say(main: Path | None, dataset: str, say: Callable[[str], None]) -> bool:
    """`leadpanther-elt transform`'s publication (a run's goes through SyncResult): False when it failed."""
    try:
        publication = publish_dashboards(main, dataset, f"transform {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
    except PublishError as error:
        say(f"  DASHBOARDS NOT PUBLISHED: {error}")
        return False
    if publication is not None:
        say(publication.line())
    return True


def _tables(con: DuckDBPyConnection, schemas: list[str]) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name IN "
        f"({', '.join('?' for _ in schemas)}) AND NOT starts_with(table_name, '_dlt_') AND table_name <> ? "
        "ORDER BY schema_name, table_name",
        [SOURCE_ALIAS, *schemas, PUBLICATION_TABLE],
    ).fetchall()
    return [(s, t) for s, t in rows]


def _copy_table(con: DuckDBPyConnection, schema: str, table: str) -> int:
    name = f"{_ident(schema)}.{_ident(table)}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM {SOURCE_ALIAS}.{name}")
    return int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])


def _copy_comments(con: DuckDBPyConnection, schemas: list[str]) -> None:
    """Table and column comments (the models' descriptions and PII tags) travel with the tables."""
    marks = ", ".join("?" for _ in schemas)
    tables = con.execute(
        f"SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE database_name = ? AND schema_name IN "
        f"({marks}) AND comment IS NOT NULL AND comment <> ''",
        [SOURCE_ALIAS, *schemas],
    ).fetchall()
    columns = con.execute(
        f"SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() WHERE database_name = ? AND "
        f"schema_name IN ({marks}) AND comment IS NOT NULL AND comment <> ''",
        [SOURCE_ALIAS, *schemas],
    ).fetchall()
    published = {tuple(r) for r in _published_tables(con)}
    for schema, table, comment in tables:
        if (schema, table) in published:
            con.execute(f"COMMENT ON TABLE {_ident(schema)}.{_ident(table)} IS {_literal(comment)}")
    for schema, table, column, comment in columns:
        if (schema, table) in published:
            target = f"{_ident(schema)}.{_ident(table)}.{_ident(column)}"
            con.execute(f"COMMENT ON COLUMN {target} IS {_literal(comment)}")


def _published_tables(con: DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()


def _write_publication(con: DuckDBPyConnection, schema: str, publication: Publication) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
    name = f"{_ident(schema)}.{PUBLICATION_TABLE}"
    con.execute(
        f"CREATE TABLE {name} (publication_id VARCHAR, published_at TIMESTAMPTZ, table_name VARCHAR, row_count BIGINT)"
    )
    now = datetime.now(UTC)
    con.executemany(
        f"INSERT INTO {name} VALUES (?, ?, ?, ?)",
        [(publication.publication_id, now, t, n) for t, n in publication.tables.items()],
    )
    description = "Each record represents one table of this publication: the run that published it, its row count."
    con.execute(f"COMMENT ON TABLE {name} IS {_literal(description)}")


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files left by a publisher that was killed (its process no longer exists)."""
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        pid = stale.name.rsplit("-", 1)[-1].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            _unlink(stale)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unlink(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
