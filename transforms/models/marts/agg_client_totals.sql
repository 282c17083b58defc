-- Lifetime figures per client: sums of the per-post and per-lead-magnet lifetime marts, and of the per-day
-- event counts (comments, leads: every one of them happened on some day).
with clients as (
    select client_id from {{ ref('dim_clients') }} as dim_clients
),

posts as (
    select
        client_id,
        count(*) as posts,
        sum(case when status = 'published' then 1 else 0 end) as posts_published,
        sum(impressions) as impressions,
        sum(engagements) as engagements,
        sum(impressions_gained_before_tracking) as impressions_gained_before_tracking,
        sum(engagements_gained_before_tracking) as engagements_gained_before_tracking
    from {{ ref('fct_post_engagement') }} as fct_post_engagement
    group by client_id
),

events as (
    select
        client_id,
        sum(comments) as comments,
        sum(messages) as messages,
        sum(keyword_matches) as keyword_matches,
        sum(leads) as leads,
        sum(emails_captured) as leads_with_email
    from {{ ref('agg_client_daily') }} as agg_client_daily
    group by client_id
),

magnets as (
    select
        client_id,
        count(*) as lead_magnets,
        sum(deliveries) as deliveries,
        sum(deliveries_gained_before_tracking) as deliveries_gained_before_tracking
    from {{ ref('fct_lead_magnets') }} as fct_lead_magnets
    group by client_id
),

-- the client's first snapshot of any post or lead magnet
tracking as (
    select client_id, min(tracked_since) as tracking_started_on
    from (
        select client_id, tracked_since from {{ ref('fct_post_engagement') }} as fct_post_engagement
        union all
        select client_id, tracked_since from {{ ref('fct_lead_magnets') }} as fct_lead_magnets
    ) as tracked
    group by client_id
),

joined as (
    select
        clients.client_id,
        cast(coalesce(posts.posts, 0) as bigint) as posts,
        cast(coalesce(posts.posts_published, 0) as bigint) as posts_published,
        cast(posts.impressions as bigint) as impressions,
        cast(posts.engagements as bigint) as engagements,
        cast(posts.impressions_gained_before_tracking as bigint) as impressions_gained_before_tracking,
        cast(posts.engagements_gained_before_tracking as bigint) as engagements_gained_before_tracking,
        tracking.tracking_started_on,
        cast(coalesce(events.comments, 0) as bigint) as comments,
        cast(coalesce(events.messages, 0) as bigint) as messages,
        cast(coalesce(events.keyword_matches, 0) as bigint) as keyword_matches,
        cast(coalesce(events.leads, 0) as bigint) as leads,
        cast(coalesce(events.leads_with_email, 0) as bigint) as leads_with_email,
        cast(coalesce(magnets.lead_magnets, 0) as bigint) as lead_magnets,
        cast(magnets.deliveries as bigint) as deliveries,
        cast(magnets.deliveries_gained_before_tracking as bigint) as deliveries_gained_before_tracking
    from clients
    left join posts on clients.client_id = posts.client_id
    left join events on clients.client_id = events.client_id
    left join magnets on clients.client_id = magnets.client_id
    left join tracking on clients.client_id = tracking.client_id
),

final as (
    select
        *,
        {{ leadpanther.safe_ratio('engagements', 'impressions') }} as engagement_rate,
        {{ leadpanther.safe_ratio('leads_with_email', 'leads') }} as email_capture_rate,
        {{ leadpanther.safe_ratio('deliveries', 'leads_with_email') }} as deliveries_per_lead_with_email
    from joined
)

select * from final
