"""State and rules of the emulated LeadPanther API (no HTTP here).

- ``Collection``: one client-route (posts, lead_magnets, leads or activity). Base rows are generated lazily by
  ``generator.ClientGen``; mutations live in overlays (``updated``, ``deleted`` positions, ``inserted``), so the
  large preset never holds its records in memory and a page costs O(page * log(deleted)).
- ``Backend``: clients, grants, keys, the logical clock, write rules, ground truth and mutations.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from math import gcd
from typing import Any
from urllib.parse import urlparse

from . import exceptions as exc
from .config import EmulatorConfig, Faults
from .drift import Drift
from .generator import DAY_MS, GOLD, MASK64, ClientGen, Draw, fmt_ms, key_of, mix, parse_iso_ms, reference_ms, uuid_from

LIST_KINDS = ("posts", "lead_magnets", "leads", "activity")
RESOURCES = ("clients", *LIST_KINDS, "post_engagement", "lead_magnet_analytics")
GRANT_STATUSES = ("active", "revoked", "pending")
READ_SCOPES = ("clients:read", "posts:read", "lead_magnets:read", "leads:read", "activity:read", "analytics:read")
WRITE_SCOPES = ("posts:write", "lead_magnets:write", "media:write")
KEY_SCOPES: dict[str, tuple[str, ...]] = {
    "full": READ_SCOPES + WRITE_SCOPES,
    "read": READ_SCOPES,
    "no_leads": tuple(s for s in READ_SCOPES if s != "leads:read"),
    "no_analytics": tuple(s for s in READ_SCOPES if s != "analytics:read"),
    "clients_only": ("clients:read",),
}
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
MEDIA_TYPES = (*IMAGE_TYPES, "application/pdf")
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_PDF_BYTES = 15 * 1024 * 1024
# The field that a "bad record" fault serves with a wrong type, per resource.
BAD_FIELD: dict[str, tuple[str, Any]] = {
    "posts": ("images", "img.png"),
    "lead_magnets": ("linked_posts", "none"),
    "leads": ("company", 404),
    "activity": ("keyword_matched", "yes"),
    "post_engagement": ("impressions", "lots"),
    "lead_magnet_analytics": ("views", "many"),
}


class RecordCache:
    """A process-wide bounded cache of generated base records (pure functions of their key, never stale:
    overlays are consulted first). Cleared wholesale when full: cheap and bounded memory."""

    def __init__(self, capacity: int = 40_000) -> None:
        self.capacity = capacity
        self.data: dict[tuple[int, int], dict[str, Any]] = {}

    def get(self, key: tuple[int, int]) -> dict[str, Any] | None:
        return self.data.get(key)

    def put(self, key: tuple[int, int], rec: dict[str, Any]) -> None:
        if len(self.data) >= self.capacity:
            self.data = {}
        self.data[key] = rec


RECORD_CACHE = RecordCache()


def corrupt(record: dict[str, Any], resource: str, h: int) -> dict[str, Any]:
    """The record as a 'bad record' fault serves it: one wrong-typed or missing field."""
    out = dict(record)
    kind = h % 4
    ts_field = "captured_at" if resource in ("post_engagement", "lead_magnet_analytics") else "created_at"
    id_field = {"post_engagement": "post_id", "lead_magnet_analytics": "lead_magnet_id"}.get(resource, "id")
    if kind == 0:
        out[ts_field] = 12345
    elif kind == 1:
        out.pop(id_field, None)
    elif kind == 2:
        out.pop(ts_field, None)
    else:
        name, value = BAD_FIELD[resource]
        out[name] = value
    return out


class Collection:
    """One client-route: lazily generated base rows plus overlays."""

    def __init__(self, gen: ClientGen, kind: str) -> None:
        self.gen = gen
        self.kind = kind
        self.lay = gen.layouts[kind]
        self.n = self.lay.n
        self.pos_to_index: array | None = None  # filled by Backend.warm()
        self.make: Callable[[int, int, str], dict[str, Any]] = getattr(gen, {
            "posts": "post", "lead_magnets": "lead_magnet", "leads": "lead", "activity": "activity"}[kind])
        self.deleted: list[int] = []  # sorted base positions
        self.updated: dict[int, dict[str, Any]] = {}  # base index -> current record
        self.extra: dict[int, dict[str, Any]] = {}  # inserted index -> record
        self.ins: list[tuple[str, str, int]] = []  # (created_at, id, index) of live inserted rows, ascending
        self.ins_rank: dict[int, int] = {}  # inserted index -> base rows created before it (n: after them all)
        self.next_index = self.n
        self.views: dict[tuple[str, Any], tuple[array, list[int]]] = {}
        self.mutations = 0
        self.bad_key = mix(self.lay.ckey ^ 0xBAD)
        # generation depends on the seed, the client and every route's size (references), so all go in the tag
        self.cache_tag = key_of(self.lay.ckey, kind, *(lay.n for lay in gen.layouts.values()))

    # --- filters ----------------------------------------------------------------------------------------
    def _base_pred(self, flt: tuple[str, Any]) -> Callable[[int], bool]:
        name, value = flt
        if name == "has_email":
            return lambda i: self.gen.lead_has_email(i) == value
        return lambda i: self.gen.activity_source(i) == value

    @staticmethod
    def rec_pred(flt: tuple[str, Any]) -> Callable[[dict[str, Any]], bool]:
        name, value = flt
        if name == "has_email":
            return lambda r: (r.get("email") is not None) == value
        return lambda r: r.get("source") == value

    def _view(self, flt: tuple[str, Any]) -> tuple[array, list[int]]:
        view = self.views.get(flt)
        if view is None:
            pred = self._base_pred(flt)
            arr = array("q", (p for p in range(self.n) if pred(self.lay.index_at(p))))
            deleted = sorted({bisect_left(arr, p) for p in self.deleted
                              if (j := bisect_left(arr, p)) < len(arr) and arr[j] == p})
            view = self.views[flt] = (arr, deleted)
        return view

    # --- positions --------------------------------------------------------------------------------------
    @staticmethod
    def _unrank(q: int, deleted: list[int]) -> int:
        if not deleted:
            return q
        v = q
        while True:
            nv = q + bisect_right(deleted, v)
            if nv == v:
                return v
            v = nv

    def _base_record(self, i: int) -> dict[str, Any]:
        rec = self.updated.get(i)
        if rec is None:
            key = (self.cache_tag, i)
            rec = RECORD_CACHE.get(key)
            if rec is None:
                rec = self.make(i, self.lay.created_ms(i), self.lay.record_id(i))
                RECORD_CACHE.put(key, rec)
        return rec

    def _row_at(self, pos: int) -> tuple[int, dict[str, Any]]:
        """(index, record) of the base row at a position."""
        if self.pos_to_index is not None:  # warmed: no id or tie computation per row
            i = self.pos_to_index[pos]
            rec = self.updated.get(i) or RECORD_CACHE.get((self.cache_tag, i))
            if rec is not None:
                return i, rec
        lay = self.lay
        i = lay.index_at(pos) if self.updated else -1
        if i >= 0 and i in self.updated:
            return i, self.updated[i]
        i, created, rid = lay.row(pos)
        rec = self.updated.get(i)
        if rec is None:
            key = (self.cache_tag, i)
            rec = RECORD_CACHE.get(key)
            if rec is None:
                rec = self.make(i, created, rid)
                RECORD_CACHE.put(key, rec)
        return i, rec

    def served(self, rec: dict[str, Any], i: int, bad_rate: float, drift: Drift | None = None) -> dict[str, Any]:
        if drift is not None and drift.on:
            rec = drift.apply(rec, self.kind, mix(self.bad_key ^ (i * GOLD & MASK64)))
        if bad_rate > 0:
            h = mix(self.bad_key ^ (i * GOLD & MASK64))
            if (h >> 11) / 9007199254740992.0 < bad_rate:
                return corrupt(rec, self.kind, h >> 3)
        return rec

    def size(self, flt: tuple[str, Any] | None = None) -> int:
        if flt is None:
            return self.n - len(self.deleted) + len(self.ins)
        arr, deleted = self._view(flt)
        pred = self.rec_pred(flt)
        return len(arr) - len(deleted) + sum(1 for t in self.ins if pred(self.extra[t[2]]))

    def iter_rows(self, order: str, offset: int, limit: int | None, flt: tuple[str, Any] | None = None,
                  ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(index, record) of the rows at [offset, offset+limit) in the given order, resolved lazily."""
        if flt is None:
            arr, deleted = None, self.deleted
            nbase = self.n - len(deleted)
            ins = self.ins
        else:
            arr, deleted = self._view(flt)
            nbase = len(arr) - len(deleted)
            pred = self.rec_pred(flt)
            ins = [t for t in self.ins if pred(self.extra[t[2]])]
        total = nbase + len(ins)
        end = total if limit is None else min(total, offset + limit)
        a = c = 0
        if order == "unstable" and total > 1:
            a = (self.lay.ckey % total) | 1
            while gcd(a, total) != 1:
                a += 1
            c = ((self.lay.ckey >> 20) + self.mutations * 7919 + len(self.ins)) % total  # reshuffles on change
        # Oldest-order place of each inserted row: after the base rows, except backdated ones (unfiltered lists)
        merged = [nbase + j for j in range(len(ins))]
        if arr is None and any(self.ins_rank[t[2]] < self.n for t in ins):
            merged = [self.ins_rank[t[2]] - bisect_left(deleted, self.ins_rank[t[2]]) + j for j, t in enumerate(ins)]
        for q in range(offset, end):
            if order == "newest":
                k = total - 1 - q
            elif order == "oldest" or total <= 1:
                k = q
            else:
                k = (a * q + c) % total
            j = bisect_left(merged, k)
            if j < len(merged) and merged[j] == k:
                i = ins[j][2]
                yield i, self.extra[i]
            else:
                v = self._unrank(k - j, deleted)
                yield self._row_at(v if arr is None else arr[v])

    def page(self, order: str, offset: int, limit: int, flt: tuple[str, Any] | None, bad_rate: float,
             drift: Drift | None = None) -> tuple[list[dict[str, Any]], bool]:
        rows = [self.served(rec, i, bad_rate, drift) for i, rec in self.iter_rows(order, offset, limit + 1, flt)]
        has_more = len(rows) > limit
        return rows[:limit], has_more

    # --- lookup and overlays ----------------------------------------------------------------------------
    def find(self, record_id: str) -> tuple[int, dict[str, Any]] | None:
        i = self.lay.decode(record_id)
        if i is None:
            return None
        if i < self.n:
            pos = self.lay.position_of(i)
            j = bisect_left(self.deleted, pos)
            if j < len(self.deleted) and self.deleted[j] == pos:
                return None
            return i, self._base_record(i)
        rec = self.extra.get(i)
        return None if rec is None else (i, rec)

    def new_index(self) -> tuple[int, str]:
        i = self.next_index
        self.next_index += 1
        return i, self.lay.record_id(i)

    def add(self, i: int, rec: dict[str, Any]) -> None:
        self.mutations += 1
        self.extra[i] = rec
        self.ins_rank[i] = self._base_rank(parse_iso_ms(rec["created_at"]) or 0)
        insort(self.ins, (rec["created_at"], rec["id"], i))

    def _base_rank(self, created_ms: int) -> int:
        """How many base rows were created before this time (base positions are in created_at order)."""
        lo, hi = 0, self.n
        if self.n == 0 or self.lay.row(self.n - 1)[1] < created_ms:
            return self.n
        while lo < hi:
            mid = (lo + hi) // 2
            if self.lay.row(mid)[1] < created_ms:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def replace(self, i: int, rec: dict[str, Any]) -> None:
        if i < self.n:
            self.updated[i] = rec
        else:
            self.extra[i] = rec

    def remove(self, i: int) -> None:
        if i < self.n:
            pos = self.lay.position_of(i)
            j = bisect_left(self.deleted, pos)
            if j < len(self.deleted) and self.deleted[j] == pos:
                return
            self.deleted.insert(j, pos)
            self.updated.pop(i, None)
            for flt, (arr, deleted) in self.views.items():
                if self._base_pred(flt)(i):
                    k = bisect_left(arr, pos)
                    if k < len(arr) and arr[k] == pos:
                        insort(deleted, k)
        else:
            rec = self.extra.pop(i, None)
            if rec is not None:
                key = (rec["created_at"], rec["id"], i)
                k = bisect_left(self.ins, key)
                if k < len(self.ins) and self.ins[k] == key:
                    del self.ins[k]


