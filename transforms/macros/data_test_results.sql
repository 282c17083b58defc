{#- on-run-end: every data test result of this invocation appended to <models schema>.data_test_results, from
    dbt's own results (the same ones dbt writes to run_results.json). run_id: env LEADPANTHER_RUN_ID (the
    connector's sync run) or dbt's invocation_id. The load is never undone by a test: this only records. -#}
{% macro store_data_test_results(results) -%}
  {%- if execute -%}
    {%- set rows = [] -%}
    {%- for result in results if result.node.resource_type == 'test' -%}
      {%- set node = result.node -%}
      {%- set attached = node.attached_node or (node.depends_on.nodes | first) or '' -%}
      {%- set test_name = node.test_metadata.name if node.test_metadata else node.name -%}
      {%- do rows.append([
          attached.split('.')[-1], test_name, node.column_name, node.name, node.config.severity | lower,
          result.status | string, result.failures, (result.message or '') | string]) -%}
    {%- endfor -%}
    {%- if rows -%}
      {%- set relation = api.Relation.create(database=target.database, schema=target.schema,
                                             identifier='data_test_results', type='table') -%}
      {%- set run_id = env_var('LEADPANTHER_RUN_ID', invocation_id) -%}
      {%- do adapter.create_schema(relation) -%}
      {%- do run_query(leadpanther.create_data_test_results(relation)) -%}
      {%- set values = [] -%}
      {%- for r in rows -%}
        {%- do values.append('(' ~ leadpanther.sql_literal(run_id) ~ ', ' ~ leadpanther.sql_literal(invocation_id)
            ~ ', ' ~ leadpanther.sql_literal(run_started_at.isoformat()) ~ ', ' ~ leadpanther.sql_literal(r[0])
            ~ ', ' ~ leadpanther.sql_literal(r[1]) ~ ', ' ~ leadpanther.sql_literal(r[2])
            ~ ', ' ~ leadpanther.sql_literal(r[3]) ~ ', ' ~ leadpanther.sql_literal(r[4])
            ~ ', ' ~ leadpanther.sql_literal(r[5]) ~ ', ' ~ (r[6] if r[6] is not none else 'null')
            ~ ', ' ~ leadpanther.sql_literal(r[7]) ~ ')') -%}
      {%- endfor -%}
      {%- do run_query('insert into ' ~ relation ~ ' (run_id, invocation_id, tested_at, model, test, column_name, '
          ~ 'test_unique_name, severity, status, failures, message) values ' ~ values | join(', ')) -%}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{% macro create_data_test_results(relation) -%}
  create table if not exists {{ relation }} (
    run_id {{ leadpanther.lp_type('text') }},
    invocation_id {{ leadpanther.lp_type('text') }},
    tested_at {{ leadpanther.lp_type('timestamp') }},
    model {{ leadpanther.lp_type('text') }},
    test {{ leadpanther.lp_type('text') }},
    column_name {{ leadpanther.lp_type('text') }},
    test_unique_name {{ leadpanther.lp_type('text') }},
    severity {{ leadpanther.lp_type('text') }},
    status {{ leadpanther.lp_type('text') }},
    failures {{ leadpanther.lp_type('bigint') }},
    message {{ leadpanther.lp_type('text') }}
  )
{%- endmacro %}

{#- A string literal; the quote escaped as the warehouse wants it ('' in most, \' on BigQuery: dbt's
    per-adapter escape_single_quotes). -#}
{% macro sql_literal(value) -%}
  {%- if value is none -%}null{%- else -%}'{{ dbt.escape_single_quotes(value | string) }}'{%- endif -%}
{%- endmacro %}
