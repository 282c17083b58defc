-- The calendar MetricFlow joins metrics to (dbt's time_spine config in schema.yml): every UTC day the data can
-- fall on, portable through dbt's own date_spine macro.
with days as (
    {{ dbt.date_spine('day', "cast('2015-01-01' as date)", "cast('2036-01-01' as date)") }}
),

final as (
    select cast(date_day as date) as date_day
    from days
)

select * from final
