{#- A notice, not a bound: lists the rows where a ratio (not a proportion) is above 1. engagement_rate counts
    every engagement over viewable impressions, so low-impression posts go above 1 and that is correct data.
    Used with severity warn so a user sees how many such rows there are; it never fails a run. -#}
{% test lp_ratio_above_one(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} > 1
{% endtest %}
