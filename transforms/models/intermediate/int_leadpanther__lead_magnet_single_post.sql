with links as (
    select * from {{ ref('stg_leadpanther__lead_magnet_posts') }} as stg_leadpanther__lead_magnet_posts
),

final as (
    select
        client_id,
        lead_magnet_id,
        min(post_id) as post_id
    from links
    group by client_id, lead_magnet_id
    having count(*) = 1
)

select * from final
