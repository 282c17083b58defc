select * from {{ leadpanther.staged_analytics('post_engagement') }} as latest_snapshots
