{#- Where SQL dialects really differ, one macro dispatched per adapter (dbt's adapter.dispatch). The rest of
    the models is SQL every supported warehouse reads alike. -#}

{#- A dlt data type (the `data_type` of sources.yml, generated from settings.py) as this warehouse's type.
    json is read as text so the same SQL works everywhere. -#}
{% macro lp_type(dlt_type) -%}
  {{ return(adapter.dispatch('lp_type', 'leadpanther')(dlt_type)) }}
{%- endmacro %}

{% macro default__lp_type(dlt_type) -%}
  {%- set types = {
      'text': 'varchar', 'json': 'varchar', 'bigint': 'bigint', 'bool': 'boolean', 'double': 'double precision',
      'timestamp': 'timestamp with time zone', 'date': 'date'} -%}
  {{ return(types[dlt_type]) }}
{%- endmacro %}

{% macro snowflake__lp_type(dlt_type) -%}
  {%- set types = {
      'text': 'varchar', 'json': 'varchar', 'bigint': 'bigint', 'bool': 'boolean', 'double': 'double',
      'timestamp': 'timestamp_tz', 'date': 'date'} -%}
  {{ return(types[dlt_type]) }}
{%- endmacro %}

{% macro bigquery__lp_type(dlt_type) -%}
  {%- set types = {
      'text': 'string', 'json': 'string', 'bigint': 'int64', 'bool': 'bool', 'double': 'float64',
      'timestamp': 'timestamp', 'date': 'date'} -%}
  {{ return(types[dlt_type]) }}
{%- endmacro %}

{#- The UTC calendar day of a timestamp with time zone, whatever the session's time zone
    (transforms/DECISIONLOG.md, "What a day is"). -#}
{% macro utc_date(column) -%}
  {{ return(adapter.dispatch('utc_date', 'leadpanther')(column)) }}
{%- endmacro %}

{% macro default__utc_date(column) -%}
  cast(({{ column }}) at time zone 'UTC' as date)
{%- endmacro %}

{% macro snowflake__utc_date(column) -%}
  cast(convert_timezone('UTC', {{ column }}) as date)
{%- endmacro %}

{% macro bigquery__utc_date(column) -%}
  date({{ column }}, 'UTC')
{%- endmacro %}

{#- numerator / denominator as a double, NULL when the denominator is 0 or NULL (rates and ratios). -#}
{% macro safe_ratio(numerator, denominator) -%}
  case when ({{ denominator }}) > 0
    then cast({{ numerator }} as {{ leadpanther.lp_type('double') }}) / ({{ denominator }}) end
{%- endmacro %}

{#- Whole days from one date to a later one (an integer). -#}
{% macro days_between(start_date, end_date) -%}
  {{ return(adapter.dispatch('days_between', 'leadpanther')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
  cast(({{ end_date }} - {{ start_date }}) as bigint)
{%- endmacro %}

{% macro snowflake__days_between(start_date, end_date) -%}
  datediff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{% macro bigquery__days_between(start_date, end_date) -%}
  date_diff({{ end_date }}, {{ start_date }}, day)
{%- endmacro %}

{#- A raw column's name quoted as the warehouse stores it. dlt folds names to upper case on Snowflake
    (CLIENT_ID), where a quoted "client_id" is another, absent column; elsewhere dlt's names are as written. -#}
{% macro lp_quote(name) -%}
  {{ return(adapter.dispatch('lp_quote', 'leadpanther')(name)) }}
{%- endmacro %}

{% macro default__lp_quote(name) -%}
  {{ return(adapter.quote(name)) }}
{%- endmacro %}

{% macro snowflake__lp_quote(name) -%}
  {{ return(adapter.quote(name | upper)) }}
{%- endmacro %}

{#- A set union without duplicates. BigQuery has no bare UNION: it wants UNION DISTINCT, which the others
    read alike but Snowflake does not take. -#}
{% macro lp_union() -%}
  {{ return(adapter.dispatch('lp_union', 'leadpanther')()) }}
{%- endmacro %}

{% macro default__lp_union() -%}
  union
{%- endmacro %}

{% macro bigquery__lp_union() -%}
  union distinct
{%- endmacro %}
