-- The calendar MetricFlow joins metrics to (dbt's time_spine config in schema.yml): every UTC day the data can
-- fall on, 2015-01-01 up to 2036-01-01 (excluded). What dbt.date_spine makes, without the query it sends the
-- warehouse to count the days: the count is known here, so the model compiles with no connection.
{%- set first_day = modules.datetime.date(2015, 1, 1) -%}
{%- set day_count = (modules.datetime.date(2036, 1, 1) - first_day).days %}
with numbers as (
    {{ dbt.generate_series(day_count) }}
),

final as (
    select cast({{ dbt.dateadd('day', 'generated_number - 1', "cast('" ~ first_day ~ "' as date)") }} as date) as date_day
    from numbers
)

select * from final
