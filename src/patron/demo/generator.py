"""Seeded, vectorised generation of the demo's customers, contacts, orders and order lines.

Orders come from the BG/NBD story of repeat buying (Fader, Hardie & Lee 2005, "Counting your
customers the easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2)):
while active a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after
each repeat purchase they drop out with probability p ~ Beta(a, b). Order values follow the
gamma-gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves for
customer base analysis", Journal of Marketing Research 42(4)): a customer's spend per order is
Gamma(p, nu) with nu ~ Gamma(q, gamma), so each customer has their own mean. The value science
can therefore recover real structure from the demo data.

Nothing here touches the database: `generate_chunk` turns a seed and a chunk index into
tables of numpy columns (see `columns.py`), so the same seed always gives the same data, and
a million customers are produced a chunk at a time in bounded memory.
"""

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from faker import Faker

from patron.demo import activity, reference
from patron.demo.columns import (
    NAT,
    SECOND,
    STR,
    Clock,
    Ids,
    Table,
    blank,
    digits,
    group_max,
    group_min,
    new_ids,
    numbered,
    pick,
    random_text,
    segments,
    where,
)

# Customers per chunk. Part of the seed's meaning: changing it changes the data.
CHUNK = 20_000

# (key, count) -> first number of a freshly reserved range (organizations.Counter.take).
Numbering = Callable[[str, int], int]


@dataclass(frozen=True)
class Params:
    """The buying process, in days and yuan. Chosen so that over a two-year window customers
    average about ten orders, with many one-time buyers and a long tail of heavy ones."""

    r: float = 0.5
    alpha: float = 5.0
    a: float = 0.9
    b: float = 6.0
    spend_p: float = 6.0
    spend_q: float = 4.0
    spend_gamma: float = 150.0
    company_spend_factor: float = 4.0
    horizon_days: float = 730.0
    company_share: float = 0.25
    english_share: float = 0.12
    pool_share: float = 0.05


@dataclass(frozen=True)
class Staff:
    """Who the data belongs to: the sales reps, the pipeline's stages and the products."""

    rep_ids: np.ndarray  # hex ids of sales reps
    rep_team_ids: np.ndarray
    rep_groups: np.ndarray  # "east" / "north", the regions each rep's team covers
    pipeline_id: str
    stage_ids: np.ndarray  # in pipeline order: 4 open stages, won, lost
    stage_probability: np.ndarray
    stage_outcome: np.ndarray
    product_ids: np.ndarray
    utc_offset_hours: int = 8

    def reps_in(self, rng: np.random.Generator, groups: np.ndarray) -> np.ndarray:
        """A random rep (index) covering each group; reps of both groups serve as a fallback."""
        out = rng.integers(0, len(self.rep_ids), size=len(groups))
        for group in np.unique(self.rep_groups):
            members = np.flatnonzero(self.rep_groups == group)
            mask = groups == group
            out[mask] = members[rng.integers(0, len(members), size=int(mask.sum()))]
        return out


