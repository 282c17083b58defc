with clients as (
    select client_id from {{ ref('dim_clients') }} as dim_clients
),

posts as (
    select
        client_id,
        published_date as day,
        count(*) as posts_published,
        sum(impressions) as impressions,
        sum(reactions) as reactions,
        sum(reposts) as reposts,
        sum(clicks) as clicks
    from {{ ref('fct_post_engagement') }} as fct_post_engagement
    where status = 'published' and published_date is not null
    group by client_id, published_date
),

activity as (
    select
        client_id,
        created_date as day,
        sum(case when source = 'comments' then 1 else 0 end) as comments,
        sum(case when source = 'messages' then 1 else 0 end) as messages,
        sum(case when source = 'comments' and keyword_matched then 1 else 0 end) as keyword_matches,
        count(distinct coalesce(author_platform_id, author_name)) as people_engaging
    from {{ ref('stg_leadpanther__activity') }} as stg_leadpanther__activity
    group by client_id, created_date
),

leads as (
    select
        client_id,
        created_date as day,
        count(*) as leads,
        sum(case when has_email then 1 else 0 end) as emails_captured
    from {{ ref('stg_leadpanther__leads') }} as stg_leadpanther__leads
    group by client_id, created_date
),

engagement_gains as (
    select
        client_id,
        snapshot_date as day,
        sum(impressions_gained) as impressions_gained,
        sum(engagements_gained) as engagements_gained
    from {{ ref('fct_post_engagement_daily') }} as fct_post_engagement_daily
    where gains_counted_from is not null
    group by client_id, snapshot_date
),

deliveries as (
    select client_id, snapshot_date as day, sum(deliveries_gained) as deliveries
    from {{ ref('int_leadpanther__lead_magnet_deliveries_daily') }} as int_leadpanther__lead_magnet_deliveries_daily
    where deliveries_gained is not null
    group by client_id, snapshot_date
),

spine as (
    select client_id, day from posts
    {{ leadpanther.lp_union() }}
    select client_id, day from activity
    {{ leadpanther.lp_union() }}
    select client_id, day from leads
    {{ leadpanther.lp_union() }}
    select client_id, day from engagement_gains
    {{ leadpanther.lp_union() }}
    select client_id, day from deliveries
),

final as (
    select
        spine.client_id,
        spine.day,
        cast(coalesce(posts.posts_published, 0) as bigint) as posts_published,
        cast(posts.impressions as bigint) as impressions,
        cast(posts.reactions as bigint) as reactions,
        cast(posts.reposts as bigint) as reposts,
        cast(posts.clicks as bigint) as clicks,
        cast(coalesce(activity.comments, 0) as bigint) as comments,
        cast(coalesce(activity.messages, 0) as bigint) as messages,
        cast(coalesce(activity.keyword_matches, 0) as bigint) as keyword_matches,
        cast(coalesce(activity.people_engaging, 0) as bigint) as people_engaging,
        cast(coalesce(leads.leads, 0) as bigint) as leads,
        cast(coalesce(leads.emails_captured, 0) as bigint) as emails_captured,
        cast(engagement_gains.impressions_gained as bigint) as impressions_gained,
        cast(engagement_gains.engagements_gained as bigint) as engagements_gained,
        cast(coalesce(deliveries.deliveries, 0) as bigint) as deliveries
    from spine
    inner join clients on spine.client_id = clients.client_id
    left join posts on spine.client_id = posts.client_id and spine.day = posts.day
    left join activity on spine.client_id = activity.client_id and spine.day = activity.day
    left join leads on spine.client_id = leads.client_id and spine.day = leads.day
    left join engagement_gains on spine.client_id = engagement_gains.client_id and spine.day = engagement_gains.day
    left join deliveries on spine.client_id = deliveries.client_id and spine.day = deliveries.day
)

select * from final