class ClientState:
    def __init__(self, backend: Backend, no: int, granted: bool, grant_status: str, grant_ms: int) -> None:
        seed = backend.seed
        d = Draw(key_of(seed, "client", no))
        self.no = no
        self.user_id = uuid_from(d.next(), d.next())
        first, last = d.pick(("Alex", "Bianca", "Carlos", "Dana", "Emil", "Fiona", "Greta", "Hugo")), d.pick(
            ("Moreno", "Lindqvist", "Okoye", "Brandt", "Sato", "Reyes", "Kaur", "Murphy"))
        self.full_name = f"{first} {last}"
        self.business_name = f"{last} {d.pick(('Consulting', 'Labs', 'Studio', 'Partners', 'Digital'))}"
        self.granted = granted
        self.grant = {
            "id": uuid_from(d.next(), d.next()),
            "label": self.business_name,
            "status": grant_status,
            "permissions": list(d.pick((READ_SCOPES, READ_SCOPES + WRITE_SCOPES, READ_SCOPES[:3]))),
            "created_at": fmt_ms(grant_ms),
            "updated_at": fmt_ms(grant_ms),
        }
        counts = {"posts": backend.knobs["posts_per_client"], "lead_magnets": backend.knobs["lead_magnets_per_client"],
                  "leads": backend.knobs["leads_per_client"], "activity": backend.knobs["activity_per_client"]}
        self.gen = ClientGen(seed, no, self.user_id, counts, backend.ref_ms)
        self.colls = {kind: Collection(self.gen, kind) for kind in LIST_KINDS}

    def record(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "full_name": self.full_name, "business_name": self.business_name,
                "account_status": "active", "grant": dict(self.grant, permissions=list(self.grant["permissions"]))}


