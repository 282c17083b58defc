"""Deterministic, lazy record generation: record i of a client-route is a pure function of
(seed, client, resource, i). Nothing here holds a dataset in memory; models.py keeps overlays on top.

Base rows of a client-route occupy *positions* 0..n-1 in ascending (created_at, id) order. Positions are
grouped in blocks of 4; inside a block some neighbours share one created_at (ties), and tied rows are ordered
by id. So position <-> index is a permutation inside tie runs only, computable in O(1).
"""

from __future__ import annotations

import calendar
import hashlib
import time
from typing import Any

MASK64 = (1 << 64) - 1
M32 = (1 << 32) - 1
GOLD = 0x9E3779B97F4A7C15
SCR_MUL = 0x2545F491
SCR_INV = pow(SCR_MUL, -1, 1 << 32)
DAY_MS = 86_400_000
SPAN_MS = 180 * DAY_MS
TIE_THRESHOLD = 40  # of 256: chance that a row shares its created_at with its predecessor in a block


def mix(x: int) -> int:
    """splitmix64 finalizer: a fast, well-spread 64-bit hash of an int."""
    x = (x + GOLD) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def key_of(*parts: object) -> int:
    """A stable 64-bit key for a tuple of parts (slow; used for setup, not per record)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def frac(h: int) -> float:
    return (h >> 11) / 9007199254740992.0


def reference_ms(seed: int) -> int:
    """The dataset's fixed 'now' (derived from the seed, never the wall clock)."""
    base = calendar.timegm((2026, 11, 1, 0, 0, 0, 0, 0, 0)) * 1000
    return base + (seed % 28) * DAY_MS


_DAY_CACHE: dict[int, str] = {}


