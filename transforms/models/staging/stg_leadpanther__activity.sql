with base as (
    select * from {{ leadpanther.staged_source('activity') }} as raw_activity
),

fields as (
    select
        client_id,
        id as activity_id,
        lower(source) as source,
        post_id,
        lead_magnet_id,
        author_name,
        author_platform_id,
        content,
        coalesce(keyword_matched, false) as keyword_matched,
        created_at,
        {{ leadpanther.utc_date('created_at') }} as created_date,
        _lp_synced_at as synced_at,
        _lp_deleted_at as deleted_at,
        row_number() over (partition by client_id, id order by _lp_synced_at desc) as version_rank
    from base
),

final as (
    select
        client_id,
        activity_id,
        source,
        post_id,
        lead_magnet_id,
        author_name,
        author_platform_id,
        content,
        keyword_matched,
        created_at,
        created_date,
        synced_at
    from fields
    where version_rank = 1 and deleted_at is null
)

select * from final
