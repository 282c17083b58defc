with base as (
    select * from {{ leadpanther.staged_source('lead_magnet_analytics_daily') }} as raw_lead_magnet_analytics_daily
),

fields as (
    select
        client_id,
        lead_magnet_id,
        snapshot_date,
        views,
        requests,
        deliveries,
        captured_at,
        _lp_deleted_at as deleted_at,
        row_number() over (
            partition by client_id, lead_magnet_id, snapshot_date order by _lp_synced_at desc
        ) as version_rank
    from base
),

final as (
    select
        client_id,
        lead_magnet_id,
        snapshot_date,
        views,
        requests,
        deliveries,
        captured_at
    from fields
    where version_rank = 1 and deleted_at is null
)

select * from final
