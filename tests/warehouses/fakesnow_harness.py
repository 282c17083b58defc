"""fakesnow (Snowflake's SQL on DuckDB, patched into snowflake-connector-python) made to take what dlt and
dbt-snowflake send, by rewriting statements into equivalent Snowflake SQL that fakesnow 0.12.1 parses. Each
rewrite is a fakesnow gap, not a Snowflake one (docs/destinations.md lists them):

* several statements in one execute (dlt sends `A; B` with num_statements=0): run one by one;
* dollar-quoted strings `$$...$$` (dbt-snowflake's comments): sqlglot 30.22 mis-tokenizes those holding a
  quote; rewritten as '...' with quotes doubled;
* a schema given as `"DB"."SCHEMA"` to connect() (dlt): fakesnow expects the bare schema name;
* `PUT ... '@stage/path' OVERWRITE = TRUE, AUTO_COMPRESS = FALSE` (dlt): fakesnow wants the stage unquoted
  and options without commas; same for `FILE_FORMAT = (TYPE = 'PARQUET', ...)` and
  `MATCH_BY_COLUMN_NAME='CASE_INSENSITIVE'` in COPY INTO;
* COPY INTO of a JSONL file by column name (dlt's own `_dlt_pipeline_state` rows): fakesnow copies JSON only
  into one VARIANT column; the harness inserts the PUT file's rows by name instead (so dlt's JSON COPY path
  itself is not exercised);
* `ALTER TABLE ... ALTER col COMMENT '...'` and `COMMENT ON TABLE ... IS '...'` (dbt-snowflake's
  persist_docs): fakesnow cannot parse the first and mangles quotes in the second; both run as no-ops
  (fakesnow's nop_regexes), so comments are unverified on this stand-in.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any
from unittest import mock

import fakesnow
import snowflake.connector
import sqlglot
from fakesnow.cursor import FakeSnowflakeCursor
from sqlglot.tokens import TokenType

CREDENTIALS = "snowflake://loader:unused@fake-account/LPDB?warehouse=WH&role=LOADER"
# dbt-snowflake's persist_docs: fakesnow cannot parse the column form, and loses the doubled quote of a
# comment like 'the client''s id' when it turns the table form into DuckDB's (a DuckDB syntax error).
COMMENTS = [r"(?is)^\s*alter\s+table\s+.*\s+alter\s+.*\scomment\s+'", r"(?is)^\s*comment\s+on\s+table\s"]

_DOLLAR = re.compile(r"\$\$(.*?)\$\$", re.DOTALL)
_PUT = re.compile(r"^(\s*PUT\s+'file://([^']*)'\s+)'?(@[^'\s]*)'?(.*)$", re.IGNORECASE | re.DOTALL)
_FILE_FORMAT = re.compile(r"FILE_FORMAT\s*=\s*\(([^)]*)\)", re.IGNORECASE)
_MATCH = re.compile(r"MATCH_BY_COLUMN_NAME\s*=\s*'(\w+)'", re.IGNORECASE)
_JSON_COPY = re.compile(
    r"^\s*COPY\s+INTO\s+(\S+)\s+FROM\s+'@[^']*/([^'/]+\.jsonl(?:\.gz)?)'.*TYPE\s*=\s*'JSON'.*MATCH_BY_COLUMN_NAME",
    re.IGNORECASE | re.DOTALL,
)


def split_statements(command: str) -> list[str]:
    """`A; B` -> ["A", "B"], splitting on the tokenizer's semicolons (never inside a string)."""
    parts, start = [], 0
    for token in sqlglot.tokenize(command, read="snowflake"):
        if token.token_type == TokenType.SEMICOLON:
            parts.append(command[start : token.start])
            start = token.end + 1
    parts.append(command[start:])
    return [p.strip() for p in parts if p.strip()]


def _single_quoted(match: re.Match[str]) -> str:
    return "'" + match.group(1).replace("\\", "\\\\").replace("'", "''") + "'"


class Rewriter:
    """The statement rewrites above, around FakeSnowflakeCursor.execute."""

    def __init__(self) -> None:
        self.execute = FakeSnowflakeCursor.execute
        self.put_files: dict[str, str] = {}

    def __call__(self, cursor: Any, command: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(command, str):
            return self.execute(cursor, command, params, *args, **kwargs)
        command = _DOLLAR.sub(_single_quoted, command)
        statements = split_statements(command) if ";" in command else [command]
        for statement in statements:
            self.one(cursor, statement, params, *args, **kwargs)
        return cursor

    def one(self, cursor: Any, statement: str, params: Any, *args: Any, **kwargs: Any) -> Any:
        if put := _PUT.match(statement):
            self.put_files[put.group(2).rsplit("/", 1)[-1]] = put.group(2)
            statement = put.group(1) + put.group(3) + put.group(4).replace(",", " ")
        elif copy := _JSON_COPY.match(statement):
            table, name = copy.group(1), copy.group(2)
            cursor._duck_conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_json('{self.put_files[name]}')")
            statement, params = "SELECT 'LOADED' AS status", None
        elif statement.lstrip().upper().startswith("COPY INTO"):
            statement = _FILE_FORMAT.sub(lambda f: f"FILE_FORMAT = ({f.group(1).replace(',', ' ')})", statement)
            statement = _MATCH.sub(r"MATCH_BY_COLUMN_NAME = \1", statement)
        return self.execute(cursor, statement, params, *args, **kwargs)


@contextlib.contextmanager
def fake_snowflake() -> Iterator[None]:
    """Every snowflake.connector.connect() of this process (dlt's and dbt-snowflake's) on one in-memory fakesnow."""
    rewriter = Rewriter()
    with fakesnow.patch(nop_regexes=COMMENTS):
        fake_connect = snowflake.connector.connect

        def connect(*args: Any, schema: str | None = None, **kwargs: Any) -> Any:
            if schema:
                schema = schema.split(".")[-1].strip('"')
            return fake_connect(*args, schema=schema, **kwargs)

        def execute(cursor: Any, command: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
            return rewriter(cursor, command, params, *args, **kwargs)

        with (
            mock.patch("snowflake.connector.connect", side_effect=connect),
            mock.patch.object(FakeSnowflakeCursor, "execute", execute),
        ):
            yield
