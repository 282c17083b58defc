{#- A raw table of the `leadpanther` source as a subquery projecting every column of its contract
    (sources.yml, generated from sources/leadpanther/settings.py), each cast to its type. A column the
    warehouse does not have yet (an optional field no record carried) becomes a typed NULL; a table that
    does not exist yet (an optional route before its first load) becomes a typed empty result. So staging
    models read every ASSUMED API field in one place and never fail on a young dataset. -#}
{% macro staged_source(table_name) -%}
  {%- set relation = source('leadpanther', table_name) -%}
  {%- if not execute -%}
    (select 1 as placeholder from {{ relation }})
  {%- else -%}
    {%- set contract = leadpanther.source_contract(table_name) -%}
    {%- set present = leadpanther.existing_columns(relation) -%}
    (select
    {%- for name, data_type in contract %}
      {% if present is none or name in present -%}
        cast({{ leadpanther.lp_quote(name) }} as {{ leadpanther.lp_type(data_type) }})
      {%- else -%}
        cast(null as {{ leadpanther.lp_type(data_type) }})
      {%- endif %} as {{ leadpanther.lp_quote(name) }}{{ ',' if not loop.last }}
    {%- endfor %}
    {% if present is not none and present | length == 0 -%}
    where 1 = 0
    {%- else -%}
    from {{ relation }}
    {%- endif -%}
    )
  {%- endif -%}
{%- endmacro %}

{#- [(column, dlt data type)] of a raw table, in sources.yml order. -#}
{% macro source_contract(table_name) -%}
  {%- set found = [] -%}
  {%- for node in graph.sources.values()
        if node.package_name == 'leadpanther' and node.source_name == 'leadpanther' and node.name == table_name -%}
    {%- for column in node.columns.values() -%}
      {%- do found.append((column.name, column.data_type)) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- if not found -%}
    {%- do exceptions.raise_compiler_error('no columns for source leadpanther.' ~ table_name ~ ' in sources.yml') -%}
  {%- endif -%}
  {{ return(found) }}
{%- endmacro %}

{#- The lower-cased column names of a relation: none = assume every contract column exists (the var
    leadpanther_assume_sources_complete), [] = the relation does not exist. -#}
{% macro existing_columns(relation) -%}
  {%- if var('leadpanther_assume_sources_complete', false) -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                        identifier=relation.identifier) -%}
  {%- if found is none -%}
    {{ return([]) }}
  {%- endif -%}
  {{ return(adapter.get_columns_in_relation(found) | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}
