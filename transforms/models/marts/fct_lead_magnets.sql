-- Lifetime figures per lead magnet: the event stages summed over fct_lead_funnel's days, the analytics figures
-- from the latest snapshot (LeadPanther's own lifetime counts), and what was delivered before tracking began.
with magnets as (
    select
        magnets.client_id,
        magnets.lead_magnet_id,
        magnets.status,
        magnets.delivery_mode,
        magnets.keyword,
        magnets.resource_name,
        magnets.created_at
    from {{ ref('stg_leadpanther__lead_magnets') }} as magnets
    inner join {{ ref('dim_clients') }} as dim_clients on magnets.client_id = dim_clients.client_id
),

stages as (
    select
        client_id,
        lead_magnet_id,
        sum(linked_posts_published) as linked_posts_published,
        sum(comments) as comments,
        sum(keyword_matches) as keyword_matches,
        sum(leads) as leads,
        sum(leads_from_comments) as leads_from_comments,
        sum(leads_with_email) as leads_with_email,
        sum(deliveries) as deliveries_gained_since_tracking
    from {{ ref('fct_lead_funnel') }} as fct_lead_funnel
    group by client_id, lead_magnet_id
),

latest_analytics as (
    select * from {{ ref('stg_leadpanther__lead_magnet_analytics') }} as stg_leadpanther__lead_magnet_analytics
),

-- each lead magnet's first daily snapshot: when its tracking began and what it had delivered before
tracking_start as (
    select
        client_id,
        lead_magnet_id,
        snapshot_date as tracked_since,
        {{ leadpanther.gained_before_tracking('deliveries', 'deliveries_gained') }} as deliveries_gained_before_tracking
    from (
        select
            *,
            row_number() over (partition by client_id, lead_magnet_id order by snapshot_date) as snapshot_rank
        from {{ ref('int_leadpanther__lead_magnet_deliveries_daily') }} as int_leadpanther__lead_magnet_deliveries_daily
    ) as snapshots
    where snapshot_rank = 1
),

joined as (
    select
        magnets.client_id,
        magnets.lead_magnet_id,
        magnets.status,
        magnets.delivery_mode,
        magnets.keyword,
        magnets.resource_name,
        magnets.created_at,
        cast(coalesce(stages.linked_posts_published, 0) as bigint) as linked_posts_published,
        cast(coalesce(stages.comments, 0) as bigint) as comments,
        cast(coalesce(stages.keyword_matches, 0) as bigint) as keyword_matches,
        cast(coalesce(stages.leads, 0) as bigint) as leads,
        cast(coalesce(stages.leads_from_comments, 0) as bigint) as leads_from_comments,
        cast(coalesce(stages.leads_with_email, 0) as bigint) as leads_with_email,
        cast(latest_analytics.views as bigint) as views,
        cast(latest_analytics.requests as bigint) as requests,
        cast(latest_analytics.deliveries as bigint) as deliveries,
        latest_analytics.captured_at as analytics_captured_at,
        tracking_start.tracked_since,
        cast(tracking_start.deliveries_gained_before_tracking as bigint) as deliveries_gained_before_tracking,
        cast(
            case when tracking_start.tracked_since is not null then coalesce(stages.deliveries_gained_since_tracking, 0) end
            as bigint
        ) as deliveries_gained_since_tracking
    from magnets
    left join stages
        on magnets.client_id = stages.client_id and magnets.lead_magnet_id = stages.lead_magnet_id
    left join latest_analytics
        on magnets.client_id = latest_analytics.client_id and magnets.lead_magnet_id = latest_analytics.lead_magnet_id
    left join tracking_start
        on magnets.client_id = tracking_start.client_id and magnets.lead_magnet_id = tracking_start.lead_magnet_id
),

final as (
    select
        *,
        {{ leadpanther.safe_ratio('keyword_matches', 'comments') }} as keyword_match_rate,
        {{ leadpanther.safe_ratio('leads_with_email', 'leads') }} as email_capture_rate,
        {{ leadpanther.safe_ratio('deliveries', 'leads_with_email') }} as deliveries_per_lead_with_email
    from joined
)

select * from final
