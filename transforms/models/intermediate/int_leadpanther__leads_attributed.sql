with leads as (
    select * from {{ ref('stg_leadpanther__leads') }} as stg_leadpanther__leads
),

single_post as (
    select * from {{ ref('int_leadpanther__lead_magnet_single_post') }} as int_leadpanther__lead_magnet_single_post
),

final as (
    select
        leads.*,
        coalesce(leads.post_id, single_post.post_id) as attributed_post_id,
        case
            when leads.post_id is not null then 'post_id'
            when single_post.post_id is not null then 'single_linked_post'
        end as attribution
    from leads
    left join single_post
        on leads.client_id = single_post.client_id
        and leads.lead_magnet_id = single_post.lead_magnet_id
)

select * from final
