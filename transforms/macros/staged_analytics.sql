{#- An analytics route's snapshots as staging reads them, written once for both tables of the route: the
    latest snapshot per record (raw table `<route>`, key client_id + record id) and one snapshot per record
    per UTC day (raw table `<route>_daily`, the same key + snapshot_date: `per_day`). The latest is the newest
    `captured_at`, then the last sync; a day's snapshot is that day's last sync (what its last run read).
    A record whose chosen version is deleted (`_lp_deleted_at`) is dropped. Like staged_source, a subquery.
    The columns: the key, the route's figures (`routes` below), captured_at. -#}
{% macro staged_analytics(route, per_day=false) -%}
  {%- set routes = {
      'post_engagement': {
          'record': 'post_id',
          'figures': ['impressions', 'reactions', 'comments as engagement_comments', 'reposts', 'clicks']},
      'lead_magnet_analytics': {'record': 'lead_magnet_id', 'figures': ['views', 'requests', 'deliveries']},
  } -%}
  {%- if route not in routes -%}
    {%- do exceptions.raise_compiler_error('staged_analytics: no columns for the route ' ~ route) -%}
  {%- endif -%}
  {%- set table_name = route ~ ('_daily' if per_day else '') -%}
  {%- set key = ['client_id', routes[route]['record']] + (['snapshot_date'] if per_day else []) -%}
  {%- set columns = key + routes[route]['figures'] + ['captured_at'] -%}
  {%- set latest_first = '_lp_synced_at desc' if per_day else 'captured_at desc, _lp_synced_at desc' -%}
  (select
    {%- for column in columns %}
        {{ column.split(' as ') | last }}{{ ',' if not loop.last }}
    {%- endfor %}
    from (
        select
        {%- for column in columns %}
            {{ column }},
        {%- endfor %}
            _lp_deleted_at as deleted_at,
            row_number() over (
                partition by {{ key | join(', ') }} order by {{ latest_first }}
            ) as version_rank
        from {{ leadpanther.staged_source(table_name) }} as raw_{{ table_name }}
    ) as versions
    where version_rank = 1 and deleted_at is null)
{%- endmacro %}
