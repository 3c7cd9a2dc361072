"""Reads for the insight pages: segment conditions, the at-risk list and the dashboard data.

Every customer query starts from `Customer.objects.visible_to(user)`, so a segment, a count or
an export never reaches a customer its user may not see. Dashboards read the rollups stored by
the last refresh (run.report["rollups"]), never the raw tables.
"""

import datetime as dt
import heapq
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    CharField,
    F,
    FilteredRelation,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    UUIDField,
    Value,
    Window,
)
from django.db.models.functions import RowNumber
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from patron.accounts.capabilities import Scope
from patron.common import standardize, tenancy
from patron.customers.models import Customer, Source
from patron.insights import labels
from patron.insights.actions import CHURN_RISK_THRESHOLD, reason_texts
from patron.insights.models import CustomerScore, ScoreRun

# field -> (where, kind, label). Where: "customer" or "score"; kind decides the operators.
FIELDS: dict[str, tuple[str, str, Any]] = {
    "region": ("customer", "text", _("Region")),
    "city": ("customer", "text", _("City")),
    "industry": ("customer", "text", _("Industry")),
    "source": ("customer", "choice", _("Source")),
    "tag": ("customer", "text", _("Tag")),
    "days_since_contact": ("customer", "days", _("Days since last contact")),
    "days_since_order": ("customer", "days", _("Days since last purchase")),
    "rfm_segment": ("score", "choice", _("RFM segment")),
    "class8": ("score", "choice", _("Value class")),
    "lifecycle": ("score", "choice", _("Lifecycle stage")),
    "value_tier": ("score", "choice", _("Value tier")),
    "frequency_tier": ("score", "choice", _("Frequency tier")),
    "clv": ("score", "number", _("Lifetime value (12 months)")),
    # In percent, as every page shows them (the snapshots keep 0 to 1).
    "churn_risk": ("score", "percent", _("Churn risk (%)")),
    "p_alive": ("score", "percent", _("Probability active (%)")),
    "total_spend": ("score", "number", _("Total spend")),
    "n_purchases": ("score", "number", _("Purchases")),
    "expected_purchases": ("score", "number", _("Expected purchases (90 days)")),
}
OPERATORS: dict[str, Any] = {
    "eq": _("is"),
    "ne": _("is not"),
    "contains": _("contains"),
    "gt": _("above"),
    "gte": _("at least"),
    "lt": _("below"),
    "lte": _("at most"),
}
OPERATORS_OF = {
    "text": ("eq", "ne", "contains"),
    "choice": ("eq", "ne"),
    "number": ("gt", "gte", "lt", "lte"),
    "percent": ("gt", "gte", "lt", "lte"),
    "days": ("gt", "gte", "lt", "lte"),
}
_DATE_FIELD = {"days_since_contact": "last_contacted_at", "days_since_order": "last_ordered_at"}
MAX_CONDITIONS = 12


class ConditionError(ValueError):
    """A segment condition that names an unknown field, operator or value."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any


def field_choices(field: str) -> list[tuple[str, Any]]:
    if field == "source":
        return list(Source.choices)
    return labels.choices(field)


def choice_lists() -> dict[str, list[str]]:
    """The classes each choice field may be compared with, by the names people use, offered
    as they type a condition's value."""
    return {
        field: [str(label) for _key, label in field_choices(field)]
        for field, (_where, kind, _label) in FIELDS.items()
        if kind == "choice"
    }


# The longest a "days since" condition reaches back: a hundred years.
MAX_DAYS = 36_500


def parse_conditions(raw: Any) -> list[Condition]:
    """Validate stored or submitted conditions ([{field, op, value}, ...]); raise ConditionError."""
    if not isinstance(raw, list) or len(raw) > MAX_CONDITIONS:
        raise ConditionError(_("Conditions must be a list of at most %d items.") % MAX_CONDITIONS)
    out = []
    for item in raw:
        if not isinstance(item, dict) or item.get("field") not in FIELDS:
            raise ConditionError(_("Unknown field."))
        field, op, value = item["field"], item.get("op"), item.get("value")
        kind = FIELDS[field][1]
        if op not in OPERATORS_OF[kind]:
            raise ConditionError(_("This comparison does not apply to %s.") % FIELDS[field][2])
        value = _clean_value(field, kind, value)
        # 浙江省 or Zhejiang means the stored 浙江, contained or not; but "contains 宁" is not
        # 宁夏 (a one-character abbreviation), it also finds 辽宁.
        if field == "region" and (op != "contains" or len(value) > 1):
            value = standardize.canonical_region(value)
        out.append(Condition(field, op, value))
    return out


