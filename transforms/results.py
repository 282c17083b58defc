"""What the transform step hands back to the pipeline and the CLI (the interface both sides build on).

A failing data test is a *result*, never an exception: the load it tests is committed, and whether the run is
red is the caller's decision (`failed_errors` -> exit 3 after the summary; `warnings` leave the exit code
alone). Only a model that cannot be built raises, as `TransformError`. No I/O here: transforms/runner.py fills
these from dbt's run_results.json and manifest.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from transforms.errors import TransformError

__all__ = ["DataTestResult", "PiiColumn", "Severity", "TestStatus", "TransformError", "TransformResult"]

Severity = Literal["error", "warn"]
TestStatus = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class DataTestResult:
    """One dbt data test's outcome. `severity` error = a contract of the model (keys, relationships): the model
    is wrong when it fails. warn = an expectation about upstream data (ranges, funnel stages)."""

    model: str
    test: str
    severity: Severity
    status: TestStatus
    failures: int
    message: str = ""

    def line(self) -> str:
        label = "ERROR" if self.status == "fail" else "WARN"
        return f"  {label:<5} {self.test} on {self.model}: {self.failures:,} failing row(s)"


@dataclass(frozen=True)
class PiiColumn:
    table_schema: str
    table_name: str
    column_name: str
    category: str
    layer: str  # raw | staging | intermediate | marts
    suspected: bool = False


@dataclass
class TransformResult:
    dataset_name: str
    models_schema: str
    dialect: str
    run_id: str | None = None
    models_built: list[str] = field(default_factory=list)
    # models dbt did not build this run (an upstream model failed, or an error-severity test on an upstream
    # model failed): they keep their previous version
    models_skipped: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    missing_raw_tables: list[str] = field(default_factory=list)
    tests: list[DataTestResult] = field(default_factory=list)
    pii_columns: list[PiiColumn] = field(default_factory=list)
    # seconds dbt spent building each model (its own execution_time): where a slow build's time goes
    model_seconds: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def failed_errors(self) -> list[DataTestResult]:
        return [t for t in self.tests if t.severity == "error" and t.status == "fail"]

    @property
    def warnings(self) -> list[DataTestResult]:
        return [t for t in self.tests if t.status == "warn"]

    @property
    def suspected_pii(self) -> list[PiiColumn]:
        return [p for p in self.pii_columns if p.suspected]

    def summary(self) -> str:
        lines = [
            f"models: {len(self.models_built)} built in {self.models_schema} ({self.dialect}, {self.duration_s:.1f}s)",
            *(f"  {name}: {n:,} rows" for name, n in self.row_counts.items()),
        ]
        if self.models_skipped:
            lines.append(f"  NOT REBUILT (previous version kept): {', '.join(self.models_skipped)}")
        lines += [
            f"data tests: {len(self.tests)} run, {len(self.failed_errors)} failed (error), "
            f"{len(self.warnings)} warning(s)",
            *(t.line() for t in (*self.failed_errors, *self.warnings)),
            f"pii: {len(self.pii_columns)} columns tagged (raw + models), {len(self.suspected_pii)} suspected",
            *(f"  SUSPECTED PII: {p.table_name}.{p.column_name} ({p.category})" for p in self.suspected_pii),
        ]
        if self.missing_raw_tables:
            lines.append(f"raw tables absent (typed empty staging): {', '.join(self.missing_raw_tables)}")
        return "\n".join(lines)
