-- Grain: one row per client, lead magnet and UTC day (client_id, lead_magnet_id, day) on which any funnel
-- stage of the lead magnet had at least one event.
-- Key: client_id, lead_magnet_id, day
-- Stages (DECISIONLOG.md, funnel): linked posts published that day -> comments on its linked posts or
-- naming it -> those comments that matched its keyword -> leads captured by it -> leads with an email ->
-- deliveries. Deliveries come from the cumulative analytics snapshot and sit on the snapshot's day.
-- Rates (proportions, in [0, 1]): keyword_match_rate = keyword_matches / comments,
-- email_capture_rate = leads_with_email / leads. Ratios between stages that are not subsets of each other
-- in the data: leads_per_keyword_match, deliveries_per_lead_with_email. All NULL when the denominator is 0.
with magnets as (
    select magnets.client_id, magnets.lead_magnet_id
    from stg_leadpanther__lead_magnets as magnets
    inner join dim_clients on magnets.client_id = dim_clients.client_id
),

links as (
    select * from stg_leadpanther__lead_magnet_posts
),

posts_published as (
    select
        links.client_id,
        links.lead_magnet_id,
        posts.published_date as day,
        count(*) as linked_posts_published
    from links
    inner join stg_leadpanther__posts as posts
        on links.client_id = posts.client_id and links.post_id = posts.post_id
    where posts.status = 'published' and posts.published_date is not null
    group by links.client_id, links.lead_magnet_id, posts.published_date
),

magnet_comments as (
    select links.client_id, links.lead_magnet_id, activity.activity_id
    from links
    inner join stg_leadpanther__activity as activity
        on links.client_id = activity.client_id and links.post_id = activity.post_id
    where activity.source = 'comments'
    union
    select client_id, lead_magnet_id, activity_id
    from stg_leadpanther__activity
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
    inner join stg_leadpanther__activity as activity
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
    from stg_leadpanther__leads
    where lead_magnet_id is not null
    group by client_id, lead_magnet_id, created_date
),

deliveries as (
    select
        client_id,
        lead_magnet_id,
        captured_date as day,
        deliveries
    from stg_leadpanther__lead_magnet_analytics
    where captured_date is not null
),

spine as (
    select client_id, lead_magnet_id, day from posts_published
    union
    select client_id, lead_magnet_id, day from comments
    union
    select client_id, lead_magnet_id, day from leads
    union
    select client_id, lead_magnet_id, day from deliveries
),

joined as (
    select
        spine.client_id,
        spine.lead_magnet_id,
        spine.day,
        coalesce(posts_published.linked_posts_published, 0) as linked_posts_published,
        coalesce(comments.comments, 0) as comments,
        coalesce(comments.keyword_matches, 0) as keyword_matches,
        coalesce(leads.leads, 0) as leads,
        coalesce(leads.leads_from_comments, 0) as leads_from_comments,
        coalesce(leads.leads_with_email, 0) as leads_with_email,
        coalesce(deliveries.deliveries, 0) as deliveries
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
        case when comments > 0 then cast(keyword_matches as double) / comments end as keyword_match_rate,
        case when leads > 0 then cast(leads_with_email as double) / leads end as email_capture_rate,
        case when keyword_matches > 0 then cast(leads_from_comments as double) / keyword_matches end
            as leads_per_keyword_match,
        case when leads_with_email > 0 then cast(deliveries as double) / leads_with_email end
            as deliveries_per_lead_with_email
    from joined
)

select * from final
