{#- Each combination of `columns` occurs once in the model (a model's key; NULL parts compare equal, as
    in GROUP BY). Fails with one row per duplicated key. dbt_utils' unique_combination_of_columns, written
    here because dbt's hub cannot be reached from where this project is built. -#}
{% test lp_unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