@dataclass
class Pools:
    """Realistic names to sample from, made once with Faker (zh_CN and en_US)."""

    zh_names: np.ndarray
    en_names: np.ndarray
    zh_companies: np.ndarray
    en_companies: np.ndarray
    zh_handles: np.ndarray  # pinyin user names for e-mail addresses
    en_handles: np.ndarray
    domains: np.ndarray  # company web domains
    streets: np.ndarray

    @classmethod
    @functools.cache
    def build(cls, seed: int = 2026, size: int = 2000) -> "Pools":
        """The pools are vocabulary, not data: a fixed seed, built once per process."""
        zh, en = Faker("zh_CN"), Faker("en_US")
        zh.seed_instance(seed)
        en.seed_instance(seed + 1)

        def pool(fn: Callable[[], str], k: int) -> np.ndarray:
            return np.array(sorted({fn() for _ in range(k)}), dtype=STR)

        return cls(
            zh_names=pool(zh.name, size), en_names=pool(en.name, size // 4),
            zh_companies=pool(zh.company, size // 2), en_companies=pool(en.company, size // 8),
            zh_handles=pool(zh.user_name, size), en_handles=pool(en.user_name, size // 4),
            domains=pool(zh.domain_name, size // 4), streets=pool(zh.street_address, size // 2),
        )


def product_rows(rng: np.random.Generator) -> Table:
    """The catalogue as a table; ids are random, prices in cents."""
    specs = reference.PRODUCTS
    return {
        "id": new_ids(rng, len(specs)),
        "sku": np.array([p.sku for p in specs], dtype=STR),
        "name": np.array([p.name for p in specs], dtype=STR),
        "category": np.array([p.category for p in specs], dtype=STR),
        "price": np.array([p.price * 100 for p in specs], dtype=np.int64),
        "currency": np.full(len(specs), "CNY"),
        "is_active": np.ones(len(specs), dtype=bool),
    }


def generate_chunk(
    *, seed: int, index: int, size: int, first_customer: int, staff: Staff, pools: Pools,
    today: dt.date, numbering: Numbering, params: Params | None = None, id_salt: int = 0,
) -> dict[str, Table]:
    """All the demo rows for customers `first_customer ..` (`size` of them), as tables.

    `index` is the chunk's position: with `seed` it fixes the random stream, so chunks can
    be produced one at a time. `id_salt` only changes the primary keys (use the organisation's
    id so two demo organisations never collide); the data itself depends on `seed` alone.
    """
    params = params or Params()
    rng = np.random.default_rng([seed, index])
    clock = Clock.for_day(np.datetime64(today), staff.utc_offset_hours)
    # Time field of the ordered ids: the data's last day in ms, then 2**26 rows per chunk.
    base = int(clock.end.astype("datetime64[ms]").astype(np.int64)) + index * 2**26
    ids = Ids(np.random.default_rng([seed, index, id_salt]), base)
    customers, facts = _customers(rng, ids, pools, staff, params, size, first_customer)
    facts.customer_ids = customers["id"]
    orders, lines = _orders(rng, ids, staff, params, clock, customers, facts, numbering)
    customers["last_ordered_at"] = facts.last_ordered_at
    customers["created_at"] = facts.created_at
    # A pooled customer went back to the public pool a while after their last purchase.
    pooled_at = np.minimum(facts.last_ordered_at + 60 * 86400 * SECOND, clock.end - 3600 * SECOND)
    customers["pooled_at"] = np.where(facts.pooled, pooled_at, NAT)
    tables = {
        "customers": customers,
        "contacts": _contacts(rng, ids, pools, customers, facts),
        "orders": orders,
        "order_lines": lines,
    }
    tables |= activity.sales_and_activities(
        rng=rng, ids=ids, staff=staff, clock=clock, tables=tables, facts=facts,
        pools=pools, numbering=numbering,
    )
    customers["updated_at"] = np.maximum(customers["created_at"], _nat_to_min(
        customers["last_contacted_at"], customers["last_ordered_at"]))
    return tables


def _nat_to_min(*columns: np.ndarray) -> np.ndarray:
    low = np.datetime64("1970-01-01T00:00:00", "s")
    out = np.full(len(columns[0]), low)
    for column in columns:
        out = np.maximum(out, np.where(np.isnat(column), low, column))
    return out


@dataclass
class Facts:
    """Per-customer values the other tables need but the customer row does not hold."""

    group: np.ndarray  # "east" / "north"
    rep: np.ndarray  # index into staff.rep_ids of the rep who sells to them
    company: np.ndarray  # bool
    english: np.ndarray  # bool
    domain: np.ndarray  # company web domain
    pooled: np.ndarray = field(default_factory=lambda: np.array([], bool))  # in the public pool
    customer_ids: np.ndarray = field(default_factory=lambda: np.array([], STR))
    created_at: np.ndarray = field(default_factory=lambda: np.array([], "datetime64[s]"))
    last_ordered_at: np.ndarray = field(default_factory=lambda: np.array([], "datetime64[s]"))
    order_start: np.ndarray = field(default_factory=lambda: np.array([], np.int64))
    order_count: np.ndarray = field(default_factory=lambda: np.array([], np.int64))


def mobile_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """E.164 Chinese mobile numbers: +86, a 1[3-9]x carrier prefix, eight digits."""
    prefixes = np.array(reference.MOBILE_PREFIXES, dtype=STR)
    return np.strings.add(np.strings.add("+86", pick(rng, prefixes, n)), digits(rng, n, 8))


def landline_numbers(rng: np.random.Generator, place: np.ndarray) -> np.ndarray:
    """E.164 landlines in each customer's city: +86, area code, eight-digit local number."""
    codes = np.array([p.area_code for p in reference.PLACES], dtype=STR)[place]
    # Each city's possible first digits, padded by repetition to two columns.
    first = np.array([[p.landline_first[0], p.landline_first[-1]] for p in reference.PLACES],
                     dtype=STR)
    lead = first[place, rng.integers(0, 2, len(place))]
    return np.strings.add(np.strings.add(np.strings.add("+86", codes), lead),
                          digits(rng, len(place), 7))


def _customers(
    rng: np.random.Generator, ids: Ids, pools: Pools, staff: Staff,
    params: Params, n: int, first: int,
) -> tuple[Table, Facts]:
    places = reference.PLACES
    weights = np.array([p.weight for p in places])
    place = rng.choice(len(places), size=n, p=weights / weights.sum())
    group = np.array([p.group for p in places], dtype=STR)[place]
    company = rng.random(n) < params.company_share
    english = rng.random(n) < params.english_share
    person_name = where(english, pick(rng, pools.en_names, n), pick(rng, pools.zh_names, n))
    firm = where(english, pick(rng, pools.en_companies, n), pick(rng, pools.zh_companies, n))
    employed = company | (rng.random(n) < 0.3)
    company_name = where(employed, firm, "")
    landline = company & (rng.random(n) < 0.5) | (rng.random(n) < 0.05)
    phone = where(landline, landline_numbers(rng, place), mobile_numbers(rng, n))
    phone = where(rng.random(n) < 0.03, "", phone)
    facts = Facts(
        group=group, rep=staff.reps_in(rng, group), company=company, english=english,
        domain=pick(rng, pools.domains, n),
    )
    pooled = rng.random(n) < params.pool_share
    table: Table = {
        "id": ids.new(n),
        "number": numbered("C", first, n, 6),
        "kind": where(company, "company", "person"),
        "name": where(company, firm, person_name),
        "company_name": company_name,
        "phone": phone,
        "email": _emails(rng, pools, facts, n),
        "wechat": where(rng.random(n) < 0.5, np.strings.add(
            "wxid_", random_text(rng, n, 12, "abcdefghijkmnpqrstuvwxyz0123456789")), ""),
        "birthday": _birthdays(rng, n, ~company & (rng.random(n) < 0.5)),
        "address": _addresses(rng, pools, place, rng.random(n) < 0.4),
        "region": np.array([p.region for p in places], dtype=STR)[place],
        "city": np.array([p.city for p in places], dtype=STR)[place],
        "industry": where(company, pick(rng, np.array(reference.INDUSTRIES, dtype=STR), n), ""),
        "source": pick(rng, np.array(_SOURCES, dtype=STR), n, p=_SOURCE_WEIGHTS),
        "preferred_channel": pick(rng, np.array(_CHANNELS, dtype=STR), n, p=_CHANNEL_WEIGHTS),
        "consent_email": rng.random(n) < 0.4,
        "consent_sms": rng.random(n) < 0.5,
        "consent_phone": rng.random(n) < 0.9,
        "owner_id": where(pooled, "", staff.rep_ids[facts.rep]),
        "owner_team_id": where(pooled, "", staff.rep_team_ids[facts.rep]),
    }
    table["pooled_at"] = np.full(n, NAT)  # filled once the creation times are known
    facts.pooled = pooled
    return table, facts


_SOURCES = (
    "referral", "website", "event", "cold_call", "advertising", "social", "partner", "other",
)
_SOURCE_WEIGHTS = np.array([0.2, 0.22, 0.1, 0.08, 0.1, 0.18, 0.07, 0.05])
_CHANNELS = ("wechat", "phone", "sms", "email", "visit")
_CHANNEL_WEIGHTS = np.array([0.45, 0.3, 0.08, 0.1, 0.07])


def _emails(rng: np.random.Generator, pools: Pools, facts: Facts, n: int) -> np.ndarray:
    handle = where(facts.english, pick(rng, pools.en_handles, n), pick(rng, pools.zh_handles, n))
    numeric = np.strings.add(digits(rng, n, 6), "@qq.com")  # QQ mail: the QQ number itself
    domain = where(facts.company, facts.domain,
                   pick(rng, np.array(reference.MAIL_DOMAINS, dtype=STR), n))
    named = np.strings.add(np.strings.add(handle, "@"), domain)
    email = where(~facts.company & (rng.random(n) < 0.25), np.strings.add("1", numeric), named)
    return np.strings.lower(where(rng.random(n) < 0.65, email, ""))


def _birthdays(rng: np.random.Generator, n: int, known: np.ndarray) -> np.ndarray:
    start = np.datetime64("1960-01-01", "D")
    days = rng.integers(0, int((np.datetime64("2003-12-31", "D") - start).astype(int)), n)
    out = start + days.astype("timedelta64[D]")
    out[~known] = np.datetime64("NaT", "D")
    return out


def _addresses(
    rng: np.random.Generator, pools: Pools, place: np.ndarray, known: np.ndarray
) -> np.ndarray:
    regions = np.array([p.region for p in reference.PLACES], dtype=STR)[place]
    cities = np.array([p.city for p in reference.PLACES], dtype=STR)[place]
    province = where(regions == cities, "", np.strings.add(regions, "省"))
    street = pick(rng, pools.streets, len(place))
    full = np.strings.add(np.strings.add(province, np.strings.add(cities, "市")), street)
    return where(known, full, "")


def _orders(
    rng: np.random.Generator, ids: Ids, staff: Staff, params: Params,
    clock: Clock, customers: Table, facts: Facts, numbering: Numbering,
) -> tuple[Table, Table]:
    n = len(customers["id"])
    days_ago = _purchase_days(rng, params, n, facts)  # sorted per customer, oldest first
    customer = np.repeat(np.arange(n), facts.order_count)
    m = len(customer)
    ordered_at = clock.ago_in_hours(rng, days_ago)
    spend = _spend(rng, params, facts.company)[customer]
    lines, totals = _lines(rng, ids, staff, np.arange(m), spend, params.spend_p)
    # Same-day orders get independent clock times, so take the extremes, not the positions.
    facts.last_ordered_at = group_max(customer, ordered_at, n)
    # A customer is entered into the CRM some days before their first purchase.
    facts.created_at = group_min(customer, ordered_at, n) - (
        rng.exponential(12.0, n) * 86400).astype(np.int64) * SECOND
    order_rep = np.where(rng.random(m) < 0.9, facts.rep[customer],
                         staff.reps_in(rng, facts.group[customer]))
    channels = np.array(["direct", "online", "store", "phone", "partner"], dtype=STR)
    main = rng.choice(len(channels), size=n, p=[0.3, 0.35, 0.15, 0.1, 0.1])
    channel = np.where(rng.random(m) < 0.8, main[customer], rng.integers(0, len(channels), m))
    status = pick(rng, np.array(["paid", "cancelled", "refunded"], dtype=STR), m,
                  p=[0.965, 0.02, 0.015])
    status = where(days_ago < 2, "placed", status)
    orders: Table = {
        "id": ids.new(m),
        "number": numbered("S", numbering("order", m), m, 8),
        "customer_id": customers["id"][customer],
        "ordered_at": ordered_at,
        "channel": channels[channel],
        "status": status,
        "total": totals,
        "currency": np.full(m, "CNY"),
        "opportunity_id": blank(m),
        "owner_id": staff.rep_ids[order_rep],
        "owner_team_id": staff.rep_team_ids[order_rep],
        "created_at": ordered_at,
        "updated_at": ordered_at,
    }
    order_index = lines.pop("order_index")
    lines["order_id"] = orders["id"][order_index]
    lines["customer_id"] = orders["customer_id"][order_index]  # the order's, copied (OrderLine.customer)
    lines["created_at"] = lines["updated_at"] = lines["ordered_at"] = ordered_at[order_index]
    return orders, lines


def _purchase_days(rng: np.random.Generator, params: Params, n: int, facts: Facts) -> np.ndarray:
    """Days before today of every order, customer by customer, oldest first (BG/NBD).

    A customer acquired T days ago makes N ~ Poisson(lambda T) purchases if always active,
    and would drop out after the J-th repeat purchase, J ~ Geometric(p); we observe
    X = min(N, J). Given N, the arrival times are uniform order statistics, and the first X
    of N sorted uniforms are S_k / S_{N+1} with S the partial sums of unit exponentials;
    S_{N+1} = S_X + Gamma(N + 1 - X) needs no loop over the N - X unobserved arrivals.
    """
    age = rng.uniform(0.5, params.horizon_days, n)
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    would_buy = rng.poisson(rate * age)
    repeats = np.minimum(would_buy, rng.geometric(p))
    group, _, starts = segments(repeats)
    partial = np.cumsum(rng.standard_exponential(int(repeats.sum())))
    before = np.concatenate([[0.0], partial])[starts]
    partial = partial - np.repeat(before, repeats)
    last = np.zeros(n)
    ends = starts + repeats - 1
    has = repeats > 0
    last[has] = partial[ends[has]]
    scale = last + rng.gamma(would_buy - repeats + 1.0)
    repeat_days = age[group] * (1.0 - partial / scale[group])
    counts = repeats + 1
    facts.order_count = counts
    facts.order_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    out = np.empty(int(counts.sum()))
    out[facts.order_start] = age
    is_repeat = np.ones(len(out), dtype=bool)
    is_repeat[facts.order_start] = False
    out[is_repeat] = repeat_days  # repeats are already in time order within each customer
    return out


def _spend(rng: np.random.Generator, params: Params, company: np.ndarray) -> np.ndarray:
    """Each customer's mean-spend draw: per-order values are Gamma(p, nu), nu ~ Gamma(q, gamma)."""
    nu = rng.gamma(params.spend_q, 1.0 / params.spend_gamma, len(company))
    return np.where(company, params.company_spend_factor, 1.0) / nu  # scale of Gamma(p, nu)


def _lines(
    rng: np.random.Generator, ids: Ids, staff: Staff, orders: np.ndarray,
    spend_scale: np.ndarray, spend_p: float,
) -> tuple[Table, np.ndarray]:
    """Order lines: a first product by popularity, then often its usual companions."""
    specs = reference.PRODUCTS
    m = len(orders)
    value = rng.gamma(spend_p, 1.0, m) * spend_scale * 100  # cents; Gamma(p, nu) per order
    per_order = 1 + np.minimum(rng.poisson(0.9, m), 4)
    order, rank, starts = segments(per_order)
    popularity = np.array([p.popularity for p in specs])
    product = rng.choice(len(specs), size=len(order), p=popularity / popularity.sum())
    sku_index = {p.sku: i for i, p in enumerate(specs)}
    partners = [[sku_index[s] for s in p.partners] for p in specs]
    width = max(len(p) for p in partners)
    table = np.array([p + [-1] * (width - len(p)) for p in partners])
    count = np.array([len(p) for p in partners])
    first = product[np.repeat(starts, per_order)]
    companion = table[first, (rng.random(len(order)) * np.maximum(count[first], 1)).astype(int)]
    use = (rank > 0) & (count[first] > 0) & (rng.random(len(order)) < 0.6)
    product = np.where(use, companion, product)
    _, keep = np.unique(order * len(specs) + product, return_index=True)
    order, product = order[keep], product[keep]
    price = np.array([p.price * 100 for p in specs], dtype=np.int64)[product]
    share = rng.gamma(1.0, 1.0, len(order))
    share = share / np.bincount(order, share, minlength=m)[order]
    quantity = np.clip(np.round(value[order] * share / price), 1, 99).astype(np.int64)
    amount = quantity * price
    totals = np.bincount(order, amount.astype(float), minlength=m).round().astype(np.int64)
    lines: Table = {
        "id": ids.new(len(order)),
        "order_index": orders[order],
        "product_id": staff.product_ids[product],
        "quantity": quantity * 100,  # cents of a unit: the column holds two decimals
        "unit_price": price,
        "amount": amount,
    }
    return lines, totals


def _contacts(
    rng: np.random.Generator, ids: Ids, pools: Pools, customers: Table,
    facts: Facts,
) -> Table:
    """One to three people at each company customer; the first is the primary contact."""
    companies = np.flatnonzero(facts.company)
    count = 1 + (rng.random(len(companies)) < 0.5) + (rng.random(len(companies)) < 0.2)
    owner, rank, _ = segments(count)
    customer = companies[owner]
    k = len(customer)
    english = facts.english[customer]
    handle = where(english, pick(rng, pools.en_handles, k), pick(rng, pools.zh_handles, k))
    return {
        "id": ids.new(k),
        "customer_id": customers["id"][customer],
        "name": where(english, pick(rng, pools.en_names, k), pick(rng, pools.zh_names, k)),
        "title": pick(rng, np.array(reference.JOB_TITLES, dtype=STR), k),
        "phone": mobile_numbers(rng, k),
        "email": np.strings.lower(np.strings.add(np.strings.add(handle, "@"),
                                                 facts.domain[customer])),
        "is_primary": rank == 0,
        "created_at": facts.created_at[customer],
        "updated_at": facts.created_at[customer],
    }


__all__ = ["CHUNK", "NAT", "Facts", "Params", "Pools", "Staff", "generate_chunk", "product_rows"]
