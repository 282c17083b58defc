{#- Lists what the connector's run quarantined (records whose key was unusable, and values set aside in records
    that loaded): that data is missing from the models. Severity warn: it never fails a build, it makes the run's
    summary show it (the connector's exit code is 3 for such a run anyway). The run: env LEADPANTHER_RUN_ID (set
    by the connector), else the latest run that quarantined anything. -#}
{% test lp_quarantined_in_run(model) %}
{%- set run_id = env_var('LEADPANTHER_RUN_ID', '') -%}
select run_id, table_name, client_id, record_id, field_name, reason
from {{ model }}
{%- if run_id %}
where run_id = {{ leadpanther.sql_literal(run_id) }}
{%- else %}
where quarantined_at = (select max(quarantined_at) from {{ model }})
{%- endif %}
{% endtest %}
