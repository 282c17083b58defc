{#- Gains between daily snapshots, written once for every figure of every snapshot history.

    snapshot_gain: what `figure` gained since the record's previous snapshot (partitioned by `record`, ordered by
    snapshot_date). On the record's first snapshot it is the figure itself when `from_zero` holds (the record
    was created after its client's history began, so it started at 0 under observation), else NULL: what an
    older record gained before the history began is unknown, and counting its lifetime total as one day's gain
    would put a spike on the first day of every history. -#}
{% macro snapshot_gain(figure, record, from_zero) -%}
case
    when lag(snapshot_date) over (partition by {{ record }} order by snapshot_date) is not null
        then {{ figure }} - lag({{ figure }}) over (partition by {{ record }} order by snapshot_date)
    when {{ from_zero }} then {{ figure }}
end
{%- endmacro %}

{#- Where a record's gains on a snapshot are counted from: its previous snapshot, its creation (first snapshot of
    a record created after the history began), or nowhere (NULL gains). -#}
{% macro snapshot_gain_basis(record, from_zero) -%}
case
    when lag(snapshot_date) over (partition by {{ record }} order by snapshot_date) is not null
        then 'previous_snapshot'
    when {{ from_zero }} then 'creation'
end
{%- endmacro %}

{#- Each client's first snapshot day in a snapshot history: when its history began (what "the history saw a
    record from its start" is measured against). -#}
{% macro first_snapshot_dates(snapshots) -%}
select client_id, min(snapshot_date) as first_snapshot_date
from {{ snapshots }}
group by client_id
{%- endmacro %}

{#- What a record had gained before its tracking began (its first snapshot): the figure there minus the gain
    stated there, i.e. 0 when the gains count from creation and the whole figure when they are unknown (NULL).
    So lifetime = gained before tracking + the sum of every gain since: nothing is in two places or in none. -#}
{% macro gained_before_tracking(figure, gained) -%}
({{ figure }} - coalesce({{ gained }}, 0))
{%- endmacro %}

{#- One engagement count from the engagement route's figures (a relation alias or none): reactions + comments
    (as the engagement route counts them) + reposts + clicks, a missing figure counting 0. -#}
{% macro engagements(alias=none) -%}
{%- set p = (alias ~ '.') if alias else '' -%}
coalesce({{ p }}reactions, 0) + coalesce({{ p }}engagement_comments, 0) + coalesce({{ p }}reposts, 0)
        + coalesce({{ p }}clicks, 0)
{%- endmacro %}
