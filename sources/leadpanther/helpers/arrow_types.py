"""The Arrow type of each dlt data type the source writes (settings.py's table shapes use dlt's names)."""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")
ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": TIMESTAMP,
    "json": pa.string(),
    "double": pa.float64(),
    "date": pa.date32(),
}