def _check_type(body: dict[str, Any], name: str, types: tuple[type, ...], nullable: bool = True) -> None:
    if name not in body:
        return
    value = body[name]
    if value is None and nullable:
        return
    if isinstance(value, bool) and bool not in types:
        raise exc.BadRequest(f"field '{name}' has the wrong type")
    if not isinstance(value, types):
        raise exc.BadRequest(f"field '{name}' has the wrong type")


def _valid_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and "." in parsed.netloc


POST_FIELDS = ("text", "status", "scheduled_at", "theme_id", "template_id", "images", "document_url",
               "document_type", "notes", "followups")
MAGNET_FIELDS = ("status", "delivery_mode", "keyword", "resource_name", "resource_link", "description",
                 "text_template", "linked_posts", "hosted_page")


def engagement_above_impressions(record: dict[str, Any], h: int) -> dict[str, Any]:
    """A low-impression post whose engagements outnumber its impressions: 3-12 viewable views, and 1-4
    reactions, comments, reposts and clicks each (a click or reaction can come from a view not counted as
    viewable, and one person can react, comment and click)."""
    impressions = 3 + h % 10
    reactions, comments, reposts, clicks = (1 + (h >> shift) % 4 for shift in (8, 12, 16, 20))
    while reactions + comments + reposts + clicks <= impressions:
        reactions += 1
        clicks += 1
    return {**record, "impressions": impressions, "reactions": reactions, "comments": comments,
            "reposts": reposts, "clicks": clicks}


