with snapshots as (
    select * from {{ ref('stg_leadpanther__post_engagement_daily') }} as stg_leadpanther__post_engagement_daily
),

posts as (
    select client_id, post_id from {{ ref('stg_leadpanther__posts') }} as stg_leadpanther__posts
),

clients as (
    select client_id from {{ ref('dim_clients') }} as dim_clients
),

ordered as (
    select
        snapshots.*,
        lag(snapshot_date) over (
            partition by snapshots.client_id, snapshots.post_id order by snapshot_date
        ) as previous_snapshot_date,
        lag(impressions) over (partition by snapshots.client_id, snapshots.post_id order by snapshot_date)
            as previous_impressions,
        lag(reactions) over (partition by snapshots.client_id, snapshots.post_id order by snapshot_date)
            as previous_reactions,
        lag(engagement_comments) over (
            partition by snapshots.client_id, snapshots.post_id order by snapshot_date
        ) as previous_engagement_comments,
        lag(reposts) over (partition by snapshots.client_id, snapshots.post_id order by snapshot_date)
            as previous_reposts,
        lag(clicks) over (partition by snapshots.client_id, snapshots.post_id order by snapshot_date)
            as previous_clicks
    from snapshots
    inner join posts on snapshots.client_id = posts.client_id and snapshots.post_id = posts.post_id
    inner join clients on snapshots.client_id = clients.client_id
),

final as (
    select
        client_id,
        post_id,
        snapshot_date,
        previous_snapshot_date,
        {{ leadpanther.days_between('previous_snapshot_date', 'snapshot_date') }} as days_since_previous,
        impressions,
        reactions,
        engagement_comments,
        reposts,
        clicks,
        coalesce(reactions, 0) + coalesce(engagement_comments, 0) + coalesce(reposts, 0) + coalesce(clicks, 0)
            as engagements,
        impressions - previous_impressions as impressions_gained,
        reactions - previous_reactions as reactions_gained,
        engagement_comments - previous_engagement_comments as engagement_comments_gained,
        reposts - previous_reposts as reposts_gained,
        clicks - previous_clicks as clicks_gained,
        (coalesce(reactions, 0) + coalesce(engagement_comments, 0) + coalesce(reposts, 0) + coalesce(clicks, 0))
        - (
            coalesce(previous_reactions, 0) + coalesce(previous_engagement_comments, 0)
            + coalesce(previous_reposts, 0) + coalesce(previous_clicks, 0)
        ) as engagements_gained_raw,
        captured_at
    from ordered
)

select
    client_id,
    post_id,
    snapshot_date,
    previous_snapshot_date,
    days_since_previous,
    impressions,
    reactions,
    engagement_comments,
    reposts,
    clicks,
    engagements,
    impressions_gained,
    reactions_gained,
    engagement_comments_gained,
    reposts_gained,
    clicks_gained,
    case when previous_snapshot_date is null then null else engagements_gained_raw end as engagements_gained,
    captured_at
from final