def _clean_value(field: str, kind: str, value: Any) -> Any:
    text = str(value if value is not None else "").strip()
    if kind == "percent":  # 60, 60% or ６０％
        try:
            number = standardize.parse_amount(text.rstrip("%％ "))
        except (ValidationError, InvalidOperation):
            number = None
        if number is None or not number.is_finite() or not 0 <= number <= 100:
            raise ConditionError(_("%s needs a percentage from 0 to 100.") % FIELDS[field][2])
        return float(number)
    if kind in ("number", "days"):
        try:  # as people write amounts: 5,000, ¥5000, 1.5万
            number = standardize.parse_amount(text)
        except (ValidationError, InvalidOperation) as error:
            raise ConditionError(_("%s needs a number.") % FIELDS[field][2]) from error
        if number is None or not number.is_finite():
            raise ConditionError(_("%s needs a number.") % FIELDS[field][2])
        if kind == "number":
            return float(number)
        # Days count back from today: further than any date the database holds is no date.
        if not 0 <= number <= MAX_DAYS:
            raise ConditionError(_("%(field)s needs a number of days from 0 to %(most)s.") % {
                "field": FIELDS[field][2], "most": formats.number_format(MAX_DAYS, force_grouping=True)})
        return int(number)
    if kind == "choice":
        return _choice_key(field, text)
    if not text:
        raise ConditionError(_("Enter a value for %s.") % FIELDS[field][2])
    return text


def choice_name(field: str, value: Any) -> Any:
    """A stored value as a person writes it: a choice field's key by its name in the active
    language, a number without a float's tail (1000.0 is 1000); other values as they are."""
    kind = FIELDS.get(field, ("", ""))[1]
    if kind in ("number", "percent") and isinstance(value, int | float) and math.isfinite(value):
        return format(Decimal(str(value)).normalize(), "f")
    if kind != "choice":
        return value
    return str(dict(field_choices(field)).get(value, value))


def _choice_key(field: str, text: str) -> str:
    """A choice by its key or by its label in any language the product speaks (a Chinese
    team writes "At risk" as often as 流失风险客户, whatever the page's language)."""
    folded = text.casefold()
    for key, label in field_choices(field):
        names = {key, labels.CHINESE_NAMES.get(field, {}).get(key, "")}
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                names |= {str(label), labels.label_for(field, key)}
        if folded in {n.casefold() for n in names if n}:
            return key
    raise ConditionError(_("Choose a value for %s.") % FIELDS[field][2])


def _one_q(cond: Condition, now: dt.datetime) -> Q:
    field, op, value = cond.field, cond.op, cond.value
    if field in _DATE_FIELD:
        column, cutoff = _DATE_FIELD[field], now - dt.timedelta(days=value)
        # "At least N days" and "above N days" include never (no contact at all is the
        # longest gap); "below" and "at most" mean within the last N days.
        if op in ("gte", "gt"):
            return Q(**{f"{column}__{'lte' if op == 'gte' else 'lt'}": cutoff}) | Q(**{f"{column}__isnull": True})
        return Q(**{f"{column}__{'gt' if op == 'lt' else 'gte'}": cutoff})
    column = "tags__name" if field == "tag" else field
    if op == "ne":
        return ~Q(**{column: value})
    lookup = {
        "eq": "iexact" if FIELDS[field][1] == "text" else "exact",
        "contains": "icontains",
    }.get(op, op)
    return Q(**{f"{column}__{lookup}": value})


# Score conditions compare the current snapshot's column with a value, as expressions: negated
# ("is not"), a lookup through the join would become a subquery over every run's snapshots.
_SCORE_LOOKUPS = {"eq": Exact, "ne": Exact, "gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan,
                  "lte": LessThanOrEqual}


