-- Grain: one row per lead magnet (client_id, lead_magnet_id) that has exactly one current linked post.
-- Key: client_id, lead_magnet_id
-- Used to attribute activity and leads that carry no post_id (see DECISIONLOG.md, attribution).
with links as (
    select * from stg_leadpanther__lead_magnet_posts
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
