"""The dlt pipeline for this project, and the names a shard's pipeline and staging dataset take.

A shard is its own pipeline (`<name>_shard_K`: its own state, so its own cursors) with its own staging
dataset (`<dataset>_staging_shard_K`): shards that merge at once into one dataset never share staging tables
(dlt#4297). Both names leave N out, so shard K keeps its cursors when N changes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import dlt
from dlt.common.destination import Destination
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from sources.leadpanther.helpers.errors import ConfigError
from sources.leadpanther.helpers.shards import Shard, parse_shard

from .destination import bigquery_destination, duckdb_settings
from .paths import default_pipelines_dir, resolve_duckdb_path

PIPELINE_NAME = "leadpanther"
DEMO_PIPELINE_NAME = "leadpanther_demo"
DEFAULT_DATASET = "leadpanther"
SHARD_PIPELINE = re.compile(r"_shard_\d+$")


def shard_pipeline_name(base: str, shard: Shard | None) -> str:
    return base if shard is None else f"{base}_{shard.suffix}"


def make_pipeline(
    destination: str | Any = "duckdb",
    dataset_name: str | None = None,
    *,
    duckdb_path: str | os.PathLike[str] | None = None,
    credentials: Any = None,
    pipelines_dir: str | os.PathLike[str] | None = None,
    pipeline_name: str = PIPELINE_NAME,
    duckdb_memory_limit: str | None = None,
    shard: Shard | str | None = None,
) -> dlt.Pipeline:
    """A dlt pipeline for this project. DuckDB gets a file under data/ whose name cannot collide with the
    dataset (a DuckDB file named like its dataset makes every query ambiguous)."""
    dataset_name = dataset_name or DEFAULT_DATASET
    parsed = parse_shard(shard)
    extra: dict[str, Any] = {}
    if parsed is not None:
        pipeline_name = shard_pipeline_name(pipeline_name, parsed)
        extra["staging_dataset_name_layout"] = f"%s_staging_{parsed.suffix}"
    if destination == "duckdb":
        path = resolve_duckdb_path(duckdb_path)
        if path.stem == dataset_name:
            raise ConfigError(
                f"the DuckDB file {path.name!r} is named like the dataset {dataset_name!r}; DuckDB would see "
                "two catalogs/schemas with one name. Rename the file or pick another --dataset."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        # A memory cap makes DuckDB spill large merges to disk instead of growing with the dataset.
        limit = duckdb_memory_limit or duckdb_settings().memory_limit
        destination = dlt.destinations.duckdb(
            DuckDbCredentials(str(path), global_config={"memory_limit": limit}), **extra
        )
    elif destination == "bigquery":
        destination = bigquery_destination(credentials, **extra)
    elif destination == "postgres" and credentials is not None:
        destination = dlt.destinations.postgres(credentials, **extra)
    elif isinstance(destination, str) and (extra or credentials is not None):
        destination = Destination.from_reference(destination, credentials=credentials, **extra)
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=destination,
        dataset_name=dataset_name,
        pipelines_dir=str(pipelines_dir or default_pipelines_dir()),
    )


def duckdb_file(pipeline: dlt.Pipeline) -> Path | None:
    """The DuckDB file the pipeline loads into, or None for other destinations."""
    destination = pipeline.destination
    if destination is None or destination.destination_name != "duckdb":
        return None
    credentials = destination.config_params.get("credentials")
    database = getattr(credentials, "database", credentials)
    return Path(database) if isinstance(database, str) and not database.startswith(":") else None
