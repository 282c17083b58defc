{#- Every non-NULL value of the column lies within [min_value, max_value] (either bound optional). For
    expectations about upstream data (true proportions, non-negative counts): used with severity warn. -#}
{% test lp_accepted_range(model, column_name, min_value=none, max_value=none) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and (
    {%- if min_value is not none %} {{ column_name }} < {{ min_value }}{% endif %}
    {%- if min_value is not none and max_value is not none %} or{% endif %}
    {%- if max_value is not none %} {{ column_name }} > {{ max_value }}{% endif %}
  )
{% endtest %}
