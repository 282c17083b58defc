"""The LeadPanther models: a dbt project (this folder: dbt_project.yml, models/, macros/) run with dbt's
`dbtRunner` on the pipeline's own destination, plus the HTML report. See transforms/README.md.

    from transforms import run_transforms
    result = run_transforms(pipeline)     # dbt build; never raises for a failed data test
    print(result.summary())               # models, tests (failures and warnings listed), PII columns
"""

from __future__ import annotations

from transforms.errors import TransformError
from transforms.results import DataTestResult, PiiColumn, TransformResult
from transforms.runner import models_schema_name, run_dbt, run_transforms

__all__ = [
    "DataTestResult",
    "PiiColumn",
    "TransformError",
    "TransformResult",
    "models_schema_name",
    "run_dbt",
    "run_transforms",
]
