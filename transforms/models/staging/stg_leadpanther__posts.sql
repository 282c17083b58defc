with base as (
    select * from {{ leadpanther.staged_source('posts') }} as raw_posts
),

fields as (
    select
        client_id,
        id as post_id,
        lower(status) as status,
        text as post_text,
        notes,
        scheduled_at,
        published_at,
        {{ leadpanther.utc_date('published_at') }} as published_date,
        theme_id,
        template_id,
        images,
        document_url,
        document_type,
        followups,
        linkedin_url,
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
        post_id,
        status,
        post_text,
        notes,
        scheduled_at,
        published_at,
        published_date,
        theme_id,
        template_id,
        images,
        document_url,
        document_type,
        followups,
        linkedin_url,
        created_at,
        updated_at,
        synced_at
    from fields
    where version_rank = 1 and deleted_at is null
)

select * from final
