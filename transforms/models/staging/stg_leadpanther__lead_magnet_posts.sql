-- Grain: one row per current link (client_id, lead_magnet_id, post_id) between a lead magnet and a post.
-- Key: client_id, lead_magnet_id, post_id
-- A link is current when it was written from the lead magnet's latest version (same _lp_synced_at) and
-- the lead magnet is not deleted; older links were removed upstream since.
with base as (
    select * from raw.lead_magnets__linked_posts
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
    inner join stg_leadpanther__lead_magnets as magnets
        on fields.client_id = magnets.client_id
        and fields.lead_magnet_id = magnets.lead_magnet_id
        and fields.synced_at = magnets.synced_at
    where fields.deleted_at is null and fields.post_id is not null
)

select * from final
