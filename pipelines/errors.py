"""The run's own errors: a dlt step failed, or the destination refused or stayed locked.

Part of the `LeadPantherError` family (the base lives with the source, which raises most of them); these are
raised only by the run around the source, so they live with it.
"""

from __future__ import annotations

from sources.leadpanther.helpers.errors import LeadPantherError


class StepFailedError(LeadPantherError):
    """dlt's extract, normalize or load step failed for a reason this connector did not anticipate."""

    hint = (
        "nothing of this run was committed and cursors did not move; re-run, and if it persists report the "
        "message with the run's sync_runs rows"
    )


class DestinationUnavailableError(LeadPantherError):
    """The destination refused the connection (server down, wrong port or credentials). Nothing of this run
    was loaded; what was extracted, if anything, stays in the pipeline folder and the next run loads it."""


class DestinationLockedError(DestinationUnavailableError):
    """The DuckDB file is held by another process (the duckdb CLI, a BI tool, another run) past the wait, or
    another run of the same pipeline is using its folder."""


class PublishError(LeadPantherError):
    """The DuckDB file for dashboards could not be written (disk full, folder not writable). The load and the
    models are committed in the main file; dashboards keep reading the previous publication."""

    hint = "the load is committed; fix the cause, then run `leadpanther-elt transform` (it publishes again)"
