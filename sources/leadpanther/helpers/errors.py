"""The `LeadPantherError` family.

The base and the source's own errors live here; the run's (`pipelines/errors.py`: a dlt step failed, the
destination is unavailable) and the models' (`transforms/errors.py`) derive from the same base, so a caller
catches one family. Every error carries the `request_id` LeadPanther returned (support asks for it) and never
the API key: error texts are built only from the status, the route template, the client id and the body's
`message`.
"""

from __future__ import annotations

from collections.abc import Iterator


class LeadPantherError(Exception):
    """Base class: anything this connector raises on purpose."""

    #: exit-code family for the CLI; subclasses override
    hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None = None,
        status: int | None = None,
        route: str | None = None,
        client_id: str | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message
        self.request_id = request_id
        self.status = status
        self.route = route
        self.client_id = client_id
        self.code = code
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        where = " ".join(p for p in (self.route, f"client {self.client_id}" if self.client_id else None) if p)
        if where:
            parts.append(f"[{where}]")
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        if self.hint:
            parts.append(f"-> {self.hint}")
        return " ".join(parts)


class ConfigError(LeadPantherError):
    """A configuration value is missing or invalid; raised before any request is made."""


class AuthenticationError(LeadPantherError):
    """401: the key is missing, malformed, unknown or revoked. Stops the whole run."""

    hint = (
        "check [sources.leadpanther] api_key in .dlt/secrets.toml or SOURCES__LEADPANTHER__API_KEY; "
        "the key must be an approved agency key"
    )


class PermissionDeniedError(LeadPantherError):
    """403: the key lacks the route's scope, or the agency has no active grant for this client."""

    hint = "check the key's scopes and that the client's grant is active (leadpanther-elt check)"


class NotFoundError(LeadPantherError):
    """404: undocumented path, or a client id that did not come from GET /clients."""

    hint = "check the path settings and that the client id comes from GET /clients"


class RateLimitedError(LeadPantherError):
    """429 persisted after every retry."""

    hint = "lower max_concurrency or run later"


class ServerError(LeadPantherError):
    """5xx or a dropped connection persisted after every retry."""

    hint = "LeadPanther is failing; re-run later (cursors were not advanced for this client-route)"


class BadResponseError(LeadPantherError):
    """A body that is not the documented JSON envelope (truncated, not JSON, wrong shape), after retries."""

    hint = "quote the request_id to LeadPanther support"


class OffsetDriftError(LeadPantherError):
    """Rows kept moving between offset pages faster than the scan could re-synchronise."""

    hint = "the client's data changed too fast while paging; the next run retries it"


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and its causes, outermost first (dlt wraps the exception that says what really happened)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        yield current
        current = current.__cause__ or current.__context__
