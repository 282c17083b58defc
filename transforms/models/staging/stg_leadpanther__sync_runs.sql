with base as (
    select * from {{ leadpanther.staged_source('sync_runs') }} as raw_sync_runs
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
        {{ leadpanther.lp_quote('rows') }} as rows_loaded,
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
