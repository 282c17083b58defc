-- Grain: one row per post (client_id, post_id): the latest engagement snapshot. ASSUMED route and fields.
-- Key: client_id, post_id
with base as (
    select * from raw.post_engagement
),

fields as (
    select
        client_id,
        post_id,
        impressions,
        reactions,
        comments as engagement_comments,
        reposts,
        clicks,
        captured_at,
        _lp_deleted_at as deleted_at,
        row_number() over (
            partition by client_id, post_id order by captured_at desc, _lp_synced_at desc
        ) as version_rank
    from base
),

final as (
    select
        client_id,
        post_id,
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
