with activity as (
    select * from {{ ref('stg_leadpanther__activity') }} as stg_leadpanther__activity
),

single_post as (
    select * from {{ ref('int_leadpanther__lead_magnet_single_post') }} as int_leadpanther__lead_magnet_single_post
),

final as (
    select
        activity.*,
        coalesce(activity.post_id, single_post.post_id) as attributed_post_id,
        case
            when activity.post_id is not null then 'post_id'
            when single_post.post_id is not null then 'single_linked_post'
        end as attribution
    from activity
    left join single_post
        on activity.client_id = single_post.client_id
        and activity.lead_magnet_id = single_post.lead_magnet_id
)

select * from final
