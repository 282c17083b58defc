"""Which shard reads which client: stable across processes, balanced, and few clients move when N changes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections import Counter

import pytest

from sources.leadpanther.helpers.errors import ConfigError
from sources.leadpanther.helpers.shards import (
    Shard,
    client_key,
    jump_hash,
    owned_records,
    parse_shard,
    prune_foreign_cursors,
)

IDS = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"client-{k}")) for k in range(10_000)]


def owner(client_id: str, n: int) -> int:
    return next(k for k in range(1, n + 1) if Shard(k, n).owns(client_id))


@pytest.mark.parametrize("bad", ["0/4", "5/4", "4", "a/b", "1/0", "-1/4", "2/2000"])
def test_bad_shard_specs_are_refused_with_the_expected_form(bad: str) -> None:
    with pytest.raises(ConfigError, match="K/N|1 <= K <= N"):
        parse_shard(bad)


def test_each_client_is_in_exactly_one_shard_and_shards_are_balanced() -> None:
    for n in (1, 2, 4, 7):
        counts = Counter(owner(c, n) for c in IDS)
        assert sum(counts.values()) == len(IDS)
        assert set(counts) == set(range(1, n + 1))
        assert max(counts.values()) < 1.1 * len(IDS) / n, counts  # within 10% of an even split
        for client_id in IDS[:200]:
            assert sum(Shard(k, n).owns(client_id) for k in range(1, n + 1)) == 1


def test_the_hash_is_the_same_in_another_process() -> None:
    """Python's own hash() of a str is salted per process; the shard of a client must not be."""
    here = [owner(c, 4) for c in IDS[:50]]
    code = (
        "import sys, json; from tests.shards.test_shard_assignment import IDS, owner; "
        "print(json.dumps([owner(c, 4) for c in IDS[:50]]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""}, cwd=".")
    assert out.stdout.strip() == str(here).replace(" ", "").replace(",", ", ")


def test_growing_n_moves_only_the_clients_of_the_new_shard() -> None:
    before = {c: jump_hash(client_key(c), 4) for c in IDS}
    after = {c: jump_hash(client_key(c), 5) for c in IDS}
    moved = [c for c in IDS if before[c] != after[c]]
    assert all(after[c] == 4 for c in moved)  # every moved client goes to the new (fifth) shard
    assert 0.15 < len(moved) / len(IDS) < 0.25  # about 1/5 of them


def test_records_and_cursors_of_other_shards_are_left_out() -> None:
    shard = Shard(2, 3)
    records = [{"user_id": c} for c in IDS[:60]] + [{"user_id": None}, "not a record"]
    mine = owned_records(records, shard)
    assert [r["user_id"] for r in mine] == [c for c in IDS[:60] if shard.owns(c)]
    assert len(owned_records(records, Shard(1, 3))) == sum(Shard(1, 3).owns(c) for c in IDS[:60]) + 2
    cursors = {c: {"created_max": "x"} for c in IDS[:60]}
    dropped = prune_foreign_cursors(cursors, shard)
    assert set(cursors) == {c for c in IDS[:60] if shard.owns(c)} and dropped == 60 - len(cursors)
