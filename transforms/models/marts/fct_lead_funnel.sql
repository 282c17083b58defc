with magnets as (
    select magnets.client_id, magnets.lead_magnet_id
    from {{ ref('stg_leadpanther__lead_magnets') }} as magnets
    inner join {{ ref('dim_clients') }} as dim_clients on magnets.client_id = dim_clients.client_id
),

links as (
    select * from {{ ref('stg_leadpanther__lead_magnet_posts') }} as stg_leadpanther__lead_magnet_posts
),

posts_published as (
    select
        links.client_id,
        links.lead_magnet_id,
        posts.published_date as day,
        count(*) as linked_posts_published
    from links
    inner join {{ ref('stg_leadpanther__posts') }} as posts
        on links.client_id = posts.client_id and links.post_id = posts.post_id
    where posts.status = 'published' and posts.published_date is not null
    group by links.client_id, links.lead_magnet_id, posts.published_date
),

magnet_comments as (
    select links.client_id, links.lead_magnet_id, activity.activity_id
    from links
    inner join {{ ref('stg_leadpanther__activity') }} as activity
        on links.client_id = activity.client_id and links.post_id = activity.post_id
    where activity.source = 'comments'
    {{ leadpanther.lp_union() }}
    select client_id, lead_magnet_id, activity_id
    from {{ ref('stg_leadpanther__activity') }} as stg_leadpanther__activity
    where source = 'comments' and lead_magnet_id is not null
),

comments as (
    select
        magnet_comments.client_id,
        magnet_comments.lead_magnet_id,
        activity.created_date as day,
        count(*) as comments,
        sum(
            case
                when activity.keyword_matched and activity.lead_magnet_id = magnet_comments.lead_magnet_id
                    then 1
                else 0
            end
        ) as keyword_matches
    from magnet_comments
    inner join {{ ref('stg_leadpanther__activity') }} as activity
        on magnet_comments.client_id = activity.client_id
        and magnet_comments.activity_id = activity.activity_id
    group by magnet_comments.client_id, magnet_comments.lead_magnet_id, activity.created_date
),

leads as (
    select
        client_id,
        lead_magnet_id,
        created_date as day,
        count(*) as leads,
        sum(case when source = 'comments' then 1 else 0 end) as leads_from_comments,
        sum(case when has_email then 1 else 0 end) as leads_with_email
    from {{ ref('stg_leadpanther__leads') }} as stg_leadpanther__leads
    where lead_magnet_id is not null
    group by client_id, lead_magnet_id, created_date
),

deliveries as (
    select
        client_id,
        lead_magnet_id,
        snapshot_date as day,
        deliveries_gained as deliveries
    from {{ ref('int_leadpanther__lead_magnet_deliveries_daily') }} as int_leadpanther__lead_magnet_deliveries_daily
    where deliveries_gained is not null
),

spine as (
    select client_id, lead_magnet_id, day from posts_published
    {{ leadpanther.lp_union() }}
    select client_id, lead_magnet_id, day from comments
    {{ leadpanther.lp_union() }}
    select client_id, lead_magnet_id, day from leads
    {{ leadpanther.lp_union() }}
    select client_id, lead_magnet_id, day from deliveries
),

joined as (
    select
        spine.client_id,
        spine.lead_magnet_id,
        spine.day,
        cast(coalesce(posts_published.linked_posts_published, 0) as bigint) as linked_posts_published,
        cast(coalesce(comments.comments, 0) as bigint) as comments,
        cast(coalesce(comments.keyword_matches, 0) as bigint) as keyword_matches,
        cast(coalesce(leads.leads, 0) as bigint) as leads,
        cast(coalesce(leads.leads_from_comments, 0) as bigint) as leads_from_comments,
        cast(coalesce(leads.leads_with_email, 0) as bigint) as leads_with_email,
        cast(coalesce(deliveries.deliveries, 0) as bigint) as deliveries
    from spine
    inner join magnets
        on spine.client_id = magnets.client_id and spine.lead_magnet_id = magnets.lead_magnet_id
    left join posts_published
        on spine.client_id = posts_published.client_id
        and spine.lead_magnet_id = posts_published.lead_magnet_id
        and spine.day = posts_published.day
    left join comments
        on spine.client_id = comments.client_id
        and spine.lead_magnet_id = comments.lead_magnet_id
        and spine.day = comments.day
    left join leads
        on spine.client_id = leads.client_id
        and spine.lead_magnet_id = leads.lead_magnet_id
        and spine.day = leads.day
    left join deliveries
        on spine.client_id = deliveries.client_id
        and spine.lead_magnet_id = deliveries.lead_magnet_id
        and spine.day = deliveries.day
),

final as (
    select
        *,
        {{ leadpanther.safe_ratio('keyword_matches', 'comments') }} as keyword_match_rate,
        {{ leadpanther.safe_ratio('leads_with_email', 'leads') }} as email_capture_rate,
        {{ leadpanther.safe_ratio('leads_from_comments', 'keyword_matches') }} as leads_per_keyword_match,
        {{ leadpanther.safe_ratio('deliveries', 'leads_with_email') }} as deliveries_per_lead_with_email
    from joined
)

select * from final
