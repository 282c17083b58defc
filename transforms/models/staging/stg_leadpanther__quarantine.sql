-- Grain: one row per quarantined record version (run_id, table_name, record_id): records the source could
-- Key: run_id, table_name, quarantine_seq
-- not load as typed rows. raw_record is the record as served after the PII policy was applied.
with base as (
    select * from raw._lp_quarantine
),

fields as (
    select
        run_id,
        table_name,
        client_id,
        record_id,
        reason,
        raw_record,
        quarantined_at,
        row_number() over (
            partition by run_id, table_name order by quarantined_at, client_id, record_id, reason
        ) as quarantine_seq
    from base
),

final as (
    select * from fields
)

select * from final
