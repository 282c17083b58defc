{#- Personal data in dbt's metadata: every personal-data column carries `meta: {pii: <category>}` (sources.yml
    and the models' schema.yml). persist_docs writes the models' column descriptions as comments; raw
    tables belong to dlt, so this on-run-end hook comments their tagged columns the same way. -#}

{#- [(relation, column, category, description, suspected)] for the raw columns tagged in sources.yml that
    exist in the warehouse, plus those the source suspects (env LEADPANTHER_SUSPECTED_PII, JSON list of
    {table, column, category}; set by transforms/runner.py from the dlt schema's hints). -#}
{% macro raw_pii_columns() -%}
  {%- set found = [] -%}
  {%- set by_table = {} -%}
  {%- for node in graph.sources.values() if node.package_name == 'leadpanther' and node.source_name == 'leadpanther' -%}
    {%- set relation = source('leadpanther', node.name) -%}
    {%- set tagged = [] -%}
    {%- for column in node.columns.values() if column.meta.get('pii') -%}
      {%- do tagged.append(column) -%}
    {%- endfor -%}
    {%- do by_table.update({node.name: relation}) -%}
    {%- if tagged -%}
      {%- set present = leadpanther.existing_columns(relation) -%}
      {%- for column in tagged if present is none or column.name in present -%}
        {%- do found.append((relation, column.name, column.meta['pii'], column.description, false)) -%}
      {%- endfor -%}
    {%- endif -%}
  {%- endfor -%}
  {%- for item in fromjson(env_var('LEADPANTHER_SUSPECTED_PII', '[]')) if item['table'] in by_table -%}
    {%- set category = item['category'] -%}
    {%- if category == 'unclassified' -%}
      {%- set description = 'PII (unclassified personal data): a field the API served that the contract does not '
          ~ 'know, on a route that carries people; the strictest action of the PII policy was applied. Classify it: '
          ~ '[sources.leadpanther.field_classification] "' ~ item['table'] ~ '.' ~ item['column']
          ~ '" = "<category>" or "not_personal".' -%}
    {%- elif category.startswith('suspected_') -%}
      {%- set description = 'PII (suspected personal data): ' ~ category ~ '. A field the API served that '
          ~ 'the contract does not know, whose values look like personal data.' -%}
    {%- else -%}
      {%- set description = 'PII (personal data): ' ~ category ~ '. A field the contract does not know, classified '
          ~ 'in field_classification.' -%}
    {%- endif -%}
    {%- set suspected = category == 'unclassified' or category.startswith('suspected_') -%}
    {%- do found.append((by_table[item['table']], item['column'], category, description, suspected)) -%}
  {%- endfor -%}
  {{ return(found) }}
{%- endmacro %}

{% macro comment_source_pii_columns() -%}
  {%- if execute and target.type in ('duckdb', 'postgres') -%}
    {%- set per_relation = {} -%}
    {%- for relation, column, category, description, suspected in leadpanther.raw_pii_columns() -%}
      {%- set key = relation | string -%}
      {%- if key not in per_relation -%}{%- do per_relation.update({key: (relation, {})}) -%}{%- endif -%}
      {%- do per_relation[key][1].update({column: {'description': description, 'quote': true}}) -%}
    {%- endfor -%}
    {%- for relation, columns in per_relation.values() -%}
      {%- set sql = alter_column_comment(relation.incorporate(type='table'), columns) -%}
      {%- if sql | trim -%}{%- do run_query(sql) -%}{%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}
