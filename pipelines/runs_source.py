"""The run's own records as a dlt source: its `sync_runs` rows, the quarantined records and the drift seen.

Loaded in the same `pipeline.run` as the data, so the data, the cursors and the record of the run are
committed together. Column shapes come from settings.py (the one contract).
"""

from __future__ import annotations

from typing import Any

import dlt

from sources.leadpanther.helpers.records import pii_hint
from sources.leadpanther.helpers.sync_log import SyncLog
from sources.leadpanther.settings import (
    DRIFT_COLUMNS,
    DRIFT_TABLE,
    PII_CATALOG,
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLE,
    SYNC_RUNS_COLUMNS,
    SYNC_RUNS_TABLE,
)


def _column_hints(columns: tuple[tuple[str, str], ...]) -> dict[str, dict[str, Any]]:
    """dlt column hints for the run's own tables, from their shapes in settings.py."""
    return {
        name: {"data_type": data_type, **({"timezone": True} if data_type == "timestamp" else {})}
        for name, data_type in columns
    }


SYNC_RUNS_HINTS: dict[str, dict[str, Any]] = _column_hints(SYNC_RUNS_COLUMNS)
DRIFT_HINTS: dict[str, dict[str, Any]] = _column_hints(DRIFT_COLUMNS)
QUARANTINE_HINTS: dict[str, dict[str, Any]] = _column_hints(QUARANTINE_COLUMNS)
QUARANTINE_HINTS["raw_record"].update(pii_hint(PII_CATALOG[QUARANTINE_TABLE]["raw_record"]))


def runs_source(log: SyncLog) -> Any:
    """The run's own records. The generators read the log only when dlt iterates them, which is after the
    data source: dlt extracts the sources given to one `run` in list order."""

    def sync_rows() -> Any:
        log.close_open()
        yield log.status_table(dlt.current.load_package_state()["load_id"])

    def quarantine_rows() -> Any:
        rows = log.quarantine_rows()
        if rows:
            yield rows

    def drift_rows() -> Any:
        table = log.drift.table(log.run_id, log.synced_at)
        if table is not None:
            yield table

    @dlt.source(name="leadpanther_runs", max_table_nesting=0)
    def leadpanther_runs() -> list[Any]:
        return [
            dlt.resource(sync_rows, name=SYNC_RUNS_TABLE, write_disposition="append", columns=SYNC_RUNS_HINTS),
            dlt.resource(quarantine_rows, name=QUARANTINE_TABLE, write_disposition="append", columns=QUARANTINE_HINTS),
            dlt.resource(drift_rows, name=DRIFT_TABLE, write_disposition="append", columns=DRIFT_HINTS),
        ]

    return leadpanther_runs()
