-- Grain: one row per run, client and resource (run_id, resource, client_id); client_id is NULL for the
-- Key: run_id, resource, client_id?
-- clients resource.
with base as (
    select * from raw.sync_runs
),

fields as (
    select
        run_id,
        run_mode,
        started_at,
        finished_at,
        duration_s,
        client_id,
        resource,
        lower(status) as status,
        http_status,
        error_code,
        error_message,
        request_id,
        rows as rows_loaded,
        pages,
        requests,
        retries,
        quarantined,
        order_detected,
        scan
    from base
),

final as (
    select * from fields
)

select * from final
