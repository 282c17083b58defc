"""Offline checks of the source's declared shape and config validation: no server needed."""

from __future__ import annotations

import pytest

from sources.leadpanther import leadpanther_source
from sources.leadpanther.helpers.errors import ConfigError
from sources.leadpanther.settings import LIST_RESOURCES, PII_CATALOG, PII_CATEGORY_HINT, PII_HINT, PRIMARY_KEYS

KEY = "lp_live_0123456789abcdef0123"
LOCAL = "http://127.0.0.1:9/api/v1"


def test_resources_keys_and_dispositions() -> None:
    source = leadpanther_source(api_key=KEY, base_url=LOCAL)
    assert list(source.resources) == [
        "clients",
        "posts",
        "lead_magnets",
        "leads",
        "activity",
        "post_engagement",
        "lead_magnet_analytics",
        "post_engagement_daily",
        "lead_magnet_analytics_daily",
        "lead_magnets__linked_posts",
    ]
    for name, resource in source.resources.items():
        hints = resource.compute_table_schema()
        assert hints.get("write_disposition") == "merge", name
        keys = [c for c, col in hints["columns"].items() if col.get("primary_key")]
        assert sorted(keys) == sorted(PRIMARY_KEYS[name]), name
        # only the list routes, whose scans emit each id once per run, let dlt skip its staging dedupe
        assert hints.get("x-stage-data-deduplicated", False) == (name in LIST_RESOURCES), name
    # Analytics are fed by the list scans as they read (not transformers: those would wait for dlt's turn).
    assert not source.resources["post_engagement"].is_transformer
    assert source.resources["lead_magnets__linked_posts"].is_transformer
    daily = source.resources["post_engagement_daily"].compute_table_schema()["columns"]
    assert daily["snapshot_date"]["data_type"] == "date" and daily["snapshot_date"]["nullable"] is False


def test_pii_catalog_becomes_column_hints() -> None:
    source = leadpanther_source(api_key=KEY, base_url=LOCAL)
    for table, columns in PII_CATALOG.items():
        if table not in source.resources:
            continue
        schema = source.resources[table].compute_table_schema()
        for column, category in columns.items():
            hint = schema["columns"][column]
            assert hint[PII_HINT] is True and hint[PII_CATEGORY_HINT] == category, (table, column)


def test_resource_subset_selects_only_those() -> None:
    source = leadpanther_source(api_key=KEY, base_url=LOCAL, resources=["leads", "activity"])
    assert sorted(source.selected_resources) == ["activity", "leads"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"api_key": ""}, "no LeadPanther API key configured"),
        ({"api_key": "sk_live_secretvalue123"}, "not a LeadPanther key"),
        ({"base_url": "http://api.example.com/api/v1"}, "plain http to a non-loopback host"),
        ({"base_url": "ftp://127.0.0.1/api"}, "not an http(s) URL"),
        ({"page_size": 0}, "page_size must be an integer from 1 to 100"),
        ({"page_size": 101}, "page_size must be an integer from 1 to 100"),
        ({"max_concurrency": 0}, "max_concurrency must be an integer"),
        ({"mode": "sometimes"}, "mode must be one of"),
        ({"resources": ["posts", "comments"]}, "unknown resource(s) comments"),
        ({"pii_policy": {"email": "hash"}}, "no salt is set"),
        ({"pii_policy": {"email": "encrypt"}}, "is not one of keep, hash, redact"),
    ],
)
def test_bad_config_is_refused_with_an_actionable_message(kwargs: dict, fragment: str) -> None:
    options = {"api_key": KEY, "base_url": LOCAL, **kwargs}
    with pytest.raises(ConfigError) as info:
        leadpanther_source(**options)
    assert fragment in str(info.value)
    assert "secretvalue" not in str(info.value)  # a mistyped key is still a key: never echoed


def test_a_policy_dict_with_an_unknown_category_is_refused_not_dropped(make_duckdb_pipeline) -> None:
    """dlt skips a dict whose keys its configspec does not know; run_sync refuses it before dlt sees it."""
    from pipelines.leadpanther_pipeline import run_sync

    for policy in ({"telephone": "hash"}, {"email": "hash", "emails": "hash"}):
        result = run_sync(make_duckdb_pipeline(), api_key=KEY, base_url=LOCAL, pii_policy=policy, pii_salt="x" * 20)
        assert isinstance(result.error, ConfigError) and "unknown PII category" in str(result.error)
        assert result.exit_code == 2


def test_https_and_loopback_http_are_accepted() -> None:
    for url in ("https://app.leadpanther.ai/api/v1", "http://localhost:8765/api/v1", "http://[::1]:8765/api/v1"):
        leadpanther_source(api_key=KEY, base_url=url)


def test_env_var_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__LEADPANTHER__API_KEY", KEY)
    monkeypatch.setenv("SOURCES__LEADPANTHER__BASE_URL", "http://api.example.com/api/v1")
    with pytest.raises(ConfigError, match="plain http"):
        leadpanther_source()
    monkeypatch.setenv("SOURCES__LEADPANTHER__BASE_URL", LOCAL)
    monkeypatch.setenv("SOURCES__LEADPANTHER__PAGE_SIZE", "500")
    with pytest.raises(ConfigError, match="page_size"):
        leadpanther_source()
