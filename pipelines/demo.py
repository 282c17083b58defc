"""`leadpanther-elt demo`: start the built-in emulator, load it into a local DuckDB file, write the report.

The only module of the run that imports the emulator, and only when the demo is asked for: a real run never
loads it.
"""

from __future__ import annotations

from pathlib import Path

from .console import finish, progress, say, self_command
from .demo_history import run_demo_history
from .exit_codes import ExitCode
from .factory import DEMO_PIPELINE_NAME, make_pipeline
from .paths import DEMO_DUCKDB_FILE, data_dir
from .run import run_sync


def run_demo(
    *,
    dataset: str | None,
    duckdb_path: str | None,
    seed: int,
    preset: str,
    history_weeks: int,
    verbose: bool = False,
) -> ExitCode:
    from leadpanther_emulator import EmulatorConfig, run_emulator

    path = Path(duckdb_path) if duckdb_path else data_dir() / DEMO_DUCKDB_FILE
    with run_emulator(EmulatorConfig(seed=seed, preset=preset)) as emu:
        say(f"LeadPanther emulator on {emu.base_url} (seed {seed}, preset {preset})")
        pipeline = make_pipeline("duckdb", dataset, duckdb_path=path, pipeline_name=DEMO_PIPELINE_NAME)
        result = run_demo_history(
            emu,
            pipeline,
            run_sync,
            weeks=history_weeks,
            progress=progress,
            api_key=emu.keys["full"],
            base_url=emu.base_url,
            max_retries=3,
        )
    code = finish(result, verbose)
    if code not in (ExitCode.OK, ExitCode.PARTIAL):
        return code
    try:
        from transforms.report import write_report
    except ImportError:
        pass
    else:
        report_path = path.with_suffix(".html")
        write_report(pipeline, report_path)
        say(f"\nReport: {report_path}")
    dataset = pipeline.dataset_name
    models = result.transform.models_schema if result.transform is not None else f"{dataset}_models"
    say(f"\nLoaded into the DuckDB file {path}: raw tables in schema '{dataset}', models in '{models}'. Try:")
    for query in (
        f"SELECT resource, status, count(*) AS client_routes, sum(rows) AS rows FROM {dataset}.sync_runs "
        "GROUP BY ALL ORDER BY resource",
        f"SELECT client_id, count(*) AS leads, count(email) AS with_email FROM {dataset}.leads GROUP BY client_id",
        f"SELECT * FROM {models}.fct_post_engagement ORDER BY leads_attributed DESC LIMIT 5",
    ):
        say(f'  {self_command()} query --duckdb-path {path} "{query}"')
    return code
