"""What the transform step hands back to the pipeline and the CLI (the interface both sides build on).

A failing data test is a *result*, never an exception: the load it tests is committed, and whether the run is
red is the caller's decision (`failed_errors` -> exit 3 after the summary; `warnings` leave the exit code
alone). Only a model that cannot be built raises, as `TransformError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sources.leadpanther.helpers.errors import LeadPantherError

Severity = Literal["error", "warn"]
TestStatus = Literal["pass", "warn", "fail"]


class TransformError(LeadPantherError):
    """A model could not be built (SQL error, destination refused the statement)."""

    hint = (
        "the load itself is committed; fix the model or the destination and re-run `leadpanther-elt transform`"
    )


@dataclass(frozen=True)
class DataTestResult:
    """One data test's outcome. `severity` error = a contract of the model (keys, relationships): the model is
    wrong when it fails. warn = an expectation about upstream data (ranges, funnel stages)."""

    model: str
    test: str
    severity: Severity
    status: TestStatus
    failures: int
    message: str = ""

    @classmethod
    def from_count(cls, model: str, test: str, severity: Severity, failures: int, message: str = "") -> DataTestResult:
        status: TestStatus = "pass" if failures == 0 else ("fail" if severity == "error" else "warn")
        return cls(model, test, severity, status, failures, message)

    def line(self) -> str:
        label = "ERROR" if self.status == "fail" else "WARN"
        text = f"  {label:<5} {self.test} on {self.model}: {self.failures:,} failing row(s)"
        return text + (f" ({self.message})" if self.message else "")


@dataclass
class TransformResult:
    dataset_name: str
    models_schema: str
    dialect: str
    models_built: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    missing_raw_tables: list[str] = field(default_factory=list)
    tests: list[DataTestResult] = field(default_factory=list)
    pii_columns: list[Any] = field(default_factory=list)
    suspected_pii: list[Any] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def failed_errors(self) -> list[DataTestResult]:
        return [t for t in self.tests if t.status == "fail"]

    @property
    def warnings(self) -> list[DataTestResult]:
        return [t for t in self.tests if t.status == "warn"]

    @property
    def pii_columns_tagged(self) -> int:
        return len({(p.table, p.column) for p in self.pii_columns})

    def summary(self) -> str:
        lines = [
            f"models: {len(self.models_built)} built in {self.models_schema} ({self.dialect}, "
            f"{self.duration_s:.1f}s)",
            *(f"  {n}: {c} rows" for n, c in self.row_counts.items()),
            f"data tests: {len(self.tests)} run, {len(self.failed_errors)} failed (error), "
            f"{len(self.warnings)} warning(s)",
            *(t.line() for t in (*self.failed_errors, *self.warnings)),
            f"pii: {self.pii_columns_tagged} columns tagged (raw + models), {len(self.suspected_pii)} suspected",
            *(f"  SUSPECTED PII: {p.table}.{p.column} ({p.category})" for p in self.suspected_pii),
        ]
        if self.missing_raw_tables:
            lines.append(f"raw tables absent (typed empty staging): {', '.join(self.missing_raw_tables)}")
        return "\n".join(lines)