class Backend:
    """The whole emulated service: thread-safe (one lock around state changes and page resolution)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.seed = config.seed
        self.knobs = config.knobs()
        self.order = config.order
        self.faults: Faults = config.faults
        self.ref_ms = reference_ms(self.seed)
        self.clock = self.ref_ms + 60_000  # logical clock: strictly after every generated timestamp
        self.lock = threading.RLock()
        self.keys = {name: f"lp_live_{key_of(self.seed, 'key', name):016x}{key_of(name, self.seed):016x}"
                     for name in KEY_SCOPES}
        self.scopes_by_token = {self.keys[name]: frozenset(scopes) for name, scopes in KEY_SCOPES.items()}
        self.clients: list[ClientState] = []
        self.by_id: dict[str, ClientState] = {}
        self.uploads = 0
        n = self.knobs["clients"]
        statuses = ["active"] * n
        if n >= 3:
            n_rev = max(1, round(n * 0.1))
            n_pend = max(1, round(n * 0.1))
            ranked = sorted(range(n), key=lambda k: key_of(self.seed, k, "grant"))
            for k in ranked[:n_rev]:
                statuses[k] = "revoked"
            for k in ranked[n_rev:n_rev + n_pend]:
                statuses[k] = "pending"
        t0 = self.ref_ms - 200 * DAY_MS
        for k in range(n):
            self._new_client(k, True, statuses[k], t0 + k * 3_600_000)
        # A client that exists in the system but has no grant for this agency: never listed, 404.
        self.ungranted_client_id = self._new_client(n, False, "none", t0).user_id
        self.next_client_no = n + 1
        if config.warm:
            self.warm()

    def warm(self) -> int:
        """Generate every base record once and keep it, so that serving a page costs no generation.

        For benchmarks: the emulator must not be what they measure. Costs memory (about 2 KB a record)
        and start-up time; the cache never goes stale (overlays are consulted first)."""
        colls = [coll for state in self.clients for coll in state.colls.values()]
        total = sum(coll.n for coll in colls)
        RECORD_CACHE.capacity = max(RECORD_CACHE.capacity, total + 50_000)
        for coll in colls:
            for i in range(coll.n):
                coll._base_record(i)
            coll.pos_to_index = array("q", (coll.lay.row(p)[0] for p in range(coll.n)))
        return total

    def _new_client(self, no: int, granted: bool, status: str, grant_ms: int) -> ClientState:
        state = ClientState(self, no, granted, status, grant_ms)
        self.by_id[state.user_id] = state
        if granted:
            self.clients.append(state)
        return state

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def advance_clock(self, ms: int) -> int:
        """Move the simulated time on (tests: 'the next day'); analytics figures grow with whole days of it."""
        if ms < 0:
            raise ValueError("the clock only moves forward")
        with self.lock:
            self.clock += int(ms)
            return self.clock

    def as_of_ms(self) -> int:
        """The simulated day analytics figures are computed for: the reference day plus whole days advanced,
        so the 1 ms ticks of writes never change a figure, and advancing by a day always does."""
        return self.ref_ms + (self.clock - self.ref_ms) // DAY_MS * DAY_MS

    # --- auth -------------------------------------------------------------------------------------------
    def authenticate(self, header: str | None) -> frozenset[str]:
        if not header or not header.startswith("Bearer "):
            raise exc.Unauthorized("missing or malformed Authorization header")
        scopes = self.scopes_by_token.get(header[7:].strip())
        if scopes is None:
            raise exc.Unauthorized("unknown API key")
        return scopes

    @staticmethod
    def require_scope(scopes: frozenset[str], scope: str) -> None:
        if scope not in scopes:
            raise exc.MissingScope(f"this API key lacks the '{scope}' scope")

    def client(self, client_id: str, need_active: bool = True) -> ClientState:
        state = self.by_id.get(client_id)
        if state is None or not state.granted:
            raise exc.ClientNotFound("no client with this id for this agency")
        if need_active and state.grant["status"] != "active":
            raise exc.GrantNotActive(f"the agency's grant for this client is {state.grant['status']}")
        return state

    # --- reads ------------------------------------------------------------------------------------------
    def _client_order(self) -> list[ClientState]:
        rows = list(self.clients)
        if self.order == "newest":
            rows.reverse()
        elif self.order == "unstable" and len(rows) > 1:
            rows.sort(key=lambda c: mix(c.no ^ self.seed))
        return rows

    def list_clients(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        with self.lock:
            rows = self._client_order()
            return [self.client_record(c) for c in rows[offset:offset + limit]], offset + limit < len(rows)

    def client_record(self, state: ClientState) -> dict[str, Any]:
        """A client as served (drift applied)."""
        return self.config.drift.apply(state.record(), "clients", key_of(self.seed, "client-drift", state.no))

    def list_records(self, client_id: str, kind: str, offset: int, limit: int,
                     flt: tuple[str, Any] | None = None) -> tuple[list[dict[str, Any]], bool]:
        with self.lock:
            coll = self.client(client_id).colls[kind]
            return coll.page(self.order, offset, limit, flt, self.faults.bad_record_rate, self.config.drift)

    def _existing(self, state: ClientState, kind: str, record_id: str) -> tuple[Collection, int, dict[str, Any]]:
        """(collection, index, record) of a record of this client, or the API's 404. Call with the lock held."""
        coll = state.colls[kind]
        found = coll.find(record_id)
        if found is None:
            raise exc.RecordNotFound(f"no {kind.rstrip('s').replace('_', ' ')} with this id")
        return coll, found[0], found[1]

    def get_record(self, client_id: str, kind: str, record_id: str) -> dict[str, Any]:
        with self.lock:
            coll, i, rec = self._existing(self.client(client_id), kind, record_id)
            return coll.served(rec, i, self.faults.bad_record_rate, self.config.drift)

    def _derived(self, state: ClientState, resource: str, i: int, rec: dict[str, Any]) -> dict[str, Any]:
        make = state.gen.engagement if resource == "post_engagement" else state.gen.analytics
        out = make(rec, i, self.as_of_ms())
        share = self.config.engagement_above_impressions
        if share > 0 and resource == "post_engagement" and out["impressions"] > 0:
            h = mix(state.colls["posts"].bad_key ^ 0xE1 ^ (i * GOLD & MASK64))
            if (h >> 11) / 9007199254740992.0 < share:
                out = engagement_above_impressions(out, h)
        if self.config.drift.on:
            out = self.config.drift.apply(out, resource, mix(state.colls["posts"].bad_key ^ 0xD1 ^ (i * GOLD & MASK64)))
        rate = self.faults.bad_record_rate
        if rate > 0:
            h = mix(state.colls["posts"].bad_key ^ 0xDE ^ (i * GOLD & MASK64) ^ len(resource))
            if (h >> 11) / 9007199254740992.0 < rate:
                return corrupt(out, resource, h >> 3)
        return out

    def get_derived(self, client_id: str, resource: str, record_id: str) -> dict[str, Any]:
        kind = "posts" if resource == "post_engagement" else "lead_magnets"
        with self.lock:
            state = self.client(client_id)
            _, i, rec = self._existing(state, kind, record_id)
            return self._derived(state, resource, i, rec)

    # --- ground truth -----------------------------------------------------------------------------------
    def truth_clients(self, client_id: str | None) -> list[ClientState]:
        if client_id is not None:
            state = self.by_id.get(client_id)
            if state is None:
                raise KeyError(client_id)
            return [state]
        return [c for c in self._client_order() if c.grant["status"] == "active"]

    def iter_truth(self, resource: str, client_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Exactly what the API serves now, in the served order, with bad-record faults applied. With
        client_id=None: every client whose grant is active (what the agency can read), in GET /clients order.
        Resolved in chunks under the lock, so a huge client does not block the server."""
        if resource not in RESOURCES:
            raise ValueError(f"unknown resource {resource!r}; choose from {RESOURCES}")
        if resource == "clients":
            with self.lock:
                rows = [self.client_record(c) for c in self._client_order()]
            yield from rows
            return
        kind = {"post_engagement": "posts", "lead_magnet_analytics": "lead_magnets"}.get(resource, resource)
        for state in self.truth_clients(client_id):
            offset = 0
            while True:
                with self.lock:
                    coll = state.colls[kind]
                    if resource == kind:
                        chunk = [coll.served(rec, i, self.faults.bad_record_rate, self.config.drift)
                                 for i, rec in coll.iter_rows(self.order, offset, 2000)]
                    else:
                        chunk = [self._derived(state, resource, i, rec)
                                 for i, rec in coll.iter_rows(self.order, offset, 2000)]
                yield from chunk
                if len(chunk) < 2000:
                    break
                offset += len(chunk)

    # --- writes through the API -------------------------------------------------------------------------
    def _validate_post(self, merged: dict[str, Any], body: dict[str, Any]) -> None:
        for name in ("text", "status", "scheduled_at", "theme_id", "template_id", "document_url",
                     "document_type", "notes"):
            _check_type(body, name, (str,), nullable=name not in ("text", "status"))
        _check_type(body, "images", (list,), nullable=False)
        _check_type(body, "followups", (list,))
        if "images" in body and not all(isinstance(x, str) for x in body["images"]):
            raise exc.BadRequest("field 'images' must be a list of URLs")
        if merged.get("status") not in ("draft", "scheduled"):
            raise exc.ValidationFailed("status must be 'draft' or 'scheduled' (publishing is done by LeadPanther)")
        if not merged.get("text"):
            raise exc.ValidationFailed("text must not be empty")
        if "scheduled_at" in body and body["scheduled_at"] is not None and parse_iso_ms(body["scheduled_at"]) is None:
            raise exc.ValidationFailed("scheduled_at must be an ISO 8601 datetime with a timezone")
        if merged["status"] == "scheduled" and ("status" in body or "scheduled_at" in body):
            import time

            when = parse_iso_ms(merged.get("scheduled_at") or "")
            if when is None or when <= int(time.time() * 1000):
                raise exc.ValidationFailed("scheduled posts require a future scheduled_at")

    @staticmethod
    def _body(body: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise exc.BadRequest("the request body must be a JSON object")
        unknown = sorted(set(body) - set(allowed))
        if unknown:
            raise exc.BadRequest(f"unknown fields: {', '.join(unknown)}")
        return body

    def create_post(self, client_id: str, body: Any) -> dict[str, Any]:
        body = self._body(body, POST_FIELDS)
        with self.lock:
            coll = self.client(client_id).colls["posts"]
            merged = {"text": None, "status": "draft", "scheduled_at": None, "theme_id": None, "template_id": None,
                      "images": [], "document_url": None, "document_type": None, "notes": None,
                      "followups": None}
            merged.update(body)
            self._validate_post(merged, dict(body, status=merged["status"]))
            i, rid = coll.new_index()
            now = fmt_ms(self.tick())
            rec = {"id": rid, **{k: merged[k] for k in ("text", "status", "scheduled_at")}, "published_at": None,
                   **{k: merged[k] for k in POST_FIELDS[3:]}, "linkedin_url": None, "created_at": now,
                   "updated_at": now}
            coll.add(i, rec)
            return rec

    def update_post(self, client_id: str, post_id: str, body: Any) -> dict[str, Any]:
        body = self._body(body, POST_FIELDS)
        with self.lock:
            coll, i, rec = self._existing(self.client(client_id), "posts", post_id)
            if rec["status"] not in ("draft", "scheduled"):
                raise exc.PostNotEditable(f"a {rec['status']} post cannot be updated through the API")
            merged = dict(rec, **body)
            self._validate_post(merged, body)
            merged["updated_at"] = fmt_ms(self.tick())
            coll.replace(i, merged)
            return merged

    def delete_post(self, client_id: str, post_id: str) -> dict[str, Any]:
        with self.lock:
            coll, i, rec = self._existing(self.client(client_id), "posts", post_id)
            if rec["status"] in ("published", "publishing"):
                raise exc.PostNotDeletable(f"{rec['status']} posts cannot be deleted through the API")
            coll.remove(i)
            return {"id": post_id, "deleted": True}

    def _validate_magnet(self, state: ClientState, merged: dict[str, Any], body: dict[str, Any]) -> None:
        for name in ("status", "delivery_mode", "keyword", "resource_name"):
            _check_type(body, name, (str,), nullable=False)
        for name in ("resource_link", "description", "text_template"):
            _check_type(body, name, (str,))
        _check_type(body, "linked_posts", (list,), nullable=False)
        _check_type(body, "hosted_page", (dict,))
        for name in ("delivery_mode", "keyword", "resource_name"):
            if not merged.get(name):
                raise exc.ValidationFailed(f"{name} is required")
        if merged["delivery_mode"] not in ("external_link", "hosted_content", "gated_external"):
            raise exc.ValidationFailed("delivery_mode must be external_link, hosted_content or gated_external")
        if merged["status"] not in ("draft", "published", "archived"):
            raise exc.ValidationFailed("status must be draft or published (archive through POST .../archive)")
        if "status" in body and body["status"] == "archived":
            raise exc.ValidationFailed("archive a lead magnet through POST .../archive")
        links = merged.get("linked_posts") or []
        if not all(isinstance(p, str) for p in links):
            raise exc.BadRequest("field 'linked_posts' must be a list of post ids")
        if "linked_posts" in body:
            posts = state.colls["posts"]
            missing = [p for p in links if posts.find(p) is None]
            if missing:
                raise exc.ValidationFailed(f"linked_posts are not posts of this client: {', '.join(missing)}")
        page = merged.get("hosted_page")
        mode, published = merged["delivery_mode"], merged["status"] == "published"
        if page is not None:
            if set(page) - {"title", "content_markdown", "status"}:
                raise exc.BadRequest("hosted_page allows title, content_markdown and status")
            for name in ("title", "content_markdown", "status"):
                if name in page and page[name] is not None and not isinstance(page[name], str):
                    raise exc.BadRequest(f"field 'hosted_page.{name}' has the wrong type")
            if page.get("status", "draft") not in ("draft", "published"):
                raise exc.ValidationFailed("hosted_page.status must be draft or published")
        if mode in ("hosted_content", "gated_external") and not page:
            raise exc.ValidationFailed(f"{mode} lead magnets require a hosted_page object")
        if mode == "hosted_content" and published and not (page.get("content_markdown") or "").strip():
            raise exc.ValidationFailed("published hosted content requires non-empty Markdown content")
        if mode != "hosted_content" and published and not _valid_url(merged.get("resource_link")):
            raise exc.ValidationFailed("published external resources require a valid resource_link URL")
        link = merged.get("resource_link")
        if mode == "gated_external" and link is not None and not _valid_url(link):
            raise exc.ValidationFailed("gated external lead magnets require a valid resource_link URL")

    def create_lead_magnet(self, client_id: str, body: Any) -> dict[str, Any]:
        body = self._body(body, MAGNET_FIELDS)
        with self.lock:
            state = self.client(client_id)
            merged = {"status": "draft", "delivery_mode": None, "keyword": None, "resource_name": None,
                      "resource_link": None, "description": None, "text_template": None, "linked_posts": [],
                      "hosted_page": None}
            merged.update(body)
            self._validate_magnet(state, merged, body)
            page = merged["hosted_page"]
            if page is not None:
                page = {"title": page.get("title") or merged["resource_name"],
                        "content_markdown": page.get("content_markdown") or "",
                        "status": page.get("status") or ("published" if merged["status"] == "published" else "draft")}
            coll = state.colls["lead_magnets"]
            i, rid = coll.new_index()
            now = fmt_ms(self.tick())
            rec = {"id": rid, **{k: merged[k] for k in MAGNET_FIELDS}, "hosted_page": page,
                   "linked_posts": list(merged["linked_posts"]), "created_at": now, "updated_at": now}
            coll.add(i, rec)
            return rec

    def update_lead_magnet(self, client_id: str, magnet_id: str, body: Any) -> dict[str, Any]:
        body = self._body(body, MAGNET_FIELDS)
        with self.lock:
            state = self.client(client_id)
            coll, i, rec = self._existing(state, "lead_magnets", magnet_id)
            merged = dict(rec, **body)
            self._validate_magnet(state, merged, body)
            merged["updated_at"] = fmt_ms(self.tick())
            coll.replace(i, merged)
            return merged

    def archive_lead_magnet(self, client_id: str, magnet_id: str) -> dict[str, Any]:
        with self.lock:
            coll, i, rec = self._existing(self.client(client_id), "lead_magnets", magnet_id)
            if rec["status"] != "archived":
                rec = dict(rec, status="archived", updated_at=fmt_ms(self.tick()))
                coll.replace(i, rec)
            return rec

    def upload_url(self, client_id: str, body: Any) -> dict[str, Any]:
        body = self._body(body, ("filename", "content_type", "file_size"))
        for name in ("filename", "content_type"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise exc.BadRequest(f"field '{name}' is required and must be a string")
        size = body.get("file_size")
        if not isinstance(size, int) or isinstance(size, bool):
            raise exc.BadRequest("field 'file_size' is required and must be an integer (bytes)")
        ctype = body["content_type"]
        if ctype not in MEDIA_TYPES:
            raise exc.ValidationFailed(f"content_type must be one of {', '.join(MEDIA_TYPES)}")
        if size <= 0:
            raise exc.ValidationFailed("file_size must be positive")
        limit = MAX_PDF_BYTES if ctype == "application/pdf" else MAX_IMAGE_BYTES
        if size > limit:
            raise exc.ValidationFailed(f"file_size exceeds {limit // (1024 * 1024)} MB for {ctype}")
        with self.lock:
            self.client(client_id)
            self.uploads += 1
            token = f"{key_of(self.seed, 'upload', self.uploads):016x}"
        name = body["filename"].rsplit("/", 1)[-1]
        bucket = "content-documents" if ctype == "application/pdf" else "content-images"
        path = f"uploads/{client_id[:8]}/{token[:12]}/{name}"
        return {"upload_url": f"https://storage.leadpanther.example/upload/{bucket}/{path}?token={token}",
                "token": token, "path": path, "public_url": f"https://storage.leadpanther.example/{bucket}/{path}",
                "bucket": bucket, "content_type": ctype}

    # --- mutations (ground-truth side: tests, churn) ----------------------------------------------------
    def _coll(self, resource: str, client_id: str) -> tuple[ClientState, Collection]:
        if resource not in LIST_KINDS:
            raise ValueError(f"resource must be one of {LIST_KINDS}")
        state = self.by_id.get(client_id)
        if state is None:
            raise KeyError(client_id)
        return state, state.colls[resource]

    def _pick(self, coll: Collection, n: int, accept: Callable[[dict[str, Any]], bool]) -> list[tuple[int, dict]]:
        coll.mutations += 1
        d = Draw(key_of(self.seed, "mut", coll.lay.ckey, coll.mutations))
        total = coll.size()
        picked: dict[int, dict[str, Any]] = {}
        for _ in range(n * 30):
            if len(picked) >= n or total == 0:
                break
            for i, rec in coll.iter_rows("oldest", d.int(total), 1):
                if i not in picked and accept(rec):
                    picked[i] = rec
        return list(picked.items())

    def insert(self, resource: str, client_id: str, n: int, created_ms: int | None = None) -> list[str]:
        """New rows, created now (they join the end of an oldest-first list) or, with `created_ms`, backdated:
        they then sit among the existing rows in created_at order (rows a late writer commits in the past)."""
        with self.lock:
            state, coll = self._coll(resource, client_id)
            now = self.tick()
            when = now if created_ms is None else int(created_ms)
            ids = []
            for _ in range(n):
                i, rid = coll.new_index()
                rec = coll.make(i, when, rid)
                if when != now and "updated_at" in rec:
                    rec["updated_at"] = fmt_ms(now)
                coll.add(i, rec)
                ids.append(rid)
            return ids

    def update(self, resource: str, client_id: str, n: int) -> list[str]:
        if resource == "activity":
            raise ValueError("activity is append-only (no updated_at): it can be inserted or deleted")
        with self.lock:
            state, coll = self._coll(resource, client_id)
            now = fmt_ms(self.tick())
            field = {"posts": "notes", "lead_magnets": "description", "leads": "headline"}[resource]
            ids = []
            for i, rec in self._pick(coll, n, lambda r: True):
                new = dict(rec, updated_at=now)
                new[field] = f"{rec.get(field) or ''} (edited {now})".strip()
                coll.replace(i, new)
                ids.append(rec["id"])
            return ids

    def delete(self, resource: str, client_id: str, n: int) -> list[str]:
        with self.lock:
            state, coll = self._coll(resource, client_id)
            if resource == "posts":
                chosen = self._pick(coll, n, lambda r: r["status"] in ("draft", "scheduled"))
            elif resource == "lead_magnets":
                chosen = self._pick(coll, n, lambda r: r["status"] != "archived")
            else:
                chosen = self._pick(coll, n, lambda r: True)
            ids = []
            now = fmt_ms(self.tick()) if chosen else ""
            for i, rec in chosen:
                if resource == "lead_magnets":
                    coll.replace(i, dict(rec, status="archived", updated_at=now))
                else:
                    coll.remove(i)
                ids.append(rec["id"])
            return ids

    def churn(self, client_id: str, resource: str, rows: int) -> None:
        self.insert(resource, client_id, rows)
        if resource != "activity":
            self.update(resource, client_id, rows)
        self.delete(resource, client_id, rows)

    def set_grant(self, client_id: str, status: str) -> None:
        if status not in GRANT_STATUSES:
            raise ValueError(f"status must be one of {GRANT_STATUSES}")
        with self.lock:
            state = self.by_id.get(client_id)
            if state is None or not state.granted:
                raise KeyError(client_id)
            if state.grant["status"] != status:
                state.grant = dict(state.grant, status=status, updated_at=fmt_ms(self.tick()))

    def add_client(self, active: bool = True) -> str:
        with self.lock:
            no = self.next_client_no
            self.next_client_no += 1
            return self._new_client(no, True, "active" if active else "pending", self.tick()).user_id

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