def matching(queryset: QuerySet, conditions: list[Condition], now: dt.datetime | None = None, *,
             listed: bool = False) -> QuerySet:
    """The customers of `queryset` meeting every condition: customer conditions on the customer,
    score conditions on its current snapshot, joined once (`current_score`, which the lists'
    score columns reuse when `with_current_score` comes after). A customer without a current
    snapshot meets no score condition. `listed`: for the customer list, which pages newest
    first (a count or a ranking by value needs no such order).

    A join rather than "id in (the snapshots that match)": SQLite, without statistics, read
    such a filter by scanning the organisation's customers in an index's order, 4 to 9 s for
    a segment at a million whatever its size; the join reads the class from its index."""
    now = now or timezone.now()
    customer_q, score_q = Q(), []
    for cond in conditions:
        if FIELDS[cond.field][0] == "customer":
            if cond.field == "tag":  # a subquery, so two tag conditions mean two tags
                customer_q &= Q(pk__in=Customer.objects.filter(_one_q(cond, now)).values("pk"))
            else:
                customer_q &= _one_q(cond, now)
        else:
            value = cond.value / 100 if FIELDS[cond.field][1] == "percent" else cond.value
            term = Q(_SCORE_LOOKUPS[cond.op](F(f"{CURRENT_SCORE}__{cond.field}"), value))
            score_q.append(~term if cond.op == "ne" else term)
    queryset = queryset.filter(customer_q)
    if not score_q:
        return queryset
    run_id = _current_run_id()
    if run_id is None:
        return queryset.none()
    queryset = _joined_current_score(queryset, run_id).filter(*score_q, **{f"{CURRENT_SCORE}__customer__isnull": False})
    # A list of customers "of" a class, newest first, reads that class's index in order.
    classes = [c for c in conditions if c.field in INDEXED_CLASSES and c.op == "eq"]
    if listed and classes and CLASS_ORDER[0] not in queryset.query.annotations:
        queryset = in_class_order(queryset, CURRENT_SCORE, **{classes[0].field: classes[0].value})
    return queryset


def segment_customers(*, user: Any, conditions: list[Condition], action: str = "view") -> QuerySet:
    """The visible, unarchived customers matching every condition (an empty list: all of them)."""
    return matching(Customer.objects.visible_to(user, action).filter(is_archived=False), conditions)


def in_current_class(**classes: str) -> Q:
    """Customers whose current snapshot is of these classes (`rfm_segment="at_risk"`, ...): a
    join to that snapshot, whose copy of the customer's creation time lets the list read the
    class newest first from the class's index (see `customers.selectors.list_sort`)."""
    current_run = ScoreRun.objects.filter(is_current=True).values("pk")[:1]
    return Q(scores__run=Subquery(current_run), scores__replaced=False, scores__organization=F("organization"),
             **{f"scores__{k}": v for k, v in classes.items()})


# The annotations of a class's list that hold its snapshots' copies of creation time and id.
CLASS_ORDER = ("class_created_at", "class_customer_id")
# The classes with an index each: (run, class, organization, creation time, customer, replaced).
INDEXED_CLASSES = ("rfm_segment", "class8", "lifecycle")


def in_class_order(queryset: QuerySet, relation: str, **classes: str) -> QuerySet:
    """`queryset`, which the caller filtered to these classes through `relation` (its join to
    the current snapshot), with the snapshot's copies of the customer's creation time and id:
    a list sorted by creation reads them in order from the class's index
    (`customers.selectors.list_sort`).

    Not when a snapshot of the class lacks the copy (written by a worker still running the
    code before it, during an upgrade, until the next refresh): those customers would sort
    apart and fall out of the pages, so the list sorts through the customer. One index seek.
    """
    # The class's index holds the copies in order with the missing ones at one end (the start
    # on SQLite, the end on PostgreSQL, read backwards): its first entry from there says.
    # (Asked as "any null?", PostgreSQL scanned the table: older runs' rows lack the copy.)
    copies = CustomerScore.objects.current().filter(**classes)
    from_missing = F("customer_created_at").desc(nulls_first=True) if connection.vendor == "postgresql" else \
        F("customer_created_at").asc()
    first = copies.order_by(from_missing).values_list("customer_created_at", flat=True)[:1]
    if list(first) == [None]:
        return queryset
    return queryset.annotate(**{CLASS_ORDER[0]: F(f"{relation}__customer_created_at"),
                                CLASS_ORDER[1]: F(f"{relation}__customer_id")})


# The join from a customer to its snapshot of the current run.
CURRENT_SCORE = "current_score"


def _current_run_id() -> Any:
    return ScoreRun.objects.filter(is_current=True).values_list("pk", flat=True).first()


