with base as (
    select * from {{ leadpanther.staged_source('clients') }} as raw_clients
),

fields as (
    select
        client_id,
        user_id,
        full_name,
        business_name,
        account_status,
        grant__id as grant_id,
        grant__label as grant_label,
        lower(grant__status) as grant_status,
        grant__permissions as grant_permissions,
        grant__created_at as grant_created_at,
        grant__updated_at as grant_updated_at,
        _lp_synced_at as synced_at,
        _lp_deleted_at as deleted_at,
        row_number() over (partition by client_id order by _lp_synced_at desc) as version_rank
    from base
),

final as (
    select
        client_id,
        user_id,
        full_name,
        business_name,
        account_status,
        grant_id,
        grant_label,
        grant_status,
        grant_permissions,
        grant_created_at,
        grant_updated_at,
        synced_at
    from fields
    where version_rank = 1 and deleted_at is null and client_id is not null
)

select * from final
