with base as (
    select * from {{ leadpanther.staged_source('leads') }} as raw_leads
),

fields as (
    select
        client_id,
        id as lead_id,
        lead_magnet_id,
        post_id,
        full_name,
        email,
        coalesce(email is not null and trim(email) <> '', false) as has_email,
        linkedin_profile_url,
        headline,
        company,
        lower(source) as source,
        created_at,
        {{ leadpanther.utc_date('created_at') }} as created_date,
        updated_at,
        _lp_synced_at as synced_at,
        _lp_deleted_at as deleted_at,
        row_number() over (
            partition by client_id, id order by updated_at desc, _lp_synced_at desc
        ) as version_rank
    from base
),

final as (
    select
        client_id,
        lead_id,
        lead_magnet_id,
        post_id,
        full_name,
        email,
        has_email,
        linkedin_profile_url,
        headline,
        company,
        source,
        created_at,
        created_date,
        updated_at,
        synced_at
    from fields
    where version_rank = 1 and deleted_at is null
)

select * from final
