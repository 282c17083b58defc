with base as (
    select * from {{ leadpanther.staged_source('post_engagement_daily') }} as raw_post_engagement_daily
),

fields as (
    select
        client_id,
        post_id,
        snapshot_date,
        impressions,
        reactions,
        comments as engagement_comments,
        reposts,
        clicks,
        captured_at,
        _lp_deleted_at as deleted_at,
        row_number() over (
            partition by client_id, post_id, snapshot_date order by _lp_synced_at desc
        ) as version_rank
    from base
),

final as (
    select
        client_id,
        post_id,
        snapshot_date,
        impressions,
        reactions,
        engagement_comments,
        reposts,
        clicks,
        captured_at
    from fields
    where version_rank = 1 and deleted_at is null
)

select * from final
