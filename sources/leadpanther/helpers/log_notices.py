"""dlt's notice that our declared column hints differ from what Arrow can express, dropped for our tables.

dlt warns on every batch that the hints (json, not-null keys) differ from the Arrow schema; that difference
is intended (docs/tables.md). The filter is installed by the run that uses the source (`quiet_expected_
hint_notices()`), not on import: importing a library should not change the process's logging.
"""

from __future__ import annotations

import logging

from ..settings import PRIMARY_KEYS


class ExpectedArrowHintNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "several column hints were different" in message
            and any(f"In resource: {name}," in message for name in PRIMARY_KEYS)
        )


def quiet_expected_hint_notices() -> None:
    """Install the filter on dlt's logger once (idempotent)."""
    logger = logging.getLogger("dlt")
    if not any(isinstance(f, ExpectedArrowHintNotice) for f in logger.filters):
        logger.addFilter(ExpectedArrowHintNotice())