def _joined_current_score(queryset: QuerySet, run_id: Any) -> QuerySet:
    """`queryset` with the join to the current snapshot, by the current run and the customer,
    once: a segment's filter and the list's columns share it when the filter comes first (a
    filter after the columns' outer join would add a second join, Django reusing no join in
    a later filter across a reverse relation). The snapshot's organization is the customer's,
    which lets the classes' indexes (run, class, organization, ...) serve a class condition."""
    if CURRENT_SCORE in queryset.query._filtered_relations:  # joined by a segment's filter
        return queryset
    return queryset.annotate(**{CURRENT_SCORE: FilteredRelation("scores", condition=Q(
        scores__run_id=run_id, scores__replaced=False, scores__organization=F("organization")))})


def with_current_score(queryset: QuerySet) -> QuerySet:
    """Annotate customers with their current CLV, churn risk, segment and class, for lists.

    One join to the current snapshot (`_joined_current_score`; outer, unless a segment's
    filter made it inner): the run-and-customer index serves it. A subquery per column let
    SQLite, which keeps no statistics, read the segment and class from the classes' covering
    indexes, scanning the whole run's entries for each customer listed (17 s a page at a
    million).
    """
    run_id = _current_run_id()
    if run_id is None:
        return queryset.annotate(
            score_clv=Value(None, FloatField()), score_churn_risk=Value(None, FloatField()),
            score_p_alive=Value(None, FloatField()), score_total_spend=Value(None, FloatField()),
            score_n_purchases=Value(None, IntegerField()),
            score_segment=Value(None, CharField()), score_class8=Value(None, CharField()),
            **{SCORED_CUSTOMER: Value(None, UUIDField())})
    return _joined_current_score(queryset, run_id).annotate(
        score_clv=F(f"{CURRENT_SCORE}__clv"),
        score_churn_risk=F(f"{CURRENT_SCORE}__churn_risk"),
        score_p_alive=F(f"{CURRENT_SCORE}__p_alive"),
        score_total_spend=F(f"{CURRENT_SCORE}__total_spend"),
        score_n_purchases=F(f"{CURRENT_SCORE}__n_purchases"),
        score_segment=F(f"{CURRENT_SCORE}__rfm_segment"),
        score_class8=F(f"{CURRENT_SCORE}__class8"),
        **{SCORED_CUSTOMER: F(f"{CURRENT_SCORE}__customer_id")},
    )


# The current values the customer list (?sort=) and the API (?ordering=) sort by: the key ->
# the annotation of `with_current_score` holding it. Unscored customers (null) come last in
# both directions, and the customer's id breaks ties, so a cursor pages through them all
# (`customers.selectors.score_sort`). The scored ones are read by the snapshot's value and
# customer id (`SCORED_CUSTOMER`): the current run's CLV index serves that order; the other
# values have no index (each costs a refresh's million-row insert), so a page sorts the
# customers one may see.
SCORED_CUSTOMER = "score_customer_id"
SCORE_SORTS = {"clv": "score_clv", "churn_risk": "score_churn_risk", "p_alive": "score_p_alive",
               "total_spend": "score_total_spend", "n_purchases": "score_n_purchases"}


def segment_list(*, user: Any) -> QuerySet:
    from patron.insights.models import Segment

    return Segment.objects.visible_to(user).select_related("owner").order_by("name")


def stored_count_shown(*, user: Any, segment: Any) -> int | None:
    """A segment's stored count as `user` may read it: it counts the customers its owner may
    see, so only the owner and those who see every customer read it (a manager shown a
    marketer's count would learn how many customers the whole organisation has)."""
    if segment.owner_id == user.pk or user.scope_for("customers.view") >= Scope.ORGANIZATION:
        return segment.last_count
    return None


def current_score(*, user: Any, customer: Customer) -> CustomerScore | None:
    return CustomerScore.objects.visible_to(user).current().filter(customer=customer).first()


def score_history(*, user: Any, customer: Customer, limit: int = 12) -> list[CustomerScore]:
    """The customer's snapshots, oldest first, one a date (the newest of those made on the same
    date: a rescore, a refresh run again), for the trend."""
    newest_first = Window(RowNumber(), partition_by=[F("as_of")], order_by=[F("created_at").desc(), F("pk").desc()])
    rows = (CustomerScore.objects.visible_to(user)
            .filter(run__in=ScoreRun.objects.holding_snapshots(), customer=customer)
            .annotate(nth_of_date=newest_first).filter(nth_of_date=1)
            .order_by("-as_of")[:limit])
    return list(reversed(rows))


