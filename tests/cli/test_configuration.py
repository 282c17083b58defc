"""Configuration the way dlt users write it, through the CLI (in this process: `cli_here` reads `.dlt/` and
the env as a new process would): the PII policy in each form (TOML section, nested env vars, JSON env value)
really keeps personal data out of the destination and the pipeline folder; unknown keys are refused; the
DuckDB file follows --duckdb-path > dlt's credentials > the default; dlt's own CLI reads our pipelines."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from leadpanther_emulator import EmulatorConfig, run_emulator
from tests.cli.runner import BIN, api_env, assert_no_traceback, cli_here, output
from tests.conftest import PG_URL, drop_pg_schemas

SALT = "canary-salt-0123456789abcdef"
POLICY = {"email": "hash", "name": "hash", "profile_url": "redact", "platform_id": "hash"}
EFFECTIVE = (
    "PII policy: email hash, name hash, profile_url redact, platform_id hash, free_text keep, authored_text keep"
)


@pytest.fixture(scope="module")
def emu():
    with run_emulator(EmulatorConfig(seed=53, preset="tiny")) as emulator:
        yield emulator


def canaries(emu) -> set[str]:
    """Raw personal values the policy above must keep out: emails, names, profile URLs, platform ids."""
    values: set[str] = set()
    for client_id in emu.client_ids("active"):
        for lead in emu.truth("leads", client_id):
            values |= {lead.get("email"), lead.get("full_name"), lead.get("linkedin_profile_url")}
        for item in emu.truth("activity", client_id):
            values |= {item.get("author_name"), item.get("author_platform_id")}
    values |= {c.get("full_name") for c in emu.truth("clients")}
    return {v for v in values if isinstance(v, str) and len(v) >= 6}


def _file_texts(folder: Path) -> Iterator[tuple[Path, str]]:
    """Every file of the pipeline folder as text: parquet read back column by column (its pages are
    compressed, so bytes would hide values), gzip'd jsonl/insert files decompressed."""
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            yield path, json.dumps(pq.read_table(path).to_pylist(), default=str)
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        yield path, data.decode("utf-8", errors="replace")


def _destination_texts(destination: str, db: Path, dataset: str) -> list[str]:
    sql_tables = (
        "select table_schema, table_name, column_name from information_schema.columns "
        f"where table_schema in ('{dataset}', '{dataset}_models') and data_type in ('VARCHAR', 'text', 'json', "
        "'character varying', 'jsonb')"
    )
    texts: list[str] = []
    if destination == "duckdb":
        with duckdb.connect(str(db), read_only=True) as con:
            for schema, table, column in con.execute(sql_tables).fetchall():
                texts += [str(v) for (v,) in con.execute(f'select "{column}" from "{schema}"."{table}"').fetchall()]
    else:
        import psycopg2

        with psycopg2.connect(PG_URL) as con, con.cursor() as cur:
            cur.execute(sql_tables)
            for schema, table, column in cur.fetchall():
                cur.execute(f'select "{column}"::text from "{schema}"."{table}"')
                texts += [str(v) for (v,) in cur.fetchall()]
    return texts


def _form_env(form: str, project: Path) -> dict[str, str]:
    (project / ".dlt").mkdir(parents=True, exist_ok=True)
    if form == "toml":
        lines = ["[sources.leadpanther.pii_policy]", *(f'{k} = "{v}"' for k, v in POLICY.items())]
        (project / ".dlt" / "config.toml").write_text("\n".join(lines) + "\n")
        (project / ".dlt" / "secrets.toml").write_text(f'[sources.leadpanther]\npii_salt = "{SALT}"\n')
        return {}
    if form == "nested_env":
        env = {f"SOURCES__LEADPANTHER__PII_POLICY__{k.upper()}": v for k, v in POLICY.items()}
    else:
        env = {"SOURCES__LEADPANTHER__PII_POLICY": json.dumps(POLICY)}
    return {**env, "SOURCES__LEADPANTHER__PII_SALT": SALT}


FORMS = ("toml", "nested_env", "json_env")


# Each form on a destination, each destination in a form: the policy a form resolves to does not depend on
# the destination (every form's effective policy: test_check_prints_the_effective_pii_policy), and what a
# destination keeps does not depend on the form the policy came in. The models are built in one case only: they
# read nothing but the raw tables, which every case checks (hash mode's models on both destinations:
# tests/transforms/test_e2e.py::test_hash_mode_leaves_no_raw_email_or_name).
@pytest.mark.parametrize(
    ("form", "destination", "models"),
    [
        ("toml", "duckdb", True),
        pytest.param("nested_env", "postgres", False, marks=pytest.mark.postgres),
        ("json_env", "duckdb", False),
    ],
)
def test_pii_policy_in_each_form_keeps_canaries_out_of_destination_and_pipeline_folder(
    emu, tmp_path: Path, form: str, destination: str, models: bool
) -> None:
    project = tmp_path / "project"
    env = {**api_env(emu), **_form_env(form, project), "DLT_PROJECT_DIR": str(project)}
    db = project / "data" / "pii.duckdb"
    dataset = f"lp_pii_{uuid.uuid4().hex[:8]}" if destination == "postgres" else "leadpanther"
    args = ["run", "--dataset", dataset, *([] if models else ["--no-transform"])]
    if destination == "postgres":
        env["DESTINATION__POSTGRES__CREDENTIALS"] = PG_URL
        args += ["--destination", "postgres"]
    else:
        args += ["--duckdb-path", str(db)]
    try:
        out = cli_here(*args, env=env)
        assert out.returncode == 0, output(out)
        assert EFFECTIVE in out.stdout
        secrets = canaries(emu)
        assert len(secrets) > 50
        stored = _destination_texts(destination, db, dataset)
        assert len(stored) > 500, "nothing read back from the destination"
        joined = "\n".join(stored)
        leaked = sorted(s for s in secrets if s in joined)
        assert not leaked, f"{len(leaked)} raw values in the destination, e.g. {leaked[:3]}"
        folder = project / "data" / "pipelines"
        files = list(_file_texts(folder))
        jobs = [p for p, _ in files if "completed_jobs" in p.parts]  # parquet (DuckDB), insert_values (PostgreSQL)
        assert len(jobs) >= 5, "no load package files kept to check"
        for path, text in files:
            found = [s for s in secrets if s in text]
            assert not found, f"{path.relative_to(folder)} holds {len(found)} raw values, e.g. {found[:2]}"
    finally:
        if destination == "postgres":
            drop_pg_schemas(dataset)


