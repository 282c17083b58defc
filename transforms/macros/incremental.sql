{#- Incremental marts (transforms/DECISIONLOG.md, "Incremental models").

    A per-day mart here is rebuilt per *record* (a post, a lead magnet): on an incremental run the model
    selects every record whose inputs changed since its last build, recomputes all of that record's rows from
    the full inputs, and the strategy below replaces the record's rows in the table. So a record's rows are
    always what a full refresh computes for it (its gains need its previous snapshot; its first snapshot
    needs its post and its client's history start), and unchanged records are never read again.

    "Changed since the last build": a raw row loaded (`_lp_synced_at`) or marked deleted (`_lp_deleted_at`) on
    or after the newest day the model holds minus `leadpanther_incremental_lookback_days`. A daily snapshot's
    snapshot_date is the UTC day of the run that loaded it, so the model's own newest snapshot_date is how far
    its loads were read; the lookback re-reads the last days again for rows a run committed late (a shard
    finishing after midnight, a run that took hours). -#}

{#- The materialization of these models: incremental where it is tested (DuckDB, PostgreSQL); a table (a full
    rebuild, the same SQL without the incremental branch) elsewhere. dbt-bigquery accepts only its own strategies;
    Snowflake would run lp_replace_records as it is, but nothing here tests it. -#}
{% macro lp_incremental_materialization() -%}
  {{ return('incremental' if target.type in ('duckdb', 'postgres') else 'table') }}
{%- endmacro %}

{#- The timestamp (a SQL literal) from which loads are read again, or none: a first build, a full refresh,
    or an empty table (then the model computes everything). -#}
{% macro lp_changed_since(day_column) -%}
  {%- if not execute or not is_incremental() -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set newest = run_query(
      'select cast(max(' ~ day_column ~ ') as ' ~ leadpanther.lp_type('text') ~ ') from ' ~ this
  ).columns[0].values()[0] -%}
  {%- if newest is none -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set since = modules.datetime.date.fromisoformat(newest[:10])
      - modules.datetime.timedelta(days=var('leadpanther_incremental_lookback_days') | int) -%}
  {{ return("cast('" ~ since.isoformat() ~ " 00:00:00+00:00' as " ~ leadpanther.lp_type('timestamp') ~ ")") }}
{%- endmacro %}

{#- Raw rows of a `leadpanther` source table loaded or marked deleted since `since` (a lp_changed_since
    literal): the key columns only. -#}
{% macro lp_changed_rows(table_name, columns, since) -%}
select {{ columns | join(', ') }}
from {{ leadpanther.staged_source(table_name) }} as raw_{{ table_name }}
where _lp_synced_at >= {{ since }} or _lp_deleted_at >= {{ since }}
{%- endmacro %}

{#- Clients whose every record is rebuilt: the client row was marked deleted, the client joined or left the
    models' clients (`clients_model`, for a model that keeps only dim_clients' clients) since this table was
    built, or a changed snapshot is on or before its history start (a late first snapshot, the first one
    deleted: every record's first gain moves). "Joined" counts only clients that can have rows here
    (`row_clients`, a select of client_id): a client with no records has no rows, so without it every such
    client was "joined" on every run (12 of 60 at the large preset, their whole history re-read each time).
    Not a client row loaded again: every run re-writes the rows of the clients it syncs, so that would rebuild
    every client on every run. Asked at compile time so that the usual run (none) reads nothing more. -#}
{% macro lp_clients_to_rebuild(snapshots_table, history_start_sql, since, clients_model=none, row_clients=none) -%}
  {%- if since is none or not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set query -%}
    select client_id from {{ leadpanther.staged_source('clients') }} as deleted_clients
    where _lp_deleted_at >= {{ since }} and client_id is not null
    {%- if clients_model is not none %}
    {{ leadpanther.lp_union() }}
    (select client_id from {{ clients_model }} as joined_clients
     {%- if row_clients is not none %} where client_id in ({{ row_clients }}){% endif %}
     except select client_id from {{ this }})
    {{ leadpanther.lp_union() }}
    (select client_id from {{ this }} except select client_id from {{ clients_model }})
    {%- endif %}
    {{ leadpanther.lp_union() }}
    select changed.client_id
    from ({{ leadpanther.lp_changed_rows(snapshots_table, ['client_id', 'snapshot_date'], since) }}) as changed
    left join ({{ history_start_sql }}) as history_start on changed.client_id = history_start.client_id
    where history_start.first_snapshot_date is null or changed.snapshot_date <= history_start.first_snapshot_date
  {%- endset -%}
  {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- SQL list of quoted strings, for an `in (...)`. -#}
{% macro lp_in_list(values) -%}
  {%- for value in values -%}'{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro %}

{#- The records to rebuild, one row each: (client_id, `record`). `changes` is a list of SQL selects of
    (client_id, record) from changed raw rows; the records of `clients` (lp_clients_to_rebuild) are taken
    from the snapshots and from this table. -#}
{% macro lp_records_to_rebuild(record, changes, clients, snapshots) -%}
  {%- for change in changes %}
    {{ change }}
    {{ leadpanther.lp_union() if not loop.last }}
  {%- endfor %}
  {%- if clients %}
    {{ leadpanther.lp_union() }}
    select client_id, {{ record }} from {{ snapshots }} where client_id in ({{ leadpanther.lp_in_list(clients) }})
    {{ leadpanther.lp_union() }}
    select client_id, {{ record }} from {{ this }} where client_id in ({{ leadpanther.lp_in_list(clients) }})
  {%- endif %}
{%- endmacro %}

{#- A record to rebuild that has no rows any more still needs its old rows deleted: one marker row per
    rebuilt record (its key, every other column NULL, so `day_column` is NULL). The strategy deletes the
    records' rows and inserts only real rows. `columns`: the model's columns in order. -#}
{% macro lp_record_markers(records, key, columns) -%}
select
  {%- for column in columns %}
    {% if column in key -%}
      {{ records }}.{{ column }}
    {%- else -%}
      null
    {%- endif %} as {{ column }}{{ ',' if not loop.last }}
  {%- endfor %}
from {{ records }}
{%- endmacro %}

{#- dbt custom incremental strategy `lp_replace_records`: delete every target row of each record in the new
    rows (the unique_key is the record, not the row), then insert the new rows except the markers (rows whose
    `meta.lp_row_column` is NULL). Plain DELETE ... WHERE EXISTS and INSERT ... SELECT: DuckDB, PostgreSQL,
    Snowflake and BigQuery all read it. -#}
{% macro get_incremental_lp_replace_records_sql(arg_dict) -%}
  {%- set target_relation = arg_dict["target_relation"] -%}
  {%- set rebuilt_relation = arg_dict["temp_relation"] -%}
  {%- set key = arg_dict['unique_key'] -%}
  {%- set key = [key] if key is string else key -%}
  {%- set row_column = config.get('meta', {}).get('lp_row_column') -%}
  {%- if not row_column -%}
    {%- do exceptions.raise_compiler_error('lp_replace_records needs meta.lp_row_column (NULL on marker rows)') -%}
  {%- endif -%}
  {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
delete from {{ target_relation }}
where exists (
    select 1 from {{ rebuilt_relation }} as rebuilt
    where {% for column in key %}rebuilt.{{ column }} = {{ target_relation }}.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
);
insert into {{ target_relation }} ({{ columns }})
select {{ columns }} from {{ rebuilt_relation }} where {{ row_column }} is not null
{%- endmacro %}

{#- (client_id, day) of every version of each record of a raw table changed since `since`: a per-day mart
    rebuilt per client-day (fct_lead_funnel) recomputes the days a changed record counted on before its change
    (an older version's day) as well as now. `record`: the raw key column besides client_id. -#}
{% macro lp_changed_record_days(table_name, record, day_expression, since) -%}
{{ leadpanther.lp_days_of_records(
    table_name, day_expression,
    '(' ~ leadpanther.lp_changed_rows(table_name, ['client_id', record ~ ' as changed_record'], since) ~ ')',
    record, 'changed_record') }}
{%- endmacro %}

{#- The days (a `day_expression` on `versions`, a row of raw `table_name`) of the raw rows whose client and
    `column` match a row of `matches` (a CTE or a subquery) on its client and `match_column`. -#}
{% macro lp_days_of_records(table_name, day_expression, matches, column, match_column) -%}
select versions.client_id, {{ day_expression }} as day
from {{ leadpanther.staged_source(table_name) }} as versions
inner join {{ matches }} as matches
    on versions.client_id = matches.client_id and versions.{{ column }} = matches.{{ match_column }}
{%- endmacro %}

{#- A filter on a CTE's rows: only the client-days to rebuild (a CTE `rebuilt_days`, which holds every day of the
    clients rebuilt in full too); nothing on a first build or full refresh. Appended to a `where`. One
    uncorrelated `in` and no `or`: PostgreSQL ran a correlated `exists` beside an `or` as a subplan per row
    (transforms/DECISIONLOG.md, "The funnel's filter"). -#}
{% macro lp_only_rebuilt_days(client_column, day_column, since) -%}
  {%- if since is not none %}
    and ({{ client_column }}, {{ day_column }}) in (select client_id, day from rebuilt_days)
  {%- endif %}
{%- endmacro %}
