{#- Incremental per post (transforms/macros/incremental.sql): a run rebuilds every row of each post whose snapshots
    or post row were loaded or deleted since this table's newest snapshot_date minus the lookback, and of every
    post of a client whose row was deleted or whose history start moved. --full-refresh rebuilds it all. -#}
{{ config(
    materialized=leadpanther.lp_incremental_materialization(),
    incremental_strategy='lp_replace_records',
    unique_key=['client_id', 'post_id'],
    on_schema_change='fail',
    meta={'lp_row_column': 'snapshot_date'},
    indexes=[{'columns': ['client_id', 'post_id']}] if target.type == 'postgres' else [],
) }}
{%- set figures_gained = ['impressions', 'reactions', 'engagement_comments', 'reposts', 'clicks', 'engagements'] %}
{%- set columns = ['client_id', 'post_id', 'snapshot_date', 'previous_snapshot_date', 'days_since_previous',
                   'gains_counted_from', 'impressions', 'reactions', 'engagement_comments', 'reposts', 'clicks',
                   'engagements'] %}
{%- for figure in figures_gained %}{% do columns.append(figure ~ '_gained') %}{% endfor %}
{%- do columns.append('captured_at') %}
{%- set since = leadpanther.lp_changed_since('snapshot_date') %}
{%- set snapshots_model = ref('stg_leadpanther__post_engagement_daily') %}
{%- set rebuilt_clients = leadpanther.lp_clients_to_rebuild(
    'post_engagement_daily', leadpanther.first_snapshot_dates(snapshots_model), since, ref('dim_clients'),
    'select client_id from ' ~ snapshots_model) %}

with snapshots as (
    select * from {{ ref('stg_leadpanther__post_engagement_daily') }} as stg_leadpanther__post_engagement_daily
),

posts as (
    select client_id, post_id, published_date from {{ ref('stg_leadpanther__posts') }} as stg_leadpanther__posts
),

clients as (
    select client_id from {{ ref('dim_clients') }} as dim_clients
),

history_start as (
    {{ leadpanther.first_snapshot_dates('snapshots') }}
),
{%- if since is not none %}

rebuilt_posts as (
    {{ leadpanther.lp_records_to_rebuild('post_id', [
        leadpanther.lp_changed_rows('post_engagement_daily', ['client_id', 'post_id'], since),
        leadpanther.lp_changed_rows('posts', ['client_id', 'id as post_id'], since),
    ], rebuilt_clients, 'snapshots') }}
),
{%- endif %}

figures as (
    select
        snapshots.client_id,
        snapshots.post_id,
        snapshots.snapshot_date,
        snapshots.impressions,
        snapshots.reactions,
        snapshots.engagement_comments,
        snapshots.reposts,
        snapshots.clicks,
        {{ leadpanther.engagements('snapshots') }} as engagements,
        snapshots.captured_at,
        -- not published before the history began: its figures were 0 when the history began
        coalesce(posts.published_date >= history_start.first_snapshot_date, posts.published_date is null)
            as published_in_history
    from snapshots
    inner join posts on snapshots.client_id = posts.client_id and snapshots.post_id = posts.post_id
    inner join clients on snapshots.client_id = clients.client_id
    inner join history_start on snapshots.client_id = history_start.client_id
    {%- if since is not none %}
    inner join rebuilt_posts
        on snapshots.client_id = rebuilt_posts.client_id and snapshots.post_id = rebuilt_posts.post_id
    {%- endif %}
),

final as (
    select
        client_id,
        post_id,
        snapshot_date,
        lag(snapshot_date) over (partition by client_id, post_id order by snapshot_date) as previous_snapshot_date,
        {{ leadpanther.days_between(
            'lag(snapshot_date) over (partition by client_id, post_id order by snapshot_date)', 'snapshot_date'
        ) }} as days_since_previous,
        -- typed as the contract's column: an incremental run's new rows are checked against the table's types
        cast({{ leadpanther.snapshot_gain_basis('client_id, post_id', 'published_in_history') }}
            as {{ leadpanther.lp_type('text') }}) as gains_counted_from,
        impressions,
        reactions,
        engagement_comments,
        reposts,
        clicks,
        engagements,
        {%- for figure in ['impressions', 'reactions', 'engagement_comments', 'reposts', 'clicks', 'engagements'] %}
        {{ leadpanther.snapshot_gain(figure, 'client_id, post_id', 'published_in_history') }} as {{ figure }}_gained,
        {%- endfor %}
        captured_at
    from figures
)

select {{ columns | join(', ') }} from final
{%- if since is not none %}
union all
{{ leadpanther.lp_record_markers('rebuilt_posts', ['client_id', 'post_id'], columns) }}
{%- endif %}
