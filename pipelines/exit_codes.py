"""The CLI's exit codes: the one definition, read by the CLI, the Dagster assets and README's table test.

A scheduler acts on the code alone: 1 and 4 mean nothing of the run was loaded (4: re-run later, the
destination was away), 2 means a person must fix the configuration, 3 means the load is committed but
something needs a look.
"""

from __future__ import annotations

from enum import IntEnum

from sources.leadpanther.helpers.errors import ConfigError, LeadPantherError

from .errors import DestinationUnavailableError


class ExitCode(IntEnum):
    OK = 0
    """loaded (data test warnings allowed)"""
    FAILED = 1
    """the run failed; nothing of it was loaded and cursors did not move"""
    CONFIG = 2
    """configuration or usage error; nothing was requested or loaded"""
    PARTIAL = 3
    """loaded and committed, but a client-route was skipped or failed, an error-severity data test failed or
    the models could not be built"""
    DESTINATION = 4
    """the destination was unavailable or its DuckDB file stayed locked; nothing of this run was loaded"""
    INTERRUPTED = 130
    """stopped by Ctrl-C / SIGINT; nothing half-written, the next run resumes from the last committed load"""


def exit_code_for(error: LeadPantherError) -> ExitCode:
    """The code of a run that stopped on `error` (nothing of it was loaded)."""
    if isinstance(error, ConfigError):
        return ExitCode.CONFIG
    if isinstance(error, DestinationUnavailableError):
        return ExitCode.DESTINATION
    return ExitCode.FAILED
