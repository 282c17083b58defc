"""The client accounts of a run: `GET /clients` read once, and which of them each route may read.

Why apart from the scans: every route asks the same question (which clients, and why not the others), the
list is paged with its own rules (no cursor, read in full each run), and a 401 here must stop the run before
any client-route starts.
"""

from __future__ import annotations

import threading
from typing import Any

from ..settings import CLIENTS_PATH, MAX_PAGE_SIZE
from .client import CallStats, LeadPantherClient
from .errors import AuthenticationError, LeadPantherError
from .pages import Scan, ScanSpec
from .shards import Shard, owned_records
from .sync_log import SyncLog


class ClientList:
    """`GET /clients` (all pages) once per run, and the grant filter every route applies to it."""

    def __init__(
        self, client: LeadPantherClient, log: SyncLog, client_ids: tuple[str, ...] | None, shard: Shard | None = None
    ) -> None:
        self.client = client
        self.log = log
        self.client_ids = client_ids  # the configured allow-list, None = every listed client
        self.shard = shard  # only this shard's clients are read (None: all)
        self._records: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def records(self) -> list[dict[str, Any]]:
        """Every page of GET /clients, read on first use; a 401 here is fatal for the run."""
        with self._lock:
            if self._records is None:
                self._records = self._read_all()
            return self._records

    def selected_records(self) -> list[dict[str, Any]]:
        """The records the `clients` table keeps: the allow-list's clients, or all."""
        wanted = set(self.client_ids) if self.client_ids is not None else None
        return [r for r in self.records() if wanted is None or (isinstance(r, dict) and r.get("user_id") in wanted)]

    def _read_all(self) -> list[dict[str, Any]]:
        """Paged like every list route (pages.Scan): overlapping pages catch clients added or removed while
        the list is read, and each client is kept once; with 10,000 clients the list is 100+ pages long."""
        status = self.log.start("clients", None, "full")
        scan = Scan(self.client, ScanSpec("clients", CLIENTS_PATH, "", MAX_PAGE_SIZE, False, id_field="user_id"))
        stats = scan.outcome.stats
        records: list[dict[str, Any]] = []
        try:
            for batch in scan:
                records.extend(batch.emit)
        except LeadPantherError as error:
            self.log.finish(status, stats, outcome="failed", error=error)
            if isinstance(error, AuthenticationError):
                self.log.fatal = error
            raise
        records = owned_records(records, self.shard)
        status.rows = len(records)
        self.log.finish(status, stats)
        return records

    def targets(self, resource: str) -> list[str]:
        """Client ids to read for a route; clients without an active grant are recorded as skipped."""
        ids: list[str] = []
        listed: dict[str, dict[str, Any]] = {}
        for record in self.records():
            if isinstance(record, dict) and isinstance(record.get("user_id"), str):
                listed[record["user_id"]] = record
        wanted = self.client_ids if self.client_ids is not None else tuple(listed)
        if self.shard is not None:  # an allow-listed client of another shard is that shard's to read
            wanted = tuple(c for c in wanted if self.shard.owns(c))
        for client_id in wanted:
            record = listed.get(client_id)
            if record is None:
                status = self.log.start(resource, client_id, "none")
                self.log.finish(
                    status,
                    CallStats(),
                    outcome="skipped",
                    message="client id is not among the clients GET /clients returns for this key",
                )
                continue
            grant = record.get("grant") if isinstance(record.get("grant"), dict) else {}
            grant_status = grant.get("status")
            if grant_status not in (None, "active"):
                status = self.log.start(resource, client_id, "none")
                status.error_code = f"grant_{grant_status}"
                self.log.finish(
                    status,
                    CallStats(),
                    outcome="not_granted",
                    message=f"the agency's grant for this client is {grant_status}, not active",
                )
                continue
            ids.append(client_id)
        return ids
