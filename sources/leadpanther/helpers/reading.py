"""The parts one run reads with, wired together: client list, scan planner and runner, analytics fetcher.

Each part does one job (see its module); `SyncContext` only builds them from the source's settings and is
what the resources in the package's `__init__.py` close over.
"""

from __future__ import annotations

from datetime import timedelta

from .analytics import AnalyticsFetcher
from .client import LeadPantherClient
from .client_list import ClientList
from .pii import PiiPolicy
from .planning import IncrementalRules, ScanPlanner
from .scanning import ScanRunner
from .shards import Shard
from .sync_log import SyncLog


class SyncContext:
    """What the resources of one run share: the PII policy, the run log and the readers built on them."""

    def __init__(
        self,
        client: LeadPantherClient,
        *,
        page_size: int,
        max_concurrency: int,
        client_ids: tuple[str, ...] | None,
        mode: str,
        reconcile_every_runs: int,
        reconcile_max_age_hours: float,
        cursor_lookback_s: float,
        policy: PiiPolicy,
        log: SyncLog,
        post_engagement_path: str,
        lead_magnet_analytics_path: str,
        shard: Shard | None = None,
        analytics_window_days: int = 30,
    ) -> None:
        self.policy = policy
        self.log = log
        self.clients = ClientList(client, log, client_ids, shard)
        rules = IncrementalRules(
            mode=mode,
            reconcile_every_runs=reconcile_every_runs,
            reconcile_max_age=timedelta(hours=reconcile_max_age_hours),
            lookback=timedelta(seconds=cursor_lookback_s),
            page_size=page_size,
            analytics_window=timedelta(days=analytics_window_days),
        )
        self.planner = ScanPlanner(rules, log.synced_at)
        paths = {"post_engagement": post_engagement_path, "lead_magnet_analytics": lead_magnet_analytics_path}
        self.analytics = AnalyticsFetcher(client, policy, log, paths, max_concurrency=max_concurrency)
        self.scans = ScanRunner(
            client, self.clients, self.planner, self.analytics, policy, log, max_concurrency=max_concurrency
        )
