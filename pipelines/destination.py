"""The destination as an operator sees it: unreachable, or a DuckDB file another process holds; and what a
destination needs that dlt's default does not give (BigQuery: json columns as STRING, `bigquery_destination`).

dlt reports the first two as "check if you configured the credentials ... your internet connection may be down" with
the real reason cut off; here they become one actionable line, and a locked DuckDB file is waited for (a BI
tool or the duckdb CLI usually lets go within minutes) instead of failing a scheduled run at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Optional

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration
from dlt.destinations.impl.bigquery.factory import BigQueryTypeMapper  # imports no Google client

from pipelines.errors import DestinationLockedError, DestinationUnavailableError
from sources.leadpanther.helpers.errors import ConfigError, exception_chain

DEFAULT_DUCKDB_MEMORY = "256MB"
DEFAULT_DUCKDB_LOCK_WAIT_S = 300.0


@configspec
class DuckDbSettings(BaseConfiguration):
    """`[destination.duckdb]` as this project reads it: dlt's own `credentials` (the file) plus two keys of
    ours. Resolved by dlt, so TOML and DESTINATION__DUCKDB__* env vars both work."""

    credentials: Optional[Any] = None  # noqa: UP045 (dlt reads Optional[...] as "not required")
    """dlt's form: a path string, or a table with `database` (the file)"""
    memory_limit: str = DEFAULT_DUCKDB_MEMORY
    """DuckDB's working memory for loads; merges spill to disk beyond it"""
    lock_wait_s: float = DEFAULT_DUCKDB_LOCK_WAIT_S
    """how long a run waits for a DuckDB file another process holds before giving up (exit 4)"""

    def database(self) -> str | None:
        value = self.credentials
        if isinstance(value, Mapping):
            value = value.get("database")
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ConfigError(f"[destination.duckdb] credentials must be a file path, got {type(value).__name__}")
        return value

    def on_resolved(self) -> None:
        if self.lock_wait_s < 0:
            raise ConfigError(f"[destination.duckdb] lock_wait_s must be >= 0 seconds, got {self.lock_wait_s}")


class JsonAsStringBigQueryTypeMapper(BigQueryTypeMapper):
    """dlt's BigQuery type mapper with json mapped to STRING, which parquet's strings load into. A module-level
    class: dlt hands capabilities to its normalize worker processes, which pickle it by name."""

    sct_to_unbound_dbt = {**BigQueryTypeMapper.sct_to_unbound_dbt, "json": "STRING"}

    def ensure_supported_type(self, column: Any, table: Any, loader_file_format: Any) -> None:
        if column.get("data_type") == "json":
            return  # a STRING column, not JSON: dlt's "no json from parquet" check does not apply
        super().ensure_supported_type(column, table, loader_file_format)


def bigquery_destination(credentials: Any = None, **kwargs: Any) -> Any:
    """dlt's BigQuery destination with json columns as STRING (JSON text), for three reasons:

    * the source yields Arrow tables, which dlt writes as parquet, and BigQuery batch-loads a JSON column only
      from CSV, Avro or newline-delimited JSON (BigQuery's docs), so dlt refuses json in parquet
      (`cannot load data_type=json from file_format=parquet`);
    * forcing JSONL instead would carry each json value as the JSON *string* the source serialized it to
      (dlt's Arrow-to-JSONL writer keeps strings), which a JSON column stores as a string scalar, not the
      object (ASSUMED from third-party reports, not tried on BigQuery);
    * the models read json as text on every warehouse anyway (`lp_type('json')`, transforms/macros/cross_db.sql).

    So only the column's BigQuery type changes, through a capability passed to dlt's destination factory
    (`type_mapper`, which overrides the destination's default); the dlt schema still says json, the parquet
    writer stays the native one, and DuckDB, PostgreSQL and Snowflake keep their JSON/VARIANT columns."""
    from dlt.destinations import bigquery

    return bigquery(credentials=credentials, type_mapper=JsonAsStringBigQueryTypeMapper, **kwargs)


