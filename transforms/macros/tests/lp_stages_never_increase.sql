{#- A funnel stage that is a subset of the one before it is never larger than it, row by row: fails with
    each row where `lower` > `upper`. Only for true subset pairs (transforms/DECISIONLOG.md, funnel). -#}
{% test lp_stages_never_increase(model, upper, lower) %}
select {{ upper }}, {{ lower }}
from {{ model }}
where {{ lower }} > {{ upper }}
{% endtest %}
