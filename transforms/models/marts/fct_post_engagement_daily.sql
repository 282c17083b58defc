with snapshots as (
    select * from {{ ref('stg_leadpanther__post_engagement_daily') }} as stg_leadpanther__post_engagement_daily
),

posts as (
    select client_id, post_id, published_date from {{ ref('stg_leadpanther__posts') }} as stg_leadpanther__posts
),

clients as (
    select client_id from {{ ref('dim_clients') }} as dim_clients
),

history_start as (
    {{ leadpanther.first_snapshot_dates('snapshots') }}
),

figures as (
    select
        snapshots.client_id,
        snapshots.post_id,
        snapshots.snapshot_date,
        snapshots.impressions,
        snapshots.reactions,
        snapshots.engagement_comments,
        snapshots.reposts,
        snapshots.clicks,
        {{ leadpanther.engagements('snapshots') }} as engagements,
        snapshots.captured_at,
        -- not published before the history began: its figures were 0 when the history began
        coalesce(posts.published_date >= history_start.first_snapshot_date, posts.published_date is null)
            as published_in_history
    from snapshots
    inner join posts on snapshots.client_id = posts.client_id and snapshots.post_id = posts.post_id
    inner join clients on snapshots.client_id = clients.client_id
    inner join history_start on snapshots.client_id = history_start.client_id
),

final as (
    select
        client_id,
        post_id,
        snapshot_date,
        lag(snapshot_date) over (partition by client_id, post_id order by snapshot_date) as previous_snapshot_date,
        {{ leadpanther.days_between(
            'lag(snapshot_date) over (partition by client_id, post_id order by snapshot_date)', 'snapshot_date'
        ) }} as days_since_previous,
        {{ leadpanther.snapshot_gain_basis('client_id, post_id', 'published_in_history') }} as gains_counted_from,
        impressions,
        reactions,
        engagement_comments,
        reposts,
        clicks,
        engagements,
        {%- for figure in ['impressions', 'reactions', 'engagement_comments', 'reposts', 'clicks', 'engagements'] %}
        {{ leadpanther.snapshot_gain(figure, 'client_id, post_id', 'published_in_history') }} as {{ figure }}_gained,
        {%- endfor %}
        captured_at
    from figures
)

select * from final
