with clients as (
    select * from {{ ref('stg_leadpanther__clients') }} as stg_leadpanther__clients
),

runs as (
    select * from {{ ref('stg_leadpanther__sync_runs') }} as stg_leadpanther__sync_runs
),

latest_run as (
    select
        client_id,
        resource,
        status,
        http_status,
        row_number() over (
            partition by client_id, resource order by started_at desc, run_id desc
        ) as recency
    from runs
    where client_id is not null
),

access as (
    select
        client_id,
        max(case when resource = 'posts' then can_read end) as can_read_posts,
        max(case when resource = 'lead_magnets' then can_read end) as can_read_lead_magnets,
        max(case when resource = 'leads' then can_read end) as can_read_leads,
        max(case when resource = 'activity' then can_read end) as can_read_activity,
        max(case when resource in ('post_engagement', 'lead_magnet_analytics') then can_read end)
            as can_read_analytics
    from (
        select
            client_id,
            resource,
            case
                when status = 'ok' then 1
                when http_status = 403 then 0
            end as can_read
        from latest_run
        where recency = 1
    ) as latest
    group by client_id
),

last_ok as (
    select
        client_id,
        max(case when resource = 'posts' then started_at end) as last_synced_posts_at,
        max(case when resource = 'lead_magnets' then started_at end) as last_synced_lead_magnets_at,
        max(case when resource = 'leads' then started_at end) as last_synced_leads_at,
        max(case when resource = 'activity' then started_at end) as last_synced_activity_at,
        max(case when resource = 'post_engagement' then started_at end) as last_synced_post_engagement_at,
        max(case when resource = 'lead_magnet_analytics' then started_at end)
            as last_synced_lead_magnet_analytics_at
    from runs
    where status = 'ok' and client_id is not null
    group by client_id
),

clients_ok as (
    select max(started_at) as last_synced_clients_at
    from runs
    where status = 'ok' and resource = 'clients'
),

final as (
    select
        clients.client_id,
        clients.full_name,
        clients.business_name,
        clients.account_status,
        clients.grant_id,
        clients.grant_label,
        clients.grant_status,
        coalesce(clients.grant_status = 'active', false) as is_grant_active,
        clients.grant_permissions,
        access.can_read_posts = 1 as can_read_posts,
        access.can_read_lead_magnets = 1 as can_read_lead_magnets,
        access.can_read_leads = 1 as can_read_leads,
        access.can_read_activity = 1 as can_read_activity,
        access.can_read_analytics = 1 as can_read_analytics,
        coalesce(clients_ok.last_synced_clients_at, clients.synced_at) as last_synced_clients_at,
        last_ok.last_synced_posts_at,
        last_ok.last_synced_lead_magnets_at,
        last_ok.last_synced_leads_at,
        last_ok.last_synced_activity_at,
        last_ok.last_synced_post_engagement_at,
        last_ok.last_synced_lead_magnet_analytics_at
    from clients
    cross join clients_ok
    left join access on clients.client_id = access.client_id
    left join last_ok on clients.client_id = last_ok.client_id
)

select * from final
