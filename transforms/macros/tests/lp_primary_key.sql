{#- The model's key: each combination of `columns` occurs once, and none of them is NULL except those listed
    in `nullable` (a NULL there still takes part in uniqueness, as in GROUP BY). Fails with one row per broken
    key (duplicated, or with a NULL part). One test per key (not a not_null per column plus a unique): on
    DuckDB staging models are views, and every test re-runs the view. -#}
{% test lp_primary_key(model, columns, nullable=[]) %}
with keys as (
    select {{ columns | join(', ') }}, count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
)
select *
from keys
where n_rows > 1
{%- for column in columns if column not in nullable %}
    or {{ column }} is null
{%- endfor %}
{% endtest %}
