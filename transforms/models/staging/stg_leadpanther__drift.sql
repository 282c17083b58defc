with base as (
    select * from {{ leadpanther.staged_source('_lp_drift') }} as raw_lp_drift
),

fields as (
    select
        run_id,
        synced_at,
        table_name,
        field_name,
        lower(kind) as kind,
        records,
        category,
        action
    from base
),

final as (
    select * from fields
)

select * from final
