"""Where the project's files live: `.dlt/`, `data/` (the DuckDB file, pipeline folders, logs).

Everything is under the project folder (DLT_PROJECT_DIR if set, else the working directory), so a scheduler
that starts the CLI elsewhere with DLT_PROJECT_DIR set finds the same files as `make run`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .destination import duckdb_settings

DEFAULT_DUCKDB_FILE = "leadpanther_elt.duckdb"
DEMO_DUCKDB_FILE = "leadpanther_demo.duckdb"


def project_dir() -> Path:
    """Where `.dlt/` and `data/` live: DLT_PROJECT_DIR if set, else the working directory."""
    return Path(os.environ.get("DLT_PROJECT_DIR") or os.getcwd())


def data_dir() -> Path:
    return project_dir() / "data"


def default_duckdb_path() -> Path:
    return data_dir() / DEFAULT_DUCKDB_FILE


def default_pipelines_dir() -> Path:
    return data_dir() / "pipelines"


def logs_dir() -> Path:
    return data_dir() / "logs"


def resolve_duckdb_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file: `--duckdb-path` > dlt's `[destination.duckdb] credentials` (or
    DESTINATION__DUCKDB__CREDENTIALS) > data/leadpanther_elt.duckdb. A relative configured path is taken
    from the project folder, like the default."""
    configured = Path(explicit) if explicit else None
    if configured is None:
        database = duckdb_settings().database()
        configured = Path(database) if database else default_duckdb_path()
    return configured if configured.is_absolute() else project_dir() / configured
