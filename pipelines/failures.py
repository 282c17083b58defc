"""dlt's and the destination's exceptions as the `LeadPantherError` a user can act on.

dlt wraps what really happened (our own error raised inside a resource, a missing credential, a refused
connection) in its step exceptions; the run and the CLI both ask `known_error` for the problem behind one,
so a failure reads the same wherever it surfaced.
"""

from __future__ import annotations

from pathlib import Path

from sources.leadpanther.configuration import config_error
from sources.leadpanther.helpers.drift import contract_error
from sources.leadpanther.helpers.errors import LeadPantherError, exception_chain

from .destination import destination_config_error, destination_error
from .errors import StepFailedError


def unwrap(exc: BaseException) -> LeadPantherError | None:
    """Our own error inside dlt's wrapping, if any."""
    return next((e for e in exception_chain(exc) if isinstance(e, LeadPantherError)), None)


def known_error(exc: BaseException, destination: str, duckdb_path: Path | None) -> LeadPantherError | None:
    """The known problem behind `exc` (ours, a destination refusing, a missing setting), or None."""
    return (
        unwrap(exc)
        or destination_error(exc, destination, duckdb_path)
        or destination_config_error(exc, destination)
        or contract_error(exc)
        or config_error(exc)
    )


def step_error(exc: BaseException, destination: str, duckdb_path: Path | None) -> LeadPantherError:
    """A failed dlt step as one error: the known problem, else StepFailedError with the cause attached (the
    CLI writes its traceback to a file)."""
    if isinstance(exc, LeadPantherError):
        return exc
    known = known_error(exc, destination, duckdb_path)
    if known is not None:
        return known
    inner = getattr(exc, "exception", exc)
    step = getattr(exc, "step", "run")
    error = StepFailedError(f"dlt's {step} step failed: {type(inner).__name__}: {str(inner)[:300]}")
    error.__cause__ = exc
    return error
