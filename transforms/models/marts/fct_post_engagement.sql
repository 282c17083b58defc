with posts as (
    select * from {{ ref('stg_leadpanther__posts') }} as stg_leadpanther__posts
),

clients as (
    select client_id from {{ ref('dim_clients') }} as dim_clients
),

activity_per_post as (
    select
        client_id,
        attributed_post_id as post_id,
        sum(case when source = 'comments' then 1 else 0 end) as comments,
        sum(case when source = 'messages' then 1 else 0 end) as messages,
        count(distinct coalesce(author_platform_id, author_name)) as people_engaging,
        sum(case when source = 'comments' and keyword_matched then 1 else 0 end) as keyword_matched_comments
    from {{ ref('int_leadpanther__activity_attributed') }} as int_leadpanther__activity_attributed
    where attributed_post_id is not null
    group by client_id, attributed_post_id
),

leads_per_post as (
    select
        client_id,
        attributed_post_id as post_id,
        count(*) as leads_attributed,
        sum(case when source = 'comments' then 1 else 0 end) as leads_from_comments,
        sum(case when has_email then 1 else 0 end) as leads_with_email
    from {{ ref('int_leadpanther__leads_attributed') }} as int_leadpanther__leads_attributed
    where attributed_post_id is not null
    group by client_id, attributed_post_id
),

commenters as (
    select distinct
        client_id,
        attributed_post_id as post_id,
        coalesce(author_platform_id, author_name) as person,
        author_name
    from {{ ref('int_leadpanther__activity_attributed') }} as int_leadpanther__activity_attributed
    where attributed_post_id is not null and source = 'comments'
),

conversions as (
    select
        commenters.client_id,
        commenters.post_id,
        count(distinct commenters.person) as commenters,
        count(distinct case when lead_names.full_name is not null then commenters.person end)
            as commenters_converted
    from commenters
    left join (
        select distinct client_id, attributed_post_id as post_id, full_name
        from {{ ref('int_leadpanther__leads_attributed') }} as int_leadpanther__leads_attributed
        where attributed_post_id is not null and full_name is not null
    ) as lead_names
        on commenters.client_id = lead_names.client_id
        and commenters.post_id = lead_names.post_id
        and commenters.author_name = lead_names.full_name
    group by commenters.client_id, commenters.post_id
),

engagement as (
    select
        *,
        {{ leadpanther.engagements() }} as engagements
    from {{ ref('stg_leadpanther__post_engagement') }} as stg_leadpanther__post_engagement
),

-- each post's first daily snapshot: when its tracking began and what it had gained before
tracking_start as (
    select
        client_id,
        post_id,
        snapshot_date as tracked_since,
        {{ leadpanther.gained_before_tracking('impressions', 'impressions_gained') }}
            as impressions_gained_before_tracking,
        {{ leadpanther.gained_before_tracking('engagements', 'engagements_gained') }}
            as engagements_gained_before_tracking
    from {{ ref('fct_post_engagement_daily') }} as fct_post_engagement_daily
    where previous_snapshot_date is null
),

joined as (
    select
        posts.client_id,
        posts.post_id,
        posts.status,
        posts.scheduled_at,
        posts.published_at,
        posts.published_date,
        posts.linkedin_url,
        cast(coalesce(activity_per_post.comments, 0) as bigint) as comments,
        cast(coalesce(activity_per_post.messages, 0) as bigint) as messages,
        cast(coalesce(activity_per_post.people_engaging, 0) as bigint) as people_engaging,
        cast(coalesce(activity_per_post.keyword_matched_comments, 0) as bigint) as keyword_matched_comments,
        cast(coalesce(leads_per_post.leads_attributed, 0) as bigint) as leads_attributed,
        cast(coalesce(leads_per_post.leads_from_comments, 0) as bigint) as leads_from_comments,
        cast(coalesce(leads_per_post.leads_with_email, 0) as bigint) as leads_with_email,
        cast(coalesce(conversions.commenters, 0) as bigint) as commenters,
        cast(coalesce(conversions.commenters_converted, 0) as bigint) as commenters_converted,
        engagement.impressions,
        engagement.reactions,
        engagement.engagement_comments,
        engagement.reposts,
        engagement.clicks,
        engagement.engagements,
        engagement.captured_at as engagement_captured_at,
        tracking_start.tracked_since,
        tracking_start.impressions_gained_before_tracking,
        tracking_start.engagements_gained_before_tracking
    from posts
    inner join clients on posts.client_id = clients.client_id
    left join activity_per_post
        on posts.client_id = activity_per_post.client_id and posts.post_id = activity_per_post.post_id
    left join leads_per_post
        on posts.client_id = leads_per_post.client_id and posts.post_id = leads_per_post.post_id
    left join conversions
        on posts.client_id = conversions.client_id and posts.post_id = conversions.post_id
    left join engagement
        on posts.client_id = engagement.client_id and posts.post_id = engagement.post_id
    left join tracking_start
        on posts.client_id = tracking_start.client_id and posts.post_id = tracking_start.post_id
),

final as (
    select
        *,
        {{ leadpanther.safe_ratio('engagements', 'impressions') }} as engagement_rate,
        {{ leadpanther.safe_ratio('commenters_converted', 'commenters') }} as comment_to_lead_rate
    from joined
)

select * from final
