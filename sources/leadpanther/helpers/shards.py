"""Which clients a shard reads: `--shard K/N` takes the clients whose `user_id` hashes into bucket K of N.

Why this hash: it must be the same in every process, Python version and machine (Python's `hash()` of a
string is salted per process), so the key is the first 8 bytes of SHA-256 of the `user_id`. The bucket comes
from Lamping & Veach's jump consistent hash rather than `key % N`: when N grows to N+1 only 1/(N+1) of the
clients move, all of them to the new shard, so the shards that stay keep the cursors of the clients they keep
(`key % N` would move most clients and make most of them start again with a full scan).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Final

from .errors import ConfigError

MAX_SHARDS: Final = 1024
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def client_key(client_id: str) -> int:
    """A stable 64-bit key for a client id."""
    return int.from_bytes(hashlib.sha256(client_id.encode("utf-8")).digest()[:8], "big")


def jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash (Lamping & Veach 2014): the bucket 0..buckets-1 of a 64-bit key."""
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        j = int((b + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return b


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based, as written on the command line) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, client_id: str) -> bool:
        return self.count == 1 or jump_hash(client_key(client_id), self.count) == self.index - 1

    @property
    def suffix(self) -> str:
        """Names of this shard's own things (pipeline, staging dataset) end with it. It leaves N out on
        purpose: when N changes, shard K keeps its state for the clients it keeps."""
        return f"shard_{self.index}"


def parse_shard(value: Any) -> Shard | None:
    """ "K/N" (1 <= K <= N) -> Shard; None or "" -> None (no sharding)."""
    if value is None or value == "":
        return None
    if isinstance(value, Shard):
        return value
    match = _SPEC.match(str(value))
    if not match:
        raise ConfigError(f"shard must look like K/N (e.g. 2/4: the second of four shards), got {value!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS or not 1 <= index <= count:
        raise ConfigError(f"shard {value!r}: need 1 <= K <= N <= {MAX_SHARDS} (shards are numbered from 1)")
    return Shard(index, count)


def prune_foreign_cursors(cursors: dict[str, Any], shard: Shard | None) -> int:
    """Drop the cursors of clients that now belong to another shard (after N changed), so a shard's state
    holds only its own clients. Only the hash decides: a client missing from one GET /clients keeps its cursor.
    If the client comes back to this shard later, it starts with a full scan: slower, never a lost row."""
    if shard is None or shard.count == 1:
        return 0
    foreign = [client_id for client_id in cursors if not shard.owns(client_id)]
    for client_id in foreign:
        del cursors[client_id]
    return len(foreign)


def owned_records(records: list[Any], shard: Shard | None) -> list[Any]:
    """The client records of GET /clients this shard reads. A record without a usable `user_id` goes to
    shard 1 only, which quarantines it once (not once per shard)."""
    if shard is None or shard.count == 1:
        return records

    def mine(record: Any) -> bool:
        client_id = record.get("user_id") if isinstance(record, dict) else None
        return shard.owns(client_id) if isinstance(client_id, str) else shard.index == 1

    return [r for r in records if mine(r)]
