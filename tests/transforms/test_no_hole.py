"""Dashboards never see a hole: while `transform` rebuilds the models on PostgreSQL, a second connection reading
the marts in a loop always finds them, with either the old or the new rows (dbt swaps each table in a
transaction)."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest
from conftest import PG_URL, load_raw, small_raw

from transforms import run_transforms

MARTS = ("dim_clients", "fct_post_engagement", "fct_lead_funnel", "agg_client_daily")


@pytest.mark.postgres
def test_reader_on_postgres_sees_old_or_new_marts_during_transform(tmp_path):
    import uuid

    import dlt
    from conftest import pg_drop

    name = f"hole_{uuid.uuid4().hex[:8]}"
    p = dlt.pipeline(name, destination=dlt.destinations.postgres(PG_URL), dataset_name=f"{name}_raw",
                     pipelines_dir=str(tmp_path / "pipes"))
    try:
        data = small_raw()
        load_raw(p, data)
        old = run_transforms(p)
        schema = old.models_schema
        more = {**data, "posts": [*data["posts"], {**data["posts"][0], "id": "p_new"}]}
        load_raw(p, more)  # the rebuild will have one more post

        stop = threading.Event()
        seen: dict[str, set[int]] = {m: set() for m in MARTS}
        errors: list[str] = []
        reads = [0]

        def reader() -> None:
            con = psycopg2.connect(PG_URL)
            con.autocommit = True
            with con.cursor() as cur:
                while not stop.is_set():
                    for mart in MARTS:
                        try:
                            cur.execute(f'select count(*) from "{schema}"."{mart}"')
                            seen[mart].add(cur.fetchone()[0])
                            reads[0] += 1
                        except psycopg2.Error as error:
                            errors.append(f"{mart}: {error}")
            con.close()

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            time.sleep(0.2)
            new = run_transforms(p)
        finally:
            stop.set()
            thread.join()
        assert errors == []
        assert reads[0] > 40
        before, after = old.row_counts["fct_post_engagement"], new.row_counts["fct_post_engagement"]
        assert seen["fct_post_engagement"] <= {before, after} and after == before + 1
        for mart in MARTS:
            assert 0 not in seen[mart] or old.row_counts[mart] == 0, mart
    finally:
        pg_drop(f"{name}_raw")
