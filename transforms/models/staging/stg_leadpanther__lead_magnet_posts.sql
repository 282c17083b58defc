with base as (
    select * from {{ leadpanther.staged_source('lead_magnets__linked_posts') }} as raw_lead_magnets__linked_posts
),

fields as (
    select
        client_id,
        lead_magnet_id,
        post_id,
        _lp_synced_at as synced_at,
        _lp_deleted_at as deleted_at
    from base
),

final as (
    select distinct
        fields.client_id,
        fields.lead_magnet_id,
        fields.post_id
    from fields
    inner join {{ ref('stg_leadpanther__lead_magnets') }} as magnets
        on fields.client_id = magnets.client_id
        and fields.lead_magnet_id = magnets.lead_magnet_id
        and fields.synced_at = magnets.synced_at
    where fields.deleted_at is null and fields.post_id is not null
)

select * from final
