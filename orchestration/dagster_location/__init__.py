"""A Dagster code location for the LeadPanther connector: `dagster dev -m orchestration.dagster_location`."""

from .definitions import defs

__all__ = ["defs"]
