"""The sales side of the demo, consistent with the customers and orders already generated.

Opportunities reach every stage (a won deal is closed by one of the customer's real orders, a
lost one says why), leads reach every status (a converted lead points at its customer and, when
there is one, its opportunity), interactions sit around orders, deals and leads, and tasks are
overdue, due today, upcoming or done. Records belong to the rep who sells to the customer.
"""

from typing import Any

import numpy as np

from patron.demo import reference
from patron.demo.columns import (
    NAT,
    SECOND,
    STR,
    Clock,
    Ids,
    Table,
    blank,
    group_max,
    numbered,
    pick,
    segments,
    where,
)

DAY = 86400 * SECOND
OPEN_STAGES, WON, LOST = 4, 4, 5  # stage positions in the default pipeline


def _strs(values: tuple[str, ...]) -> np.ndarray:
    return np.array(values, dtype=STR)


def _between(rng: np.random.Generator, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    span = (stop - start).astype(np.int64)
    return start + (rng.random(len(start)) * np.maximum(span, 0)).astype(np.int64) * SECOND


def sales_and_activities(
    *, rng: np.random.Generator, ids: Ids, staff: Any, clock: Clock,
    tables: dict[str, Table], facts: Any, pools: Any, numbering: Any,
) -> dict[str, Table]:
    customers, orders = tables["customers"], tables["orders"]
    opps, opp_customer = _opportunities(rng, ids, staff, clock, customers, orders, facts, numbering)
    leads, lead_customer = _leads(rng, ids, staff, clock, customers, facts, pools, numbering)
    _link_leads(leads, lead_customer, opps, opp_customer)
    interactions, touched_customer, touched_lead = _interactions(
        rng, ids, orders, opps, opp_customer, leads, lead_customer, len(customers["id"]),
        facts, clock,
    )
    customers["last_contacted_at"] = group_max(
        touched_customer[touched_customer >= 0],
        interactions["occurred_at"][touched_customer >= 0], len(customers["id"]),
    )
    leads["last_contacted_at"] = group_max(
        touched_lead[touched_lead >= 0], interactions["occurred_at"][touched_lead >= 0],
        len(leads["id"]),
    )
    tasks = _tasks(rng, ids, staff, clock, customers, facts, opps, opp_customer)
    return {"opportunities": opps, "leads": leads, "interactions": interactions, "tasks": tasks}


def _opportunities(
    rng: np.random.Generator, ids: Ids, staff: Any, clock: Clock,
    customers: Table, orders: Table, facts: Any, numbering: Any,
) -> tuple[Table, np.ndarray]:
    n = len(customers["id"])
    weight = np.where(facts.company, 4.0, 1.0)
    weight /= weight.sum()
    # Won deals are closed by one of the customer's orders (one deal per order).
    won_customer = rng.choice(n, size=max(1, round(0.05 * n)), p=weight)
    won_order = facts.order_start[won_customer] + (
        rng.random(len(won_customer)) * facts.order_count[won_customer]).astype(np.int64)
    won_order, keep = np.unique(won_order, return_index=True)
    won_customer = won_customer[keep]
    lost_customer = rng.choice(n, size=max(1, round(0.035 * n)), p=weight)
    open_customer = rng.choice(n, size=max(OPEN_STAGES, round(0.05 * n)), p=weight)
    customer = np.concatenate([won_customer, lost_customer, open_customer])
    m = len(customer)
    stage = np.concatenate([
        np.full(len(won_customer), WON), np.full(len(lost_customer), LOST),
        np.concatenate([np.arange(OPEN_STAGES),
                        rng.integers(0, OPEN_STAGES, len(open_customer) - OPEN_STAGES)]),
    ])
    born = facts.created_at[customer]
    won, lost, is_open = stage == WON, stage == LOST, stage < OPEN_STAGES
    closed = np.full(m, NAT)
    closed[won] = orders["ordered_at"][won_order]
    created = np.full(m, NAT)
    created[won] = closed[won] - (3 + rng.gamma(2.0, 12.0, int(won.sum())) * 86400).astype(
        np.int64) * SECOND
    created[lost] = _between(rng, born[lost], np.full(int(lost.sum()), clock.end - 5 * DAY))
    closed[lost] = np.minimum(created[lost] + (rng.uniform(3, 60, int(lost.sum())) * 86400)
                              .astype(np.int64) * SECOND, clock.end - 3600 * SECOND)
    created[is_open] = clock.ago(rng.uniform(1, 120, int(is_open.sum())))
    created = np.maximum(created, born)
    changed = np.where(is_open, _between(rng, created, np.full(m, clock.end)), closed)
    amount = np.round(rng.gamma(2.0, 3000.0, m) * np.where(facts.company[customer], 4, 1)) * 100
    amount[won] = orders["total"][won_order]
    expected = np.where(is_open, (clock.end + rng.integers(7, 120, m) * DAY),
                        np.where(np.isnat(closed), clock.end, closed)).astype("datetime64[D]")
    rep = facts.rep[customer]
    topic = pick(rng, _strs(reference.DEAL_TOPICS), m)
    opps: Table = {
        "id": ids.new(m),
        "number": numbered("O", numbering("opportunity", m), m, 6),
        "name": np.strings.add(np.strings.add(customers["name"][customer], " · "), topic),
        "customer_id": customers["id"][customer],
        "pipeline_id": np.full(m, staff.pipeline_id),
        "stage_id": staff.stage_ids[stage],
        "amount": amount.astype(np.int64),
        "currency": np.full(m, "CNY"),
        "expected_close": expected,
        "probability": staff.stage_probability[stage],
        "outcome": staff.stage_outcome[stage],
        "lost_reason": where(lost, pick(rng, _strs(reference.LOST_REASONS), m), ""),
        "closed_at": closed,
        "stage_changed_at": changed,
        "source": customers["source"][customer],
        "competitor": where(lost & (rng.random(m) < 0.6),
                            pick(rng, _strs(reference.COMPETITORS), m), ""),
        "lead_id": blank(m),
        "created_by_id": staff.rep_ids[rep],
        "owner_id": staff.rep_ids[rep],
        "owner_team_id": staff.rep_team_ids[rep],
        "created_at": created,
        "updated_at": changed,
    }
    orders["opportunity_id"][won_order] = opps["id"][won]
    orders["status"][won_order] = "paid"
    return opps, customer


def _leads(
    rng: np.random.Generator, ids: Ids, staff: Any, clock: Clock,
    customers: Table, facts: Any, pools: Any, numbering: Any,
) -> tuple[Table, np.ndarray]:
    n = len(customers["id"])
    total = max(5, round(0.25 * n))
    converted_n = max(1, min(n, round(0.3 * total)))
    converted = rng.choice(n, size=converted_n, replace=False)
    other_n = total - converted_n
    statuses = _strs(("new", "working", "qualified", "disqualified"))
    status = np.concatenate([
        np.full(converted_n, "converted"),
        statuses[np.concatenate([np.arange(4), rng.choice(4, other_n - 4, p=[.3, .35, .15, .2])])],
    ]).astype(STR)
    customer = np.concatenate([converted, np.full(other_n, -1)])
    fresh = _fresh_people(rng, pools, other_n)
    company = facts.company[converted]
    person = where(company, pick(rng, pools.zh_names, converted_n), customers["name"][converted])
    rep = np.concatenate([facts.rep[converted], staff.reps_in(rng, fresh["group"])])
    born = facts.created_at[converted]
    created = np.concatenate([
        born - (rng.uniform(1, 30, converted_n) * 86400).astype(np.int64) * SECOND,
        clock.ago(np.where(status[converted_n:] == "new", rng.uniform(0.1, 21, other_n),
                           rng.uniform(1, 180, other_n))),
    ])
    pooled = (status == "new") & (rng.random(total) < 0.2)
    disqualified = status == "disqualified"
    leads: Table = {
        "id": ids.new(total),
        "number": numbered("L", numbering("lead", total), total, 6),
        "name": np.concatenate([person, fresh["name"]]).astype(STR),
        "company_name": np.concatenate([where(company, customers["name"][converted],
                                              customers["company_name"][converted]),
                                        fresh["company_name"]]).astype(STR),
        "title": where(rng.random(total) < 0.4, pick(rng, _strs(reference.JOB_TITLES), total), ""),
        "phone": np.concatenate([customers["phone"][converted], fresh["phone"]]).astype(STR),
        "email": np.concatenate([customers["email"][converted], fresh["email"]]).astype(STR),
        "region": np.concatenate([customers["region"][converted], fresh["region"]]).astype(STR),
        "industry": np.concatenate([customers["industry"][converted],
                                    blank(other_n)]).astype(STR),
        "source": np.concatenate([customers["source"][converted],
                                  pick(rng, customers["source"], other_n)]).astype(STR),
        "status": status,
        "disqualify_reason": where(disqualified,
                                   pick(rng, _strs(reference.DISQUALIFY_REASONS), total), ""),
        "estimated_value": np.where(status == "qualified",
                                    np.round(rng.gamma(2.0, 2000.0, total)) * 100, -1)
        .astype(np.int64),
        "converted_customer_id": where(customer >= 0, customers["id"][np.maximum(customer, 0)], ""),
        "converted_opportunity_id": blank(total),
        "converted_at": np.concatenate([born, np.full(other_n, NAT)]),
        "pooled_at": np.where(pooled, created, NAT),
        "owner_id": where(pooled, "", staff.rep_ids[rep]),
        "owner_team_id": where(pooled, "", staff.rep_team_ids[rep]),
        "created_at": created,
        "updated_at": np.concatenate([born, created[converted_n:]]),
    }
    return leads, customer


def _fresh_people(rng: np.random.Generator, pools: Any, k: int) -> dict[str, np.ndarray]:
    """Prospects who are not customers (yet)."""
    from patron.demo.generator import mobile_numbers

    places = reference.PLACES
    weights = np.array([p.weight for p in places])
    place = rng.choice(len(places), size=k, p=weights / weights.sum())
    english = rng.random(k) < 0.1
    handle = where(english, pick(rng, pools.en_handles, k), pick(rng, pools.zh_handles, k))
    email = np.strings.add(np.strings.add(handle, "@"),
                           pick(rng, _strs(reference.MAIL_DOMAINS), k))
    return {
        "group": np.array([p.group for p in places], dtype=STR)[place],
        "region": np.array([p.region for p in places], dtype=STR)[place],
        "name": where(english, pick(rng, pools.en_names, k), pick(rng, pools.zh_names, k)),
        "company_name": where(rng.random(k) < 0.4, pick(rng, pools.zh_companies, k), ""),
        "phone": mobile_numbers(rng, k),
        "email": np.strings.lower(where(rng.random(k) < 0.5, email, "")),
    }


def _link_leads(
    leads: Table, lead_customer: np.ndarray, opps: Table, opp_customer: np.ndarray
) -> None:
    """A converted lead points at its customer's first deal, and that deal at the lead."""
    first_customer, first_opp = np.unique(opp_customer, return_index=True)
    converted = np.flatnonzero(lead_customer >= 0)
    where_in = np.searchsorted(first_customer, lead_customer[converted])
    where_in = np.minimum(where_in, max(len(first_customer) - 1, 0))
    found = (len(first_customer) > 0) & (first_customer[where_in] == lead_customer[converted])
    lead_rows, opp_rows = converted[found], first_opp[where_in[found]]
    leads["converted_opportunity_id"][lead_rows] = opps["id"][opp_rows]
    opps["lead_id"][opp_rows] = leads["id"][lead_rows]


def _interactions(
    rng: np.random.Generator, ids: Ids, orders: Table, opps: Table,
    opp_customer: np.ndarray, leads: Table, lead_customer: np.ndarray, n_customers: int,
    facts: Any, clock: Clock,
) -> tuple[Table, np.ndarray, np.ndarray]:
    order_customer = np.repeat(np.arange(n_customers), facts.order_count)
    # Around orders: a confirmation before or a follow-up call after some of them.
    sampled = np.flatnonzero(rng.random(len(orders["id"])) < 0.12)
    at = orders["ordered_at"][sampled]
    after = at + (rng.uniform(0.2, 5, len(sampled)) * 86400).astype(np.int64) * SECOND
    at = np.where(after < clock.end, after, at - 3600 * SECOND)
    parts = [_touch(rng, "order", ("call", "wechat", "sms"), at, order_customer[sampled], -1,
                    orders["owner_id"][sampled], orders["owner_team_id"][sampled], "")]
    # Around deals: a few touches between opening and closing (or today).
    per_deal = 1 + rng.poisson(1.5, len(opps["id"]))
    deal, _, _ = segments(per_deal)
    stop = np.where(np.isnat(opps["closed_at"]), clock.end, opps["closed_at"])[deal]
    at = _between(rng, opps["created_at"][deal], stop)
    parts.append(_touch(rng, "deal", ("visit", "meeting", "call", "wechat", "email"), at,
                        opp_customer[deal], -1, opps["owner_id"][deal],
                        opps["owner_team_id"][deal], opps["id"][deal]))
    # Leads being worked: a first call and maybe more, until conversion or today.
    worked = np.flatnonzero((leads["status"] != "new") & (leads["owner_id"] != ""))
    per_lead = 1 + rng.poisson(0.8, len(worked))
    lead = worked[segments(per_lead)[0]]
    stop = np.where(np.isnat(leads["converted_at"]), clock.end, leads["converted_at"])[lead]
    at = _between(rng, leads["created_at"][lead], stop)
    parts.append(_touch(rng, "lead", ("call", "wechat", "email"), at, lead_customer[lead], lead,
                        leads["owner_id"][lead], leads["owner_team_id"][lead], ""))
    table = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    customer, lead_index = table.pop("_customer"), table.pop("_lead")
    table["id"] = ids.new(len(customer))
    table["customer_id"] = where(customer >= 0, _ids_of(facts, customer), "")
    table["lead_id"] = where(lead_index >= 0, leads["id"][np.maximum(lead_index, 0)], "")
    return table, customer, lead_index


def _ids_of(facts: Any, index: np.ndarray) -> np.ndarray:
    return facts.customer_ids[np.maximum(index, 0)]


def _touch(
    rng: np.random.Generator, about: str, kinds: tuple[str, ...], at: np.ndarray,
    customer: np.ndarray, lead: np.ndarray | int, owner: np.ndarray, team: np.ndarray,
    opportunity: np.ndarray | str,
) -> dict[str, np.ndarray]:
    k = len(at)
    return {
        "kind": pick(rng, _strs(kinds), k),
        "direction": where(rng.random(k) < 0.8, "out", "in"),
        "subject": pick(rng, _strs(reference.INTERACTION_SUBJECTS[about]), k),
        "occurred_at": at,
        "opportunity_id": np.broadcast_to(np.asarray(opportunity, dtype=STR), (k,)).astype(STR),
        "owner_id": owner.astype(STR),
        "owner_team_id": team.astype(STR),
        "created_at": at,
        "updated_at": at,
        "_customer": np.asarray(customer, dtype=np.int64),
        "_lead": np.broadcast_to(np.asarray(lead, dtype=np.int64), (k,)).copy(),
    }


def _tasks(
    rng: np.random.Generator, ids: Ids, staff: Any, clock: Clock,
    customers: Table, facts: Any, opps: Table, opp_customer: np.ndarray,
) -> Table:
    owned = np.flatnonzero(~facts.pooled)
    k = max(4, round(0.12 * len(customers["id"])))
    customer = owned[rng.integers(0, len(owned), k)]
    kinds = np.concatenate([np.arange(4), rng.choice(5, k - 4, p=[.2, .12, .3, .33, .05])])
    # Half the open deals have a next step planned (or overdue).
    open_deal = np.flatnonzero((opps["outcome"] == "open") & ~facts.pooled[opp_customer])
    open_deal = open_deal[rng.random(len(open_deal)) < 0.5]
    customer = np.concatenate([customer, opp_customer[open_deal]])
    kinds = np.concatenate([kinds, rng.choice([0, 2], len(open_deal), p=[.3, .7])])
    opportunity = np.concatenate([blank(k), opps["id"][open_deal]]).astype(STR)
    m = len(customer)
    due = np.select(
        [kinds == 0, kinds == 1, kinds == 2],
        [clock.ago_in_hours(rng, rng.uniform(1, 20, m)), clock.ahead_in_hours(rng, np.zeros(m)),
         clock.ahead_in_hours(rng, rng.integers(1, 30, m))],
        clock.ago_in_hours(rng, rng.uniform(1, 90, m)),
    )
    done, cancelled = kinds == 3, kinds == 4
    completed = due - (rng.uniform(0, 1, m) * 86400).astype(np.int64) * SECOND
    created = np.maximum(np.minimum(due, clock.end) - (rng.uniform(1, 14, m) * 86400)
                         .astype(np.int64) * SECOND, facts.created_at[customer])
    rep = facts.rep[customer]
    title = pick(rng, _strs(reference.TASK_TITLES), m)
    return {
        "id": ids.new(m),
        "title": np.strings.add(np.strings.add(title, "："), customers["name"][customer]),
        "due_at": due,
        "remind_at": np.where((kinds == 1) | (kinds == 2), due - 3600 * SECOND, NAT),
        "status": where(done, "done", where(cancelled, "cancelled", "open")),
        "completed_at": np.where(done, np.maximum(completed, created), NAT),
        "channel": customers["preferred_channel"][customer],
        "customer_id": customers["id"][customer],
        "opportunity_id": opportunity,
        "owner_id": staff.rep_ids[rep],
        "owner_team_id": staff.rep_team_ids[rep],
        "created_at": created,
        "updated_at": np.where(done, np.maximum(completed, created), created),
    }