@pytest.mark.parametrize("form", FORMS)
def test_check_prints_the_effective_pii_policy(emu, tmp_path: Path, form: str) -> None:
    env = {**api_env(emu), **_form_env(form, tmp_path), "DLT_PROJECT_DIR": str(tmp_path)}
    out = cli_here("check", env=env)
    assert out.returncode == 3, output(out)  # the tiny preset has a revoked and a pending grant
    assert EFFECTIVE in out.stdout.splitlines()[1]


@pytest.mark.parametrize(
    ("where", "setting", "named"),
    [
        ("env", {"SOURCES__LEADPANTHER__PII_POLICY__EMAILS": "hash"}, "SOURCES__LEADPANTHER__PII_POLICY__EMAILS"),
        ("env", {"SOURCES__LEADPANTHER__PAGESIZE": "50"}, "SOURCES__LEADPANTHER__PAGESIZE"),
        ("toml", "[sources.leadpanther]\npage_sise = 50\n", "sources.leadpanther.page_sise"),
        ("toml", '[sources.leadpanther.pii_policy]\nmail = "hash"\n', "sources.leadpanther.pii_policy.mail"),
    ],
)
@pytest.mark.parametrize("command", ["run", "check"])
def test_unknown_keys_are_refused_with_exit_2_naming_them(
    emu, tmp_path: Path, where: str, setting, named: str, command: str
) -> None:
    env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path)}
    if where == "env":
        env.update(setting)
    else:
        (tmp_path / ".dlt").mkdir()
        (tmp_path / ".dlt" / "config.toml").write_text(setting)
    args = ["run", "--duckdb-path", str(tmp_path / "u.duckdb")] if command == "run" else ["check"]
    out = cli_here(*args, env=env)
    assert out.returncode == 2, output(out)
    assert "unknown setting(s) for the leadpanther source" in out.stdout and named in out.stdout
    assert_no_traceback(out)


def _posts_in(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select count(*) from leadpanther.posts").fetchall()[0][0]


def test_duckdb_file_precedence(emu, tmp_path: Path) -> None:
    expected = sum(len(emu.truth("posts", c)) for c in emu.client_ids("active"))
    base = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path)}

    default = cli_here("run", "--no-transform", env=base)  # nothing set: data/leadpanther_elt.duckdb
    assert default.returncode == 0, output(default)
    assert _posts_in(tmp_path / "data" / "leadpanther_elt.duckdb") == expected

    by_env = tmp_path / "elsewhere" / "from_env.duckdb"
    out = cli_here("run", "--no-transform", env={**base, "DESTINATION__DUCKDB__CREDENTIALS": str(by_env)})
    assert out.returncode == 0, output(out)
    assert _posts_in(by_env) == expected

    by_toml = tmp_path / "from_toml.duckdb"
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(f'[destination.duckdb]\ncredentials = "{by_toml}"\n')
    out = cli_here("run", "--no-transform", env=base)
    assert out.returncode == 0, output(out)
    assert _posts_in(by_toml) == expected

    by_flag = tmp_path / "from_flag.duckdb"
    out = cli_here(
        "run",
        "--no-transform",
        "--duckdb-path",
        str(by_flag),
        env={**base, "DESTINATION__DUCKDB__CREDENTIALS": str(by_env)},
    )
    assert out.returncode == 0, output(out)
    assert _posts_in(by_flag) == expected
    query = cli_here(
        "query",
        "select count(*) as n from leadpanther.posts",
        env={**base, "DESTINATION__DUCKDB__CREDENTIALS": str(by_env)},
    )
    assert query.returncode == 0 and str(expected) in query.stdout, output(query)


def test_dlt_cli_reads_our_pipelines_with_pipelines_dir(emu, tmp_path: Path) -> None:
    import subprocess

    env = {**api_env(emu), "DLT_PROJECT_DIR": str(tmp_path)}
    assert cli_here("run", "--no-transform", env=env).returncode == 0
    dlt_bin = str(BIN.with_name("dlt"))
    for command in (["--list-pipelines"], ["leadpanther", "info"], ["leadpanther", "trace"]):
        out = subprocess.run(
            [dlt_bin, "pipeline", "--pipelines-dir", "data/pipelines", *command],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={"PATH": "/usr/bin:/bin", "RUNTIME__DLTHUB_TELEMETRY": "false", "HOME": str(tmp_path)},
        )
        assert out.returncode == 0, output(out)
        assert "leadpanther" in out.stdout, out.stdout
