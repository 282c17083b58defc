{#- Built from the graph's metadata: every column tagged `meta: {pii: <category>}` in sources.yml (raw tables
    that exist in the warehouse) and in the models' schema.yml, plus the raw columns the source suspects. -#}
{%- set rows = [] -%}
{%- if execute -%}
  {%- for relation, column, category, description, suspected in leadpanther.raw_pii_columns() -%}
    {%- do rows.append([relation.schema, relation.identifier, column, category, 'raw', suspected, description]) -%}
  {%- endfor -%}
  {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.package_name == 'leadpanther' -%}
    {%- for column in node.columns.values() if column.meta.get('pii') -%}
      {%- do rows.append([node.schema, node.alias, column.name, column.meta['pii'], node.fqn[1], false,
                          column.description]) -%}
    {%- endfor -%}
  {%- endfor -%}
{%- endif -%}
{%- set text = leadpanther.lp_type('text') -%}
{%- if rows %}
{%- for r in rows %}
select
    cast({{ leadpanther.sql_literal(r[0]) }} as {{ text }}) as table_schema,
    cast({{ leadpanther.sql_literal(r[1]) }} as {{ text }}) as table_name,
    cast({{ leadpanther.sql_literal(r[2]) }} as {{ text }}) as column_name,
    cast({{ leadpanther.sql_literal(r[3]) }} as {{ text }}) as category,
    cast({{ leadpanther.sql_literal(r[4]) }} as {{ text }}) as layer,
    {{ 'true' if r[5] else 'false' }} as suspected,
    cast({{ leadpanther.sql_literal(r[6]) }} as {{ text }}) as description
{{ 'union all' if not loop.last }}
{%- endfor %}
{%- else %}
select
    cast(null as {{ text }}) as table_schema,
    cast(null as {{ text }}) as table_name,
    cast(null as {{ text }}) as column_name,
    cast(null as {{ text }}) as category,
    cast(null as {{ text }}) as layer,
    false as suspected,
    cast(null as {{ text }}) as description
where 1 = 0
{%- endif %}
