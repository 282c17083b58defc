select * from {{ leadpanther.staged_analytics('lead_magnet_analytics', per_day=true) }} as daily_snapshots