def fmt_ms(ms: int) -> str:
    """ISO 8601 UTC with milliseconds and Z."""
    day, rest = divmod(ms, DAY_MS)
    prefix = _DAY_CACHE.get(day)
    if prefix is None:
        prefix = _DAY_CACHE[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
    sec, milli = divmod(rest, 1000)
    hour, sec = divmod(sec, 3600)
    minute, sec = divmod(sec, 60)
    return f"{prefix}{hour:02d}:{minute:02d}:{sec:02d}.{milli:03d}Z"


def parse_iso_ms(value: str) -> int | None:
    """Parse an ISO 8601 datetime with an offset or Z into epoch ms; None when invalid or naive."""
    from datetime import datetime

    if not isinstance(value, str) or len(value) < 16:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return int(dt.timestamp() * 1000)


GROWTH_HALF_LIFE_DAYS = 7.0


def growth(age_ms: int) -> float:
    """Share of its lifetime figures a post (or lead magnet) has reached at an age: half after a week, 3/4
    after two, and so on; 0 before it exists. Monotonic, so figures never shrink as the clock advances."""
    if age_ms <= 0:
        return 0.0
    return 1.0 - 0.5 ** (age_ms / DAY_MS / GROWTH_HALF_LIFE_DAYS)


def uuid_from(h1: int, h2: int) -> str:
    x = f"{h1:016x}{h2:016x}"
    return f"{x[0:8]}-{x[8:12]}-4{x[12:15]}-{'89ab'[h2 & 3]}{x[15:18]}-{x[18:30]}"


class Draw:
    """A stream of hashed ints from one start value (small draws consume 16 bits of a 64-bit pool)."""

    __slots__ = ("h", "k", "pool", "bits")

    def __init__(self, h: int) -> None:
        self.h = h
        self.k = 0
        self.pool = 0
        self.bits = 0

    def next(self) -> int:
        self.k += 1
        return mix(self.h + self.k * GOLD)

    def int(self, n: int) -> int:
        if n <= 0:
            return 0
        if n > 4096:
            return self.next() % n
        if self.bits < 16:
            self.pool = self.next()
            self.bits = 64
        v = self.pool & 0xFFFF
        self.pool >>= 16
        self.bits -= 16
        return v % n

    def frac(self) -> float:
        return frac(self.next())

    def pick(self, seq: Any) -> Any:
        return seq[self.int(len(seq))]


class Layout:
    """Ids, created_at and position<->index mapping of one client-route's base rows."""

    __slots__ = ("ckey", "tkey", "k32", "n", "t0", "block_ms", "slot_ms")

    def __init__(self, ckey: int, n: int, t0: int) -> None:
        self.ckey = ckey
        self.tkey = mix(ckey ^ 0x5EED)
        self.k32 = ckey & M32
        self.n = n
        self.t0 = t0
        nblocks = max(1, (n + 3) // 4)
        self.block_ms = max(8, (SPAN_MS - DAY_MS) // nblocks)
        self.slot_ms = self.block_ms // 4

    def record_id(self, i: int) -> str:
        a = ((i * SCR_MUL) & M32) ^ self.k32
        h1 = mix(self.ckey ^ (i * GOLD & MASK64))
        h2 = ((h1 ^ (h1 >> 29)) * 0xBF58476D1CE4E5B9) & MASK64
        x = f"{h1:016x}{h2:016x}"
        return f"{a:08x}-{x[0:4]}-4{x[4:7]}-{'89ab'[h2 & 3]}{x[7:10]}-{x[10:22]}"

    def decode(self, record_id: str) -> int | None:
        """Index encoded in an id of this client-route, or None."""
        if not isinstance(record_id, str) or len(record_id) != 36:
            return None
        try:
            a = int(record_id[:8], 16)
        except ValueError:
            return None
        i = ((a ^ self.k32) * SCR_INV) & M32
        if i >= 1 << 30 or self.record_id(i) != record_id:
            return None
        return i

    def _runs(self, b: int) -> list[int]:
        h = mix(self.tkey ^ (b * GOLD & MASK64))
        r1 = 1 if ((h >> 8) & 0xFF) >= TIE_THRESHOLD else 0
        r2 = r1 + (1 if ((h >> 16) & 0xFF) >= TIE_THRESHOLD else 0)
        return [0, r1, r2, r2 + (1 if ((h >> 24) & 0xFF) >= TIE_THRESHOLD else 0)]

    def _run_members(self, pos_or_index: int, runs: list[int] | None = None) -> tuple[int, list[int]]:
        b, j = divmod(pos_or_index, 4)
        if runs is None:
            runs = self._runs(b)
        r = runs[j]
        start = runs.index(r)
        members = [4 * b + k for k in range(4) if runs[k] == r and 4 * b + k < self.n]
        return 4 * b + start, members

    def index_at(self, pos: int) -> int:
        first, members = self._run_members(pos)
        if len(members) == 1:
            return members[0]
        members.sort(key=self.record_id)
        return members[pos - first]

    def row(self, pos: int) -> tuple[int, int, str]:
        """(index, created_ms, id) of the base row at a position, computing the block's tie runs once."""
        b, j = divmod(pos, 4)
        runs = self._runs(b)
        r = runs[j]
        if (j == 0 or runs[j - 1] != r) and (j == 3 or runs[j + 1] != r):
            i = pos  # not tied with a neighbour: position == index
            rid = self.record_id(i)
        else:
            first, members = self._run_members(pos, runs)
            if len(members) == 1:
                i = members[0]
                rid = self.record_id(i)
            else:
                ids = sorted((self.record_id(m), m) for m in members)
                rid, i = ids[pos - first]
        jitter = mix(self.tkey ^ ((b * 8 + r) * GOLD & MASK64)) % self.slot_ms
        return i, self.t0 + b * self.block_ms + r * self.slot_ms + jitter, rid

    def position_of(self, i: int) -> int:
        first, members = self._run_members(i)
        if len(members) == 1:
            return i
        members.sort(key=self.record_id)
        return first + members.index(i)

    def created_ms(self, i: int) -> int:
        b, j = divmod(i, 4)
        r = self._runs(b)[j]
        jitter = mix(self.tkey ^ ((b * 8 + r) * GOLD & MASK64)) % self.slot_ms
        return self.t0 + b * self.block_ms + r * self.slot_ms + jitter


FIRST = ("Ava", "Ben", "Chloe", "Dmitri", "Elena", "Farah", "Gabriel", "Hana", "Ivan", "Julia", "Kofi", "Lena",
         "Marco", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tomas", "Uma", "Victor", "Wen", "Yusuf",
         "Zoe", "Liam", "Maya", "Noah", "Ines", "Jonas")
LAST = ("Andersen", "Baker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
        "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Quist", "Rossi", "Schmidt", "Tanaka",
        "Ueda", "Varga", "Walsh", "Xu", "Young", "Zimmer")
COMPANIES = ("Northwind", "Acme Analytics", "Bluefin Labs", "Cobalt Health", "Driftwood Media", "Evergreen AI",
             "Foxglove Legal", "Granite Partners", "Helix Robotics", "Ironbark Capital", "Juniper Retail",
             "Kestrel Logistics", "Lumen Studio", "Meridian Consulting")
TITLES = ("Head of Growth", "Founder", "VP Sales", "Marketing Lead", "CTO", "Operations Manager",
          "Demand Gen Specialist", "Account Executive", "CEO", "Product Marketing Manager", "RevOps Lead")
KEYWORDS = ("GUIDE", "PLAYBOOK", "TEMPLATE", "CHECKLIST", "SCRIPT", "AUDIT", "SWIPE", "FRAMEWORK", "REPORT",
            "TOOLKIT", "WEBINAR", "CALENDAR", "PROMPTS", "BLUEPRINT", "DECK", "WORKBOOK")
TOPICS = ("cold outreach", "LinkedIn hooks", "pricing pages", "founder-led sales", "content calendars",
          "hiring SDRs", "B2B newsletters", "case studies", "webinar funnels", "ICP research")
COMMENTS = ("Great post, thanks for sharing!", "This is gold.", "Interesting take on {t}.",
            "Could you share more about {t}?", "Agree 100%.", "We tried this last quarter, it worked.",
            "Saving this for later.", "What tools do you use for {t}?")
MESSAGES = ("Hi! Saw your post about {t}, could you send the resource?", "Thanks for connecting.",
            "Would love to chat about {t}.", "Quick question about your offer.",
            "Is the {t} resource still available?")


TEMPLATE = "Here it is: {{resource_link}}"
COMMENT_TEXTS = tuple(tuple(c.format(t=t) for c in COMMENTS) for t in TOPICS)
MESSAGE_TEXTS = tuple(tuple(c.format(t=t) for c in MESSAGES) for t in TOPICS)
POST_BODIES = 512
LINKEDIN_URN = 7_000_000_000_000_000_000


class ClientGen:
    """Record generators for one client: knows the layouts of its routes (for references)."""

    def __init__(self, seed: int, client_no: int, client_id: str, counts: dict[str, int], ref_ms: int) -> None:
        self.seed = seed
        self.client_no = client_no
        self.client_id = client_id
        self.ref_ms = ref_ms
        t0 = ref_ms - SPAN_MS
        self.layouts = {
            name: Layout(key_of(seed, client_no, name), counts[name], t0)
            for name in ("posts", "lead_magnets", "leads", "activity")
        }
        self.people = max(8, (counts["leads"] + counts["activity"]) // 6)
        self.pkey = key_of(seed, client_no, "people")
        self.short = client_id[:8]
        self._people: dict[int, tuple[str, str, str, str, str, str]] = {}
        self._links: dict[int, list[str]] = {}
        self._published: dict[int, str | None] = {}
        self._keywords: dict[int, str] = {}
        self._bodies: dict[int, dict[str, Any]] = {}
        self._magnet_ids: dict[int, str] = {}
        self.theme_ids = [uuid_from(mix(self.pkey ^ 0x7E ^ k), self.pkey) for k in range(5)]
        self.template_ids = [uuid_from(mix(self.pkey ^ 0x7F ^ k), self.pkey) for k in range(7)]

    # --- cheap predicates (used for filters and references, no full record) ---------------------------
    def post_status(self, i: int) -> str:
        v = mix(self.layouts["posts"].ckey ^ 0xA11 ^ (i * GOLD & MASK64)) % 100
        if v < 68:
            return "published"
        if v < 83:
            return "draft"
        if v < 95:
            return "scheduled"
        return "publishing"

    def lead_has_email(self, i: int) -> bool:
        return mix(self.layouts["leads"].ckey ^ 0xE3A1 ^ (i * GOLD & MASK64)) % 100 >= 30

    def activity_source(self, i: int) -> str:
        v = mix(self.layouts["activity"].ckey ^ 0x50C ^ (i * GOLD & MASK64)) % 100
        return "comments" if v < 62 else "messages"

    def published_post(self, h: int) -> str | None:
        lay = self.layouts["posts"]
        if lay.n == 0:
            return None
        j = h % lay.n
        if j in self._published:
            return self._published[j]
        start = j
        for _ in range(24):
            if self.post_status(j) == "published":
                break
            j = (j + 1) % lay.n
        if len(self._published) > 50_000:
            self._published.clear()
        rid = self._published[start] = lay.record_id(j)
        return rid

    def keyword(self, m: int) -> str:
        got = self._keywords.get(m)
        if got is None:
            got = self._keywords[m] = self._keyword(m)
        return got

    def magnet_id(self, m: int) -> str:
        got = self._magnet_ids.get(m)
        if got is None:
            got = self._magnet_ids[m] = self.layouts["lead_magnets"].record_id(m)
        return got

    def _keyword(self, m: int) -> str:
        word = KEYWORDS[mix(self.layouts["lead_magnets"].ckey ^ 0x4B ^ m) % len(KEYWORDS)]
        return word if m < len(KEYWORDS) else f"{word}{m // len(KEYWORDS) + 1}"

    def linked_posts(self, m: int) -> list[str]:
        """Ids of the posts a lead magnet links (a fresh list each call)."""
        links = self._links.get(m)
        if links is None:
            links = self._links[m] = self._linked_posts(m)
        return list(links)

    def _linked_posts(self, m: int) -> list[str]:
        d = Draw(self.layouts["lead_magnets"].ckey ^ 0x11F ^ (m * GOLD & MASK64))
        out: list[str] = []
        for _ in range(1 + d.int(3)):
            pid = self.published_post(d.next())
            if pid and pid not in out:
                out.append(pid)
        return out

    def person(self, k: int) -> tuple[str, str, str, str, str, str, str]:
        """(full_name, email, platform_id, profile_url, headline, company, first) of person k of this client."""
        got = self._people.get(k)
        if got is None:
            if len(self._people) > 20_000:
                self._people.clear()
            got = self._people[k] = self._person(k)
        return got

    def _person(self, k: int) -> tuple[str, str, str, str, str, str, str]:
        d = Draw(self.pkey ^ (k * GOLD & MASK64))
        first, last = d.pick(FIRST), d.pick(LAST)
        tag = f"{d.next() & 0xFFFFFF:06x}"
        platform = f"ACoAA{d.next() & 0xFFFFFFFFFFFF:012X}"
        url = f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}-{tag}"
        title, company = d.pick(TITLES), d.pick(COMPANIES)
        email = f"{first.lower()}.{last.lower()}@{company.lower().replace(' ', '')}.example"
        return f"{first} {last}", email, platform, url, f"{title} at {company}", company, first

    # --- full records ---------------------------------------------------------------------------------
    def _updated(self, d: Draw, created: int) -> int:
        if d.int(3) == 0:
            return created
        room = min(20 * DAY_MS, self.ref_ms - 1 - created)
        return created + d.int(room) if room > 1 else created

    def _updated_h(self, h: int, created: int) -> int:
        if h % 3 == 0:
            return created
        room = min(20 * DAY_MS, self.ref_ms - 1 - created)
        return created + (h >> 8) % room if room > 1 else created

    def post_body(self, k: int) -> dict[str, Any]:
        """One of a per-client pool of post bodies (copy, texts, media, follow-ups); timestamps are per post."""
        body = self._bodies.get(k)
        if body is None:
            d = Draw(self.layouts["posts"].ckey ^ 0xB0D7 ^ (k * GOLD & MASK64))
            topic = d.pick(TOPICS)
            n_img = d.int(4) if d.int(3) else 0
            media = f"https://cdn.leadpanther.example/{self.short}/m{k:03d}"
            has_doc = n_img == 0 and d.int(4) == 0
            n_follow = d.int(3)
            hook = d.pick(("Three lessons on", "Why most teams get", "How we doubled results with",
                           "Stop ignoring"))
            body = self._bodies[k] = {
                "text": f"{hook} {topic}. Comment {self.keyword(d.int(8))} for the resource.",
                "theme_id": None if d.int(2) else self.theme_ids[d.int(5)],
                "template_id": None if d.int(3) else self.template_ids[d.int(7)],
                "images": [f"{media}/img{n}.png" for n in range(n_img)],
                "document_url": f"{media}/doc.pdf" if has_doc else None,
                "document_type": "pdf" if has_doc else ("image" if n_img else None),
                "notes": None if d.int(2) else f"Prepared by the agency ({topic}).",
                "followups": None if n_follow == 0 else [
                    {"delay_hours": 24 * (n + 1), "text": f"Follow-up {n + 1} on {topic}."} for n in range(n_follow)],
            }
        return body

    def post(self, i: int, created: int, rid: str) -> dict[str, Any]:
        h = mix(self.layouts["posts"].ckey ^ 0x9057 ^ (i * GOLD & MASK64))
        status = self.post_status(i)
        body = self.post_body(h % POST_BODIES)
        updated = self._updated_h(h >> 10, created)
        scheduled_at = published_at = linkedin_url = None
        h2 = mix(h)
        if status == "scheduled":
            scheduled_at = fmt_ms(max(self.ref_ms, created) + DAY_MS * (30 + h2 % 90) + (h2 >> 8) % DAY_MS)
        elif status in ("published", "publishing"):
            pub = created if created >= self.ref_ms else min(self.ref_ms - 1, created + (h2 >> 8) % (3 * DAY_MS))
            pub_s = fmt_ms(pub)
            if h2 & 1:
                scheduled_at = pub_s
            if status == "published":
                published_at = pub_s
                linkedin_url = f"https://www.linkedin.com/feed/update/urn:li:activity:{LINKEDIN_URN + h2 % 10**18}/"
            updated = max(updated, pub)
        images, followups = body["images"], body["followups"]
        return {
            "id": rid,
            "text": body["text"],
            "status": status,
            "scheduled_at": scheduled_at,
            "published_at": published_at,
            "theme_id": body["theme_id"],
            "template_id": body["template_id"],
            "images": list(images),
            "document_url": body["document_url"],
            "document_type": body["document_type"],
            "notes": body["notes"],
            "followups": None if followups is None else [dict(f) for f in followups],
            "linkedin_url": linkedin_url,
            "created_at": fmt_ms(created),
            "updated_at": fmt_ms(updated),
        }

    def lead_magnet(self, i: int, created: int, rid: str) -> dict[str, Any]:
        d = Draw(self.layouts["lead_magnets"].ckey ^ 0x1EAD ^ (i * GOLD & MASK64))
        v = d.int(100)
        status = "published" if v < 60 else ("draft" if v < 85 else "archived")
        v = d.int(100)
        mode = "external_link" if v < 50 else ("hosted_content" if v < 80 else "gated_external")
        keyword = self.keyword(i)
        topic = d.pick(TOPICS)
        name = f"The {topic} {keyword.lower().rstrip('0123456789')}"
        link = f"https://resources.example.com/{self.short}/{keyword.lower()}.pdf"
        hosted = None
        if mode != "external_link":
            published_page = status == "published"
            content = f"# {name}\n\nEverything we learned about {topic}.\n" if (published_page or d.int(2)) else ""
            hosted = {"title": name, "content_markdown": content,
                      "status": "published" if published_page else "draft"}
        if mode == "hosted_content":
            link = None
        return {
            "id": rid,
            "status": status,
            "delivery_mode": mode,
            "keyword": keyword,
            "resource_name": name,
            "resource_link": link,
            "description": f"A practical resource on {topic}.",
            "text_template": "Here it is: {{hosted_page_url}}" if mode == "hosted_content" else TEMPLATE,
            "linked_posts": self.linked_posts(i),
            "hosted_page": hosted,
            "created_at": fmt_ms(created),
            "updated_at": fmt_ms(self._updated(d, created)),
        }

    def lead(self, i: int, created: int, rid: str) -> dict[str, Any]:
        h = mix(self.layouts["leads"].ckey ^ 0x1EAD5 ^ (i * GOLD & MASK64))
        name, email, _platform, url, headline, company, _first = self.person(h % self.people)
        n_magnets = self.layouts["lead_magnets"].n
        magnet_id = post_id = None
        if n_magnets:
            m = (h >> 24) % n_magnets
            magnet_id = self.magnet_id(m)
            links = self._links.get(m)
            if links is None:
                links = self._links[m] = self._linked_posts(m)
            post_id = links[(h >> 40) % len(links)] if links else None
        h2 = mix(h)
        return {
            "id": rid,
            "lead_magnet_id": magnet_id,
            "post_id": post_id,
            "full_name": name,
            "email": email if self.lead_has_email(i) else None,
            "linkedin_profile_url": url,
            "headline": headline,
            "company": company,
            "source": "comments" if (h2 & 0xFF) < 166 else "messages",
            "created_at": fmt_ms(created),
            "updated_at": fmt_ms(self._updated_h(h2 >> 8, created)),
        }

    def activity(self, i: int, created: int, rid: str) -> dict[str, Any]:
        h = mix(self.layouts["activity"].ckey ^ 0xAC7 ^ (i * GOLD & MASK64))
        source = self.activity_source(i)
        name, _email, platform, _url, _headline, _company, _first = self.person(h % self.people)
        n_magnets = self.layouts["lead_magnets"].n
        m = (h >> 24) % n_magnets if n_magnets and ((h >> 16) & 0xFF) < 153 else None
        matched = m is not None and ((h >> 44) & 0xFF) < 179
        topic = (h >> 52) % len(TOPICS)
        if source == "comments":
            post_id = self.published_post(mix(h))
            content = COMMENT_TEXTS[topic][(h >> 56) % len(COMMENTS)]
        else:
            post_id = None
            content = MESSAGE_TEXTS[topic][(h >> 56) % len(MESSAGES)]
        if matched:
            content = f"{self.keyword(m)} {content}" if (h >> 63) else f"{content} {self.keyword(m)}"
        return {
            "id": rid,
            "source": source,
            "post_id": post_id,
            "lead_magnet_id": self.magnet_id(m) if m is not None else None,
            "author_name": name,
            "author_platform_id": platform,
            "content": content,
            "keyword_matched": matched,
            "created_at": fmt_ms(created),
        }

    def engagement(self, post: dict[str, Any], i: int, as_of_ms: int) -> dict[str, Any]:
        """Figures of a post as of a simulated day: its lifetime totals times how far it has grown by then."""
        captured = fmt_ms(as_of_ms)
        if post.get("status") != "published":
            return {"post_id": post.get("id"), "impressions": 0, "reactions": 0, "comments": 0, "reposts": 0,
                    "clicks": 0, "captured_at": captured}
        d = Draw(self.layouts["posts"].ckey ^ 0xE96 ^ (i * GOLD & MASK64))
        grown = growth(as_of_ms - (parse_iso_ms(post.get("published_at") or "") or as_of_ms))
        impressions = int((150 + d.int(25_000)) * grown)
        reactions = impressions * (1 + d.int(7)) // 100
        return {"post_id": post.get("id"), "impressions": impressions, "reactions": reactions,
                "comments": reactions * d.int(40) // 100, "reposts": reactions * d.int(10) // 100,
                "clicks": impressions * d.int(4) // 100, "captured_at": captured}

    def analytics(self, magnet: dict[str, Any], i: int, as_of_ms: int) -> dict[str, Any]:
        """Figures of a lead magnet as of a simulated day, grown since it was created (like a post's)."""
        captured = fmt_ms(as_of_ms)
        if magnet.get("status") == "draft":
            return {"lead_magnet_id": magnet.get("id"), "views": 0, "requests": 0, "deliveries": 0,
                    "captured_at": captured}
        d = Draw(self.layouts["lead_magnets"].ckey ^ 0xA7A ^ (i * GOLD & MASK64))
        grown = growth(as_of_ms - (parse_iso_ms(magnet.get("created_at") or "") or as_of_ms))
        # Sized on this client's leads per lead magnet, so the funnel reads plausibly: views > requests
        # (people who asked) >= leads, and deliveries close to the leads that left an email.
        leads_per_magnet = max(1, self.layouts["leads"].n // max(1, self.layouts["lead_magnets"].n))
        requests = leads_per_magnet * (100 + d.int(40)) // 100
        views = int(requests * (3 + d.int(10)) * grown)
        deliveries = int(leads_per_magnet * (55 + d.int(25)) // 100 * grown)
        requests = int(requests * grown)
        return {"lead_magnet_id": magnet.get("id"), "views": views, "requests": requests,
                "deliveries": deliveries, "captured_at": captured}
