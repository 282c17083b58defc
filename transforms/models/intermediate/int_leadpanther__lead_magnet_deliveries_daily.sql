{#- Incremental per lead magnet (transforms/macros/incremental.sql), like fct_post_engagement_daily: a run rebuilds
    every row of each lead magnet whose snapshots or lead magnet row were loaded or deleted since this table's
    newest snapshot_date minus the lookback, and of every lead magnet of a client whose row was deleted or whose
    history start moved. A table on every warehouse (a view would recompute all of history on each read). -#}
{{ config(
    materialized=leadpanther.lp_incremental_materialization(),
    incremental_strategy='lp_replace_records',
    unique_key=['client_id', 'lead_magnet_id'],
    on_schema_change='fail',
    meta={'lp_row_column': 'snapshot_date'},
    indexes=[{'columns': ['client_id', 'lead_magnet_id']}] if target.type == 'postgres' else [],
) }}
{%- set columns = ['client_id', 'lead_magnet_id', 'snapshot_date', 'deliveries', 'deliveries_gained'] %}
{%- set since = leadpanther.lp_changed_since('snapshot_date') %}
{%- set rebuilt_clients = leadpanther.lp_clients_to_rebuild('lead_magnet_analytics_daily',
    leadpanther.first_snapshot_dates(ref('stg_leadpanther__lead_magnet_analytics_daily')), since) %}

with snapshots as (
    select * from {{ ref('stg_leadpanther__lead_magnet_analytics_daily') }} as stg_leadpanther__lead_magnet_analytics_daily
),

magnets as (
    select client_id, lead_magnet_id, {{ leadpanther.utc_date('created_at') }} as created_date
    from {{ ref('stg_leadpanther__lead_magnets') }} as stg_leadpanther__lead_magnets
),

history_start as (
    {{ leadpanther.first_snapshot_dates('snapshots') }}
),
{%- if since is not none %}

rebuilt_magnets as (
    {{ leadpanther.lp_records_to_rebuild('lead_magnet_id', [
        leadpanther.lp_changed_rows('lead_magnet_analytics_daily', ['client_id', 'lead_magnet_id'], since),
        leadpanther.lp_changed_rows('lead_magnets', ['client_id', 'id as lead_magnet_id'], since),
    ], rebuilt_clients, 'snapshots') }}
),
{%- endif %}

figures as (
    select
        snapshots.client_id,
        snapshots.lead_magnet_id,
        snapshots.snapshot_date,
        snapshots.deliveries,
        coalesce(magnets.created_date >= history_start.first_snapshot_date, false) as created_in_history
    from snapshots
    inner join magnets
        on snapshots.client_id = magnets.client_id and snapshots.lead_magnet_id = magnets.lead_magnet_id
    inner join history_start on snapshots.client_id = history_start.client_id
    {%- if since is not none %}
    inner join rebuilt_magnets
        on snapshots.client_id = rebuilt_magnets.client_id and snapshots.lead_magnet_id = rebuilt_magnets.lead_magnet_id
    {%- endif %}
),

final as (
    select
        client_id,
        lead_magnet_id,
        snapshot_date,
        deliveries,
        {{ leadpanther.snapshot_gain('deliveries', 'client_id, lead_magnet_id', 'created_in_history') }}
            as deliveries_gained
    from figures
)

select {{ columns | join(', ') }} from final
{%- if since is not none %}
union all
{{ leadpanther.lp_record_markers('rebuilt_magnets', ['client_id', 'lead_magnet_id'], columns) }}
{%- endif %}