def duckdb_settings() -> DuckDbSettings:
    return resolve_configuration(DuckDbSettings(), sections=("destination", "duckdb"))


LOCK_MARKER = "Could not set lock on file"
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
LOCK_POLL_S = 1.0


def lock_holder(message: str) -> str:
    """'/usr/bin/duckdb (PID 4242)' from DuckDB's lock error, or a generic phrase when it names none."""
    match = _HOLDER.search(message)
    return f"{match['program']} (PID {match['pid']})" if match else "another process"


def locked_error(path: str | Path, message: str, waited_s: float) -> DestinationLockedError:
    waited = f" after waiting {waited_s:.0f} s" if waited_s >= 1 else ""
    return DestinationLockedError(
        f"the DuckDB file {path} is locked by {lock_holder(message)}{waited}. DuckDB lets one process write "
        "a file and nobody else open it meanwhile: close it there (or open it read-only only between runs), "
        "or raise [destination.duckdb] lock_wait_s. Nothing of this run was loaded; what it extracted "
        "stays in the pipeline folder and the next run loads it first"
    )


def destination_error(
    exc: BaseException, destination: str, duckdb_path: Path | None
) -> DestinationUnavailableError | None:
    """The destination problem behind a dlt step failure, or None when the failure is something else."""
    from dlt.destinations.exceptions import DestinationConnectionError

    for inner in exception_chain(exc):
        text = str(inner)
        if LOCK_MARKER in text:
            return locked_error(duckdb_path or "?", text, 0.0)
    for inner in exception_chain(exc):
        module = type(inner).__module__ or ""
        if isinstance(inner, DestinationConnectionError) or (
            module.startswith("psycopg2") and type(inner).__name__ == "OperationalError"
        ):
            reason = str(inner.__cause__ or inner) if isinstance(inner, DestinationConnectionError) else str(inner)
            reason = " ".join(reason.split())[:300]
            return DestinationUnavailableError(
                f"cannot connect to the {destination} destination: {reason}. Check that the server is running "
                f"and [destination.{destination}] credentials (or DESTINATION__{destination.upper()}__CREDENTIALS). "
                "Nothing of this run was loaded"
            )
    return None


def destination_config_error(exc: BaseException, destination: str) -> ConfigError | None:
    """dlt's "missing credentials" for a destination, as the keys a user sets."""
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    missing = next((e for e in exception_chain(exc) if isinstance(e, ConfigFieldMissingException)), None)
    if missing is None or "ClientConfiguration" not in missing.spec_name:
        return None
    return ConfigError(
        f"the {destination} destination has no {', '.join(missing.fields)}: set [destination.{destination}] "
        f"credentials in .dlt/secrets.toml or the env var DESTINATION__{destination.upper()}__CREDENTIALS "
        "(for PostgreSQL: postgresql://user:password@host:5432/database)"
    )


def duckdb_lock_message(path: Path) -> str | None:
    """DuckDB's lock error when another process holds `path`, else None (also when the file is absent)."""
    import duckdb

    if not path.exists():
        return None
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as error:
        if LOCK_MARKER in str(error):
            return str(error)
        raise
    return None


def wait_for_duckdb(
    path: Path, wait_s: float, say: Callable[[str], None] | None = None, *, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Return once no other process holds `path`; raise DestinationLockedError after `wait_s` seconds."""
    started = time.monotonic()
    message = duckdb_lock_message(path)
    if message is None:
        return
    if say is not None:
        say(f"The DuckDB file {path} is locked by {lock_holder(message)}; waiting up to {wait_s:.0f} s for it")
    while True:
        waited = time.monotonic() - started
        if waited >= wait_s:
            raise locked_error(path, message, waited)
        sleep(min(LOCK_POLL_S, wait_s - waited))
        message = duckdb_lock_message(path) or ""
        if not message:
            if say is not None:
                say(f"The DuckDB file is free after {time.monotonic() - started:.0f} s; loading")
            return
