with base as (
    select * from {{ leadpanther.staged_source('lead_magnets') }} as raw_lead_magnets
),

fields as (
    select
        client_id,
        id as lead_magnet_id,
        lower(status) as status,
        delivery_mode,
        keyword,
        resource_name,
        resource_link,
        description,
        text_template,
        linked_posts,
        hosted_page__title as hosted_page_title,
        hosted_page__status as hosted_page_status,
        created_at,
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
        lead_magnet_id,
        status,
        delivery_mode,
        keyword,
        resource_name,
        resource_link,
        description,
        text_template,
        linked_posts,
        hosted_page_title,
        hosted_page_status,
        created_at,
        updated_at,
        synced_at
    from fields
    where version_rank = 1 and deleted_at is null
)

select * from final
