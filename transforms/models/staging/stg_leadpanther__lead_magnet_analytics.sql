with base as (
    select * from {{ leadpanther.staged_source('lead_magnet_analytics') }} as raw_lead_magnet_analytics
),

fields as (
    select
        client_id,
        lead_magnet_id,
        views,
        requests,
        deliveries,
        captured_at,
        {{ leadpanther.utc_date('captured_at') }} as captured_date,
        _lp_deleted_at as deleted_at,
        row_number() over (
            partition by client_id, lead_magnet_id order by captured_at desc, _lp_synced_at desc
        ) as version_rank
    from base
),

final as (
    select
        client_id,
        lead_magnet_id,
        views,
        requests,
        deliveries,
        captured_at,
        captured_date
    from fields
    where version_rank = 1 and deleted_at is null
)

select * from final
