select * from {{ leadpanther.staged_analytics('post_engagement', per_day=true) }} as daily_snapshots
