-- Grain: one row per activity item (client_id, activity_id), with the post it is attributed to.
-- Key: client_id, activity_id
-- attributed_post_id: the item's own post_id; else the single current linked post of its lead magnet.
with activity as (
    select * from stg_leadpanther__activity
),

single_post as (
    select * from int_leadpanther__lead_magnet_single_post
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