# --- Managers ---------------------------------------------------------------------------------


def is_manager(user: Any) -> bool:
    """Dashboards, playbooks, churn list and refresh: customers.view over a subtree or more."""
    return bool(getattr(user, "is_authenticated", False)) and user.scope_for("customers.view") >= Scope.SUBTREE


def may_manage(user: Any) -> bool:
    """Edit playbooks, apply them and start a refresh: a manager, who may change the customers
    of a team or more and give them tasks. (Service staff may add tasks for anyone, but not
    decide how each class of customer is followed up.)"""
    return (is_manager(user) and user.scope_for("customers.change") >= Scope.SUBTREE
            and user.scope_for("tasks.add") >= Scope.SUBTREE)


def may_export(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.scope_for("customers.export") > Scope.NONE


def at_risk(*, user: Any, threshold: float = CHURN_RISK_THRESHOLD, limit: int = 100) -> list[dict]:
    """Visible customers at or above the risk threshold, ranked by value at risk (CLV x risk).

    Since risk <= 1, a customer's value at risk is at most its CLV: reading customers by CLV
    (the current-CLV index) can stop once the next CLV is below the `limit`-th best value at
    risk found, so the list costs a few index pages, not a sort of every customer at risk.
    """
    # Visibility through the customer (CustomerScore.visibility_paths): a join, no IN list.
    candidates = (
        CustomerScore.objects.visible_to(user)
        .current()
        .filter(churn_risk__gte=threshold, clv__isnull=False, customer__is_archived=False)
        .exclude(lifecycle="churned")
        .order_by("-clv", "pk")
        .values_list("pk", "clv", "churn_risk", "customer_id")
    )
    best: list[tuple[float, str, Any]] = []  # a min-heap of (value at risk, pk, customer)
    offset, chunk = 0, max(limit * 4, 200)
    while True:
        rows = list(candidates[offset : offset + chunk])
        for pk, clv, risk, customer_id in rows:
            heapq.heappush(best, (clv * risk, str(pk), customer_id))
            if len(best) > limit:
                heapq.heappop(best)
        offset += chunk
        if len(rows) < chunk or (len(best) >= limit and rows[-1][1] < best[0][0]):
            break
    values = {pk: v for v, pk, _ in best}
    # By key alone, outside the organisation's scope (the keys come from the scoped, visible
    # query above): with the organisation in the condition, SQLite's planner, without
    # statistics, walked all of the organisation's current scores by an index beginning with
    # it rather than look 100 keys up (1.4-2.4 s at a million customers).
    with tenancy.unscoped():
        scores = list(CustomerScore.objects.filter(pk__in=list(values)).select_related("customer", "customer__owner"))
    ranked = sorted(scores, key=lambda s: -values[str(s.pk)])
    return [
        {
            "score": s,
            "customer": s.customer,
            "value_at_risk": values[str(s.pk)],
            "reasons": reason_texts(s.churn_reasons, 3),
        }
        for s in ranked
    ]


def current_run() -> ScoreRun | None:
    return (
        # The pickled models can weigh megabytes; the dashboard needs only the report.
        ScoreRun.objects.filter(is_current=True)
        .defer("fitted_models")
        .first()
    )


def active_run() -> ScoreRun | None:
    return (
        ScoreRun.objects.filter(status__in=[ScoreRun.Status.QUEUED, ScoreRun.Status.RUNNING])
        .defer("fitted_models", "report")
        .order_by("-created_at")
        .first()
    )


def _rows(items: list[dict], kind: str) -> list[dict]:
    return [{**r, "label": labels.label_for(kind, r["key"]) if r["key"] else _("Not scored")} for r in items]


def dashboard(*, run: ScoreRun | None) -> dict:
    """The dashboard's data from a run's stored rollups: labelled, ready for the chart tags."""
    rollups = (run.report or {}).get("rollups") if run else None
    if not rollups:
        return {"run": run, "ready": False}
    scores = rollups["scores"]
    movement = rollups["movement"]
    keys = [k for k in labels.RFM_SEGMENTS]
    matrix = {(c["from"], c["to"]): c["n"] for c in movement["cells"]}
    moved = sum(n for (a, b), n in matrix.items() if a != b)
    return {
        "run": run,
        "ready": True,
        "segments": sorted(
            _rows(scores["rfm_segment"], "rfm_segment"),
            key=lambda r: keys.index(r["key"]) if r["key"] in keys else 99,
        ),
        "classes": _rows(scores["class8"], "class8"),
        "lifecycle": _rows(scores["lifecycle"], "lifecycle"),
        "clv_bands": scores["clv_bands"],
        "totals": scores["totals"],
        "risk_threshold": scores["risk_threshold"],
        "movement": {
            "has_previous": movement["previous_run"] is not None,
            "moved": moved,
            "labels": [labels.segment_label(k) for k in keys],
            "matrix": [[matrix.get((a, b), 0) for b in keys] for a in keys],
        },
        "monthly": _monthly(_complete(rollups["monthly"], run.as_of)),
        "cohorts": _cohorts(_complete_cohorts(rollups["cohorts"]["cohorts"], run.as_of)),
        "month_under_way": None if _month_ends(run.as_of) else run.as_of,
        "clv_band_rows": [{"label": _band_label(b), "n": b["n"]} for b in scores["clv_bands"]],
        "funnel": _funnel(rollups["funnel"]),
        "forecast": _forecast(rollups["forecast"]),
    }


def _band_label(band: dict) -> str:
    return f"{band['low']:,}+" if band["high"] is None else f"{band['low']:,}–{band['high']:,}"


def _month_ends(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


def _complete(months: list[dict], as_of: dt.date) -> list[dict]:
    """The months before the one under way: a week of December next to whole months read as
    a collapse of revenue."""
    return months if _month_ends(as_of) else months[:-1]


def _complete_cohorts(cohorts: list[dict], as_of: dt.date) -> list[dict]:
    """Cohorts without the month under way: each cohort's last cell is the current month, and
    the last cohort is only that month."""
    if _month_ends(as_of):
        return cohorts
    return [{**c, "active": c["active"][:-1]} for c in cohorts[:-1]]


def _monthly(months: list[dict]) -> list[dict]:
    """Add the purchase-behaviour measures: average order value, orders per active customer."""
    return [
        {
            **m,
            "aov": round(m["revenue"] / m["orders"], 2) if m["orders"] else 0.0,
            "per_customer": round(m["orders"] / m["active"], 2) if m["active"] else 0.0,
        }
        for m in months
    ]


def _cohorts(cohorts: list[dict]) -> dict:
    """The retention matrix in percent of each cohort's size (cohorts with no customers left out)."""
    kept = [c for c in cohorts if c["size"]]
    width = max([len(c["active"]) for c in kept] + [1])
    return {
        "rows": [f"{c['month']} ({c['size']})" for c in kept],
        "cols": [f"+{k}" for k in range(width)],
        "matrix": [[round(100 * n / c["size"], 1) for n in c["active"]] for c in kept],
    }


def _funnel(funnel: dict) -> dict:
    from patron.accounts.models import User

    names = {str(u.pk): str(u) for u in User.objects.filter(pk__in=[k for k in funnel["by_rep"] if k])}
    sources = dict(Source.choices)
    by_source = [{"label": sources.get(k, k or "—"), **v} for k, v in sorted(funnel["by_source"].items())]
    by_rep = [{"label": names.get(k, "—"), **v} for k, v in funnel["by_rep"].items()]
    stages = ("leads", "converted", "opportunities", "won")
    names_of = {
        "leads": _("Leads"),
        "converted": _("Converted leads"),
        "opportunities": _("Opportunities"),
        "won": _("Won deals"),
    }
    totals = [{"label": names_of[k], "n": sum(r[k] for r in by_source)} for k in stages]
    for r in by_source + by_rep:
        r["rate"] = round(100 * r["won"] / r["leads"], 1) if r["leads"] else None
    return {
        "days": funnel["days"],
        "totals": totals,
        "by_source": by_source,
        "by_rep": sorted(by_rep, key=lambda r: -r["won_amount"]),
    }


def _forecast(forecast: dict) -> dict:
    if not forecast.get("run"):
        return {"ready": False}
    rows = [{**r, "label": labels.segment_label(r["key"]) if r["key"] else "—"} for r in forecast["rows"]]
    predicted = sum(r["predicted_purchases"] for r in rows)
    actual = sum(r["actual_orders"] for r in rows)
    return {
        "ready": True,
        "as_of": forecast["as_of"],
        "days": forecast["days"],
        "rows": rows,
        "predicted": round(predicted, 1),
        "actual": actual,
        "error_pct": round(100 * (predicted - actual) / actual, 1) if actual else None,
    }
