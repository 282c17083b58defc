"""Config checks (helpers/config.py, helpers/pii.py, configuration.py) that run before any request: each bad
value is refused with a message naming the setting and never echoing a secret. Through the CLI (exit 2 and
the message a user sees): tests/cli/test_cli.py and tests/cli/test_configuration.py."""

from __future__ import annotations

import pytest

from sources.leadpanther.configuration import PiiPolicyConfiguration, check_explicit_pii_policy
from sources.leadpanther.helpers.config import (
    check_api_key,
    check_base_url,
    check_client_ids,
    check_int,
    check_mode,
    check_page_size,
    check_positive,
    check_resources,
    is_loopback,
)
from sources.leadpanther.helpers.errors import ConfigError
from sources.leadpanther.helpers.pii import PiiPolicy
from sources.leadpanther.settings import ALL_RESOURCES, PII_CATEGORIES

SALT = "unit-salt-0123456789abcdef"


def refused(check, *args) -> str:
    with pytest.raises(ConfigError) as err:
        check(*args)
    return str(err.value)


def test_api_key_accepted_trimmed() -> None:
    assert check_api_key("  lp_live_abcdefghijkl \n") == "lp_live_abcdefghijkl"
    assert check_api_key("lp_test_abcdefghijkl") == "lp_test_abcdefghijkl"


@pytest.mark.parametrize("key", [None, "", "   ", 42, "sk_live_abcdefghijkl", "lp_short", "lp_live_abc defghijkl"])
def test_bad_api_keys_are_refused_without_echoing_them(key) -> None:
    message = refused(check_api_key, key)
    assert "secrets.toml" in message and "SOURCES__LEADPANTHER__API_KEY" in message
    if isinstance(key, str) and key.strip():
        assert key.strip() not in message and f"{len(key.strip())} characters" in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.leadpanther.example/v1/", "https://api.leadpanther.example/v1"),
        ("http://127.0.0.1:8080/api/v1", "http://127.0.0.1:8080/api/v1"),
        ("http://localhost/api", "http://localhost/api"),
        ("http://[::1]:9/x", "http://[::1]:9/x"),
    ],
)
def test_base_url_accepted(url: str, expected: str) -> None:
    assert check_base_url(url) == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "empty"),
        (None, "empty"),
        ("ftp://x.example", "not an http(s) URL"),
        ("https://", "not an http(s) URL"),
        ("https://user:pw@api.example", "must not contain credentials"),
        ("http://api.leadpanther.example", "unencrypted"),
        ("http://10.0.0.1/api", "unencrypted"),
    ],
)
def test_base_url_refused(url, says: str) -> None:
    message = refused(check_base_url, url)
    assert says in message and "pw@" not in message


def test_loopback_hosts() -> None:
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("::1")
    assert not is_loopback("example.com") and not is_loopback("10.0.0.1")


@pytest.mark.parametrize("value", [0, 101, -1, True, "50", 5.0, None])
def test_page_size_is_a_whole_number_from_1_to_100(value) -> None:
    assert "page_size must be an integer from 1 to 100" in refused(check_page_size, value)


@pytest.mark.parametrize("value", [1, 50, 100])
def test_page_size_accepted(value: int) -> None:
    assert check_page_size(value) == value


def test_int_and_positive_checks_name_the_setting() -> None:
    assert check_int("max_concurrency", 64, 1, 64) == 64
    assert "max_concurrency must be an integer from 1 to 64, got 65" in refused(check_int, "max_concurrency", 65, 1, 64)
    assert check_positive("timeout_s", 0) == 0.0 and check_positive("timeout_s", 2) == 2.0
    for bad in (-0.5, True, "3", None):
        assert "timeout_s must be a non-negative number" in refused(check_positive, "timeout_s", bad)


def test_mode() -> None:
    assert [check_mode(m) for m in ("auto", "quick", "reconcile")] == ["auto", "quick", "reconcile"]
    assert refused(check_mode, "sometimes") == "mode must be one of auto, quick, reconcile, got 'sometimes'"


@pytest.mark.parametrize("empty", [None, "", []])
def test_no_resources_means_all(empty) -> None:
    assert check_resources(empty) == ALL_RESOURCES


def test_resources_keep_the_contract_order_and_refuse_unknown_names() -> None:
    assert check_resources("leads, posts") == ("posts", "leads")
    assert check_resources(["activity", "clients"]) == ("clients", "activity")
    message = refused(check_resources, ["posts", "comments"])
    assert "unknown resource(s) comments" in message and "posts" in message


def test_client_ids_are_deduplicated_in_order() -> None:
    assert check_client_ids(None) is None and check_client_ids("") is None and check_client_ids([]) is None
    assert check_client_ids("b, a,b,, c") == ("b", "a", "c")
    assert "client_ids must be a list" in refused(check_client_ids, ["a", 3])


def test_pii_policy_checks() -> None:
    policy = PiiPolicy.from_config({"email": "hash", "name": "redact"}, SALT)
    assert policy.effective() == {c: {"email": "hash", "name": "redact"}.get(c, "keep") for c in PII_CATEGORIES}
    assert policy.action("suspected_email") == "hash"  # an unknown column that looks like an email
    assert "unknown PII category 'mail'" in refused(PiiPolicy.from_config, {"mail": "hash"}, SALT)
    assert "is not one of keep, hash, redact" in refused(PiiPolicy.from_config, {"email": "encrypt"}, SALT)
    assert "no salt is set" in refused(PiiPolicy.from_config, {"email": "hash"}, None)
    assert "too short" in refused(PiiPolicy.from_config, {}, "short")
    assert PiiPolicy.from_config({"email": "redact"}, None).apply("email", ["a@x.io", None]) == [None, None]


def test_pii_policy_as_one_json_value_or_a_dict_in_code() -> None:
    config = PiiPolicyConfiguration()
    config.parse_native_representation('{"email": "hash", "name": "redact"}')
    assert config.policies()["email"] == "hash" and config.policies()["name"] == "redact"
    assert "not a JSON object" in refused(PiiPolicyConfiguration().parse_native_representation, "{email: hash")
    assert "must be a JSON object" in refused(PiiPolicyConfiguration().parse_native_representation, "[1]")
    assert "unknown PII category emails" in refused(check_explicit_pii_policy, {"emails": "hash"})
    check_explicit_pii_policy({"email": "hash"})
    check_explicit_pii_policy(PiiPolicyConfiguration())  # the class itself refuses unknown keys
