select
    latest_snapshots.*,
    {{ leadpanther.utc_date('captured_at') }} as captured_date
from {{ leadpanther.staged_analytics('lead_magnet_analytics') }} as latest_snapshots
