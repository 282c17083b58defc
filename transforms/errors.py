"""The models' error: a dbt model could not be built. Part of the `LeadPantherError` family."""

from __future__ import annotations

from sources.leadpanther.helpers.errors import LeadPantherError


class TransformError(LeadPantherError):
    """A dbt model could not be built (SQL error, broken contract, destination refused). Data tests never
    raise this: their results are reported. The load it follows stays committed."""

    hint = "the load is committed; see the model's error above, fix it, then run `leadpanther-elt transform`"
