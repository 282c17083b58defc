with base as (
    select * from {{ leadpanther.staged_source('_lp_quarantine') }} as raw_lp_quarantine
),

fields as (
    select
        run_id,
        table_name,
        client_id,
        record_id,
        field_name,
        reason,
        raw_record,
        quarantined_at,
        row_number() over (
            partition by run_id, table_name order by quarantined_at, client_id, record_id, field_name, reason
        ) as quarantine_seq
    from base
),

final as (
    select * from fields
)

select * from final
