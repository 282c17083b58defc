"""A run's result: its exit code, the reason printed as its last line, and the summary an operator reads.

The summary and the reason never carry personal data or the key: only counts, ids, statuses and the
LeadPanther error texts (which carry the request_id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlt.common.pipeline import LoadInfo

from sources.leadpanther.helpers.errors import LeadPantherError
from sources.leadpanther.helpers.pii import base_category
from sources.leadpanther.helpers.sync_log import SyncLog
from sources.leadpanther.settings import QUARANTINE_TABLE

from .exit_codes import ExitCode, exit_code_for


@dataclass
class SyncResult:
    """What one run did: its log (per client-route statuses), the load, the post-load steps and the models."""

    log: SyncLog
    load_info: LoadInfo | None = None
    error: LeadPantherError | None = None
    transform: Any = None
    transform_error: LeadPantherError | None = None
    deleted_marked: dict[str, int] = field(default_factory=dict)
    duplicates_removed: dict[str, int] = field(default_factory=dict)
    pending_loaded: int = 0
    schema_retries: list[str] = field(default_factory=list)  # causes of load retries after schema races
    state_rows_pruned: int = 0
    sync_runs_pruned: int = 0
    publication: Any = None  # publish.Publication: the DuckDB file dashboards read
    publish_error: LeadPantherError | None = None

    @property
    def exit_code(self) -> ExitCode:
        if self.error is not None:
            return exit_code_for(self.error)
        if (
            self.log.partial
            or self.transform_error is not None
            or self.log.quarantine
            or self.publish_error is not None
        ):
            return ExitCode.PARTIAL
        if self.transform is not None and self.transform.failed_errors:
            return ExitCode.PARTIAL
        return ExitCode.OK

    def exit_reason(self) -> str:
        """The last line of a run: its exit code and why, so a scheduler's log says it without a lookup."""
        code = self.exit_code
        if code == ExitCode.OK:
            warnings = len(self.transform.warnings) if self.transform is not None else 0
            return f"exit {code}: loaded" + (f" ({warnings} data test warning(s) listed above)" if warnings else "")
        if code == ExitCode.CONFIG:
            return f"exit {code}: configuration error; nothing was requested or loaded"
        if code == ExitCode.DESTINATION:
            return f"exit {code}: the destination was unavailable; nothing of this run was loaded"
        if code == ExitCode.FAILED:
            return f"exit {code}: the run failed; nothing of this run was loaded and cursors did not move"
        reasons = []
        if self.log.partial:
            reasons.append("some client-routes were skipped or failed")
        if self.log.quarantine:
            reasons.append(
                f"{len(self.log.quarantine)} record(s) or value(s) were quarantined (see {QUARANTINE_TABLE})"
            )
        if self.transform_error is not None:
            reasons.append("the models could not be built")
        if self.publish_error is not None:
            reasons.append("the dashboards file could not be published")
        if self.transform is not None and self.transform.failed_errors:
            reasons.append(f"{len(self.transform.failed_errors)} error-severity data test(s) failed")
        return f"exit {code}: loaded and committed, but {' and '.join(reasons)} (listed above)"

    def summary_lines(self) -> list[str]:
        """What an operator needs at the end of a run; no personal data, no key."""
        lines = [f"run {self.log.run_id} at {self.log.synced_at:%Y-%m-%d %H:%M:%S} UTC"]
        per_resource: dict[str, dict[str, int]] = {}
        for s in self.log.statuses:
            agg = per_resource.setdefault(
                s.resource, {"ok": 0, "skipped": 0, "failed": 0, "not_granted": 0, "rows": 0, "requests": 0}
            )
            agg[s.status if s.status in agg else "ok"] += 1
            agg["rows"] += s.rows
            agg["requests"] += s.requests
        for resource, agg in per_resource.items():
            lines.append(
                f"  {resource:<22} rows {agg['rows']:>9,}  requests {agg['requests']:>7,}  "
                f"ok {agg['ok']}  skipped {agg['skipped']}  failed {agg['failed']}"
                + (f"  not granted {agg['not_granted']}" if agg["not_granted"] else "")
            )
        for s in self.log.statuses:
            if s.status in ("skipped", "failed"):
                code = f"HTTP {s.http_status}" if s.http_status else (s.error_code or "")
                lines.append(
                    f"  {s.status.upper():<7} {s.resource} client {s.client_id}: {code} {s.error_message or ''}"
                    + (f" (request_id {s.request_id})" if s.request_id else "")
                )
        if self.log.quarantine:
            lines.append(
                f"  quarantined {len(self.log.quarantine)} record(s) or value(s): see table {QUARANTINE_TABLE}"
            )
        if self.log.pii_policy:
            lines.append("  PII policy: " + ", ".join(f"{c} {a}" for c, a in self.log.pii_policy.items()))
        for (table, column), category in sorted(self.log.suspected_pii.items()):
            lines.append(f"  SUSPECTED PII: {table}.{column} looks like {base_category(category)[0]}")
        lines += self.log.drift.summary_lines()
        if self.deleted_marked:
            marked = ", ".join(f"{t} {n}" for t, n in self.deleted_marked.items() if n)
            if marked:
                lines.append(f"  marked deleted upstream: {marked}")
        if self.duplicates_removed:
            removed = ", ".join(f"{t} {n}" for t, n in self.duplicates_removed.items())
            lines.append(
                f"  repaired rows loaded twice for one primary key ({removed}), kept the newest of each: expected "
                "when this run resumed a load that was killed; otherwise please report it"
            )
        if self.pending_loaded:
            lines.append(f"  loaded {self.pending_loaded} load package(s) an earlier run had extracted but not loaded")
        if self.schema_retries:
            lines.append(
                f"  load retried {len(self.schema_retries)} time(s) after a schema update failed, as when shards "
                f"create the same tables at once (last cause: {self.schema_retries[-1][:120]})"
            )
        if self.error is not None:
            lines.append(f"  FAILED: {self.error}")
        if self.transform_error is not None:
            lines.append(f"  MODELS NOT BUILT: {self.transform_error}")
        if self.publication is not None:
            lines.append(self.publication.line())
        if self.publish_error is not None:
            lines.append(f"  DASHBOARDS NOT PUBLISHED: {self.publish_error}")
        return lines
