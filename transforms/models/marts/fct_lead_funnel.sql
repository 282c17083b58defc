{#- Incremental per client-day (transforms/macros/incremental.sql): a run rebuilds every row of each (client, day)
    that a raw row loaded or deleted since this table's newest day (up to today) minus the lookback counts on, in
    any of its versions: an activity's or lead's creation day, a post's publication day, a lead magnet snapshot's
    day and the day of that magnet's next snapshot (whose gain counts from it); for a changed lead magnet (its
    linked posts included), every day of the comments, posts, leads and snapshots credited to it; and every day
    of a client deleted, joined or left, or whose snapshot history start moved. --full-refresh rebuilds it all. -#}
{{ config(
    materialized=leadpanther.lp_incremental_materialization(),
    incremental_strategy='lp_replace_records',
    unique_key=['client_id', 'day'],
    on_schema_change='fail',
    meta={'lp_row_column': 'lead_magnet_id'},
    indexes=[{'columns': ['client_id', 'day']}] if target.type == 'postgres' else [],
) }}
{%- set columns = ['client_id', 'lead_magnet_id', 'day', 'linked_posts_published', 'comments', 'keyword_matches',
                   'leads', 'leads_from_comments', 'leads_with_email', 'deliveries', 'keyword_match_rate',
                   'email_capture_rate', 'leads_per_keyword_match', 'deliveries_per_lead_with_email'] %}
{#- a day after today (a clock ahead) must not stop the model from reading loads again -#}
{%- set since = leadpanther.lp_changed_since('case when day <= current_date then day end') %}
{%- set rebuilt_clients = leadpanther.lp_clients_to_rebuild('lead_magnet_analytics_daily',
    leadpanther.first_snapshot_dates(ref('stg_leadpanther__lead_magnet_analytics_daily')), since, ref('dim_clients'),
    'select client_id from ' ~ ref('stg_leadpanther__lead_magnets')) %}

with
{%- if since is not none %}

changed_magnets as (
    {{ leadpanther.lp_changed_rows('lead_magnets', ['client_id', 'id as lead_magnet_id'], since) }}
),

changed_snapshots as (
    {{ leadpanther.lp_changed_rows('lead_magnet_analytics_daily', ['client_id', 'lead_magnet_id', 'snapshot_date'], since) }}
),

changed_magnet_posts as (
    select distinct versions.client_id, versions.post_id
    from {{ leadpanther.staged_source('lead_magnets__linked_posts') }} as versions
    inner join changed_magnets
        on versions.client_id = changed_magnets.client_id and versions.lead_magnet_id = changed_magnets.lead_magnet_id
),

rebuilt_days as (
    {{ leadpanther.lp_changed_record_days('activity', 'id', leadpanther.utc_date('versions.created_at'), since) }}
    {{ leadpanther.lp_union() }}
    {{ leadpanther.lp_changed_record_days('leads', 'id', leadpanther.utc_date('versions.created_at'), since) }}
    {{ leadpanther.lp_union() }}
    {{ leadpanther.lp_changed_record_days('posts', 'id', leadpanther.utc_date('versions.published_at'), since) }}
    {{ leadpanther.lp_union() }}
    select client_id, snapshot_date as day from changed_snapshots
    {{ leadpanther.lp_union() }}
    -- a snapshot's deliveries gained count from the one before it: the next one's day changes too
    select changed_snapshots.client_id, min(later.snapshot_date) as day
    from changed_snapshots
    inner join {{ leadpanther.staged_source('lead_magnet_analytics_daily') }} as later
        on later.client_id = changed_snapshots.client_id
        and later.lead_magnet_id = changed_snapshots.lead_magnet_id
        and later.snapshot_date > changed_snapshots.snapshot_date
        and later._lp_deleted_at is null
    group by changed_snapshots.client_id, changed_snapshots.lead_magnet_id, changed_snapshots.snapshot_date
    {{ leadpanther.lp_union() }}
    {{ leadpanther.lp_days_of_records('activity', leadpanther.utc_date('versions.created_at'), 'changed_magnet_posts', 'post_id', 'post_id') }}
    {{ leadpanther.lp_union() }}
    {{ leadpanther.lp_days_of_records('posts', leadpanther.utc_date('versions.published_at'), 'changed_magnet_posts', 'id', 'post_id') }}
    {{ leadpanther.lp_union() }}
    {{ leadpanther.lp_days_of_records('activity', leadpanther.utc_date('versions.created_at'), 'changed_magnets', 'lead_magnet_id', 'lead_magnet_id') }}
    {{ leadpanther.lp_union() }}
    {{ leadpanther.lp_days_of_records('leads', leadpanther.utc_date('versions.created_at'), 'changed_magnets', 'lead_magnet_id', 'lead_magnet_id') }}
    {{ leadpanther.lp_union() }}
    {{ leadpanther.lp_days_of_records('lead_magnet_analytics_daily', 'versions.snapshot_date', 'changed_magnets', 'lead_magnet_id', 'lead_magnet_id') }}
    {%- if rebuilt_clients %}
    -- every day of the clients rebuilt in full, from the inputs the rows below are filtered from
    {%- set clients_in = 'client_id in (' ~ leadpanther.lp_in_list(rebuilt_clients) ~ ')' %}
    {{ leadpanther.lp_union() }}
    select client_id, published_date as day from {{ ref('stg_leadpanther__posts') }} as rebuilt_posts where {{ clients_in }}
    {{ leadpanther.lp_union() }}
    select client_id, created_date as day from {{ ref('stg_leadpanther__activity') }} as rebuilt_activity where {{ clients_in }}
    {{ leadpanther.lp_union() }}
    select client_id, created_date as day from {{ ref('stg_leadpanther__leads') }} as rebuilt_leads where {{ clients_in }}
    {{ leadpanther.lp_union() }}
    select client_id, snapshot_date as day
    from {{ ref('int_leadpanther__lead_magnet_deliveries_daily') }} as rebuilt_deliveries where {{ clients_in }}
    {%- endif %}
),

rebuilt_keys as (
    select client_id, day from rebuilt_days
    {%- if rebuilt_clients %}
    {{ leadpanther.lp_union() }}
    select client_id, day from {{ this }} where client_id in ({{ leadpanther.lp_in_list(rebuilt_clients) }})
    {%- endif %}
),
{%- endif %}

magnets as (
    select magnets.client_id, magnets.lead_magnet_id
    from {{ ref('stg_leadpanther__lead_magnets') }} as magnets
    inner join {{ ref('dim_clients') }} as dim_clients on magnets.client_id = dim_clients.client_id
),

links as (
    select * from {{ ref('stg_leadpanther__lead_magnet_posts') }} as stg_leadpanther__lead_magnet_posts
),

posts_published as (
    select
        links.client_id,
        links.lead_magnet_id,
        posts.published_date as day,
        count(*) as linked_posts_published
    from links
    inner join {{ ref('stg_leadpanther__posts') }} as posts
        on links.client_id = posts.client_id and links.post_id = posts.post_id
    where posts.status = 'published' and posts.published_date is not null
        {{ leadpanther.lp_only_rebuilt_days('posts.client_id', 'posts.published_date', since) }}
    group by links.client_id, links.lead_magnet_id, posts.published_date
),

magnet_comments as (
    select links.client_id, links.lead_magnet_id, activity.activity_id
    from links
    inner join {{ ref('stg_leadpanther__activity') }} as activity
        on links.client_id = activity.client_id and links.post_id = activity.post_id
    where activity.source = 'comments'
    {{ leadpanther.lp_union() }}
    select client_id, lead_magnet_id, activity_id
    from {{ ref('stg_leadpanther__activity') }} as stg_leadpanther__activity
    where source = 'comments' and lead_magnet_id is not null
),

comments as (
    select
        magnet_comments.client_id,
        magnet_comments.lead_magnet_id,
        activity.created_date as day,
        count(*) as comments,
        sum(
            case
                when activity.keyword_matched and activity.lead_magnet_id = magnet_comments.lead_magnet_id
                    then 1
                else 0
            end
        ) as keyword_matches
    from magnet_comments
    inner join {{ ref('stg_leadpanther__activity') }} as activity
        on magnet_comments.client_id = activity.client_id
        and magnet_comments.activity_id = activity.activity_id
    where true
        {{ leadpanther.lp_only_rebuilt_days('activity.client_id', 'activity.created_date', since) }}
    group by magnet_comments.client_id, magnet_comments.lead_magnet_id, activity.created_date
),

leads as (
    select
        client_id,
        lead_magnet_id,
        created_date as day,
        count(*) as leads,
        sum(case when source = 'comments' then 1 else 0 end) as leads_from_comments,
        sum(case when has_email then 1 else 0 end) as leads_with_email
    from {{ ref('stg_leadpanther__leads') }} as stg_leadpanther__leads
    where lead_magnet_id is not null
        {{ leadpanther.lp_only_rebuilt_days('stg_leadpanther__leads.client_id', 'stg_leadpanther__leads.created_date', since) }}
    group by client_id, lead_magnet_id, created_date
),

deliveries as (
    select
        client_id,
        lead_magnet_id,
        snapshot_date as day,
        deliveries_gained as deliveries
    from {{ ref('int_leadpanther__lead_magnet_deliveries_daily') }} as int_leadpanther__lead_magnet_deliveries_daily
    where deliveries_gained is not null
        {{ leadpanther.lp_only_rebuilt_days('int_leadpanther__lead_magnet_deliveries_daily.client_id', 'int_leadpanther__lead_magnet_deliveries_daily.snapshot_date', since) }}
),

spine as (
    select client_id, lead_magnet_id, day from posts_published
    {{ leadpanther.lp_union() }}
    select client_id, lead_magnet_id, day from comments
    {{ leadpanther.lp_union() }}
    select client_id, lead_magnet_id, day from leads
    {{ leadpanther.lp_union() }}
    select client_id, lead_magnet_id, day from deliveries
),

joined as (
    select
        spine.client_id,
        spine.lead_magnet_id,
        spine.day,
        cast(coalesce(posts_published.linked_posts_published, 0) as bigint) as linked_posts_published,
        cast(coalesce(comments.comments, 0) as bigint) as comments,
        cast(coalesce(comments.keyword_matches, 0) as bigint) as keyword_matches,
        cast(coalesce(leads.leads, 0) as bigint) as leads,
        cast(coalesce(leads.leads_from_comments, 0) as bigint) as leads_from_comments,
        cast(coalesce(leads.leads_with_email, 0) as bigint) as leads_with_email,
        cast(coalesce(deliveries.deliveries, 0) as bigint) as deliveries
    from spine
    inner join magnets
        on spine.client_id = magnets.client_id and spine.lead_magnet_id = magnets.lead_magnet_id
    left join posts_published
        on spine.client_id = posts_published.client_id
        and spine.lead_magnet_id = posts_published.lead_magnet_id
        and spine.day = posts_published.day
    left join comments
        on spine.client_id = comments.client_id
        and spine.lead_magnet_id = comments.lead_magnet_id
        and spine.day = comments.day
    left join leads
        on spine.client_id = leads.client_id
        and spine.lead_magnet_id = leads.lead_magnet_id
        and spine.day = leads.day
    left join deliveries
        on spine.client_id = deliveries.client_id
        and spine.lead_magnet_id = deliveries.lead_magnet_id
        and spine.day = deliveries.day
),

final as (
    select
        *,
        {{ leadpanther.safe_ratio('keyword_matches', 'comments') }} as keyword_match_rate,
        {{ leadpanther.safe_ratio('leads_with_email', 'leads') }} as email_capture_rate,
        {{ leadpanther.safe_ratio('leads_from_comments', 'keyword_matches') }} as leads_per_keyword_match,
        {{ leadpanther.safe_ratio('deliveries', 'leads_with_email') }} as deliveries_per_lead_with_email
    from joined
)

select {{ columns | join(', ') }} from final
{%- if since is not none %}
union all
{{ leadpanther.lp_record_markers('rebuilt_keys', ['client_id', 'day'], columns) }}
{%- endif %}
