with snapshots as (
    select * from {{ ref('stg_leadpanther__lead_magnet_analytics_daily') }} as stg_leadpanther__lead_magnet_analytics_daily
),

magnets as (
    select client_id, lead_magnet_id, {{ leadpanther.utc_date('created_at') }} as created_date
    from {{ ref('stg_leadpanther__lead_magnets') }} as stg_leadpanther__lead_magnets
),

history_start as (
    {{ leadpanther.first_snapshot_dates('snapshots') }}
),

figures as (
    select
        snapshots.client_id,
        snapshots.lead_magnet_id,
        snapshots.snapshot_date,
        snapshots.deliveries,
        coalesce(magnets.created_date >= history_start.first_snapshot_date, false) as created_in_history
    from snapshots
    inner join magnets
        on snapshots.client_id = magnets.client_id and snapshots.lead_magnet_id = magnets.lead_magnet_id
    inner join history_start on snapshots.client_id = history_start.client_id
),

final as (
    select
        client_id,
        lead_magnet_id,
        snapshot_date,
        deliveries,
        {{ leadpanther.snapshot_gain('deliveries', 'client_id, lead_magnet_id', 'created_in_history') }}
            as deliveries_gained
    from figures
)

select * from final
