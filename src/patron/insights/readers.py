"""Reading purchase history out of the database in bulk, as polars frames.

Purchases are summed per customer and day in the database (the analytics merge same-day
purchases anyway), which cuts the rows crossing the wire; on PostgreSQL the result streams
through COPY, several times faster than fetching tuples.
"""

import datetime as dt
import io
import uuid
import zoneinfo

import polars as pl
from django.db import connection
from django.db.models import Count, Max, Q

from patron.activities.models import Interaction
from patron.orders.models import Order

COUNTED = (Order.Status.PLACED, Order.Status.PAID)


def _day_bounds(as_of: dt.date, tz: str) -> dt.datetime:
    """The first instant after `as_of` in the organisation's time zone."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=zoneinfo.ZoneInfo(tz))


def _uuid_text(column: str) -> pl.Expr:
    """SQLite stores UUIDs as 32 hex digits; give them the canonical dashed form."""
    c = pl.col(column)
    return pl.concat_str([c.str.slice(0, 8), c.str.slice(8, 4), c.str.slice(12, 4),
                          c.str.slice(16, 4), c.str.slice(20, 12)], separator="-").alias(column)


def _copy_frame(sql: str, params: list, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Run a query on PostgreSQL and read its rows into a frame through COPY's text format."""
    query = connection.ops.compose_sql(sql, params)
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
            for block in copy:
                buffer.write(block)
    buffer.seek(0)
    if buffer.getbuffer().nbytes == 0:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(buffer, separator="\t", has_header=False, new_columns=list(schema),
                       schema_overrides=schema)


def read_purchases(*, organization_id: uuid.UUID, as_of: dt.date, tz: str,
                   customer_ids: list[uuid.UUID] | None = None) -> pl.DataFrame:
    """`customer_id` (UUID text), `date`, `amount` per customer and purchase day up to as_of."""
    end = _day_bounds(as_of, tz)
    only = ""
    params: list = [tz, organization_id, list(COUNTED)[0], list(COUNTED)[1], end]
    if customer_ids is not None:
        only = " AND o.customer_id = ANY(%s)" if connection.vendor == "postgresql" else (
            " AND o.customer_id IN (" + ",".join(["%s"] * len(customer_ids)) + ")")
        params += [customer_ids] if connection.vendor == "postgresql" else [c.hex for c in customer_ids]
    if connection.vendor == "postgresql":
        sql = (
            "SELECT o.customer_id, (o.ordered_at AT TIME ZONE %s)::date AS day, SUM(o.total)::float8 "
            "FROM orders_order o WHERE o.organization_id = %s AND o.status IN (%s, %s) "
            f"AND o.ordered_at < %s{only} GROUP BY 1, 2"
        )
        return _copy_frame(sql, params, {"customer_id": pl.String, "date": pl.Date, "amount": pl.Float64})
    # SQLite: the time zone shift is done in Python on the (already day-summed-in-UTC) rows.
    offset_hours = _day_bounds(as_of, tz).utcoffset().total_seconds() / 3600
    sql = (
        "SELECT o.customer_id, date(o.ordered_at, %s) AS day, SUM(CAST(o.total AS REAL)) "
        "FROM orders_order o WHERE o.organization_id = %s AND o.status IN (%s, %s) "
        f"AND o.ordered_at < %s{only} GROUP BY 1, 2"
    )
    sqlite_params = [f"{offset_hours:+.0f} hours", organization_id.hex, *params[2:4], end.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"), *params[5:]]
    with connection.cursor() as cursor:
        cursor.execute(sql, sqlite_params)
        rows = cursor.fetchall()
    frame = pl.DataFrame(rows, schema={"customer_id": pl.String, "date": pl.String, "amount": pl.Float64}, orient="row")
    return frame.with_columns(_uuid_text("customer_id"), pl.col("date").str.to_date())


def read_service_signals(*, organization_id: uuid.UUID, as_of: dt.date, tz: str, complaint_days: int,
                         customer_ids: list[uuid.UUID] | None = None) -> pl.DataFrame:
    """Complaints and lost contact per customer as of a date (see analytics.signals).

    `complaints`: complaints logged in the last `complaint_days`; `days_since_complaint`: since
    the latest of them; `days_since_lost_contact`: since the customer was marked unreachable,
    null once reached again (an interaction marked reached, an inbound one, or an order since).
    Only customers with a signal get a row. One grouped query over the interactions that carry
    an outcome or came in.
    """
    end = _day_bounds(as_of, tz)
    since = end - dt.timedelta(days=complaint_days)
    outcome = Interaction.Outcome
    complaint = Q(outcome=outcome.COMPLAINT, occurred_at__gte=since)
    reached = Q(outcome=outcome.REACHED) | (Q(direction=Interaction.Direction.INBOUND) & ~Q(outcome=outcome.LOST_CONTACT))
    touches = Interaction.objects.filter(organization_id=organization_id, customer__isnull=False, occurred_at__lt=end)
    if customer_ids is not None:
        touches = touches.filter(customer_id__in=customer_ids)
    rows = (
        touches.filter(Q(outcome__in=[outcome.COMPLAINT, outcome.LOST_CONTACT, outcome.REACHED])
                       | Q(direction=Interaction.Direction.INBOUND))
        .values("customer_id", "customer__last_ordered_at")
        .annotate(complaints=Count("pk", filter=complaint), last_complaint=Max("occurred_at", filter=complaint),
                  last_lost=Max("occurred_at", filter=Q(outcome=outcome.LOST_CONTACT)),
                  last_reached=Max("occurred_at", filter=reached))
        .filter(Q(complaints__gt=0) | Q(last_lost__isnull=False))
    )

    def days(moment: dt.datetime | None) -> float | None:
        return None if moment is None else round((end - moment).total_seconds() / 86400, 1)

    out = []
    for row in rows:
        lost = row["last_lost"]
        back = [t for t in (row["last_reached"], row["customer__last_ordered_at"]) if t is not None]
        if lost is not None and any(t >= lost for t in back):
            lost = None
        if row["complaints"] or lost is not None:
            out.append((str(row["customer_id"]), row["complaints"], days(row["last_complaint"]), days(lost)))
    return pl.DataFrame(out, orient="row", schema={
        "customer_id": pl.String, "complaints": pl.Int64, "days_since_complaint": pl.Float64,
        "days_since_lost_contact": pl.Float64,
    })


def read_order_lines(*, organization_id: uuid.UUID, since: dt.datetime, until: dt.datetime) -> pl.DataFrame:
    """`order_id`, `customer_id`, `product_id` of the orders in [since, until), for baskets."""
    sql = (
        "SELECT l.order_id, o.customer_id, l.product_id FROM orders_orderline l "
        "JOIN orders_order o ON o.id = l.order_id "
        "WHERE l.organization_id = %s AND o.organization_id = %s AND o.ordered_at >= %s AND o.ordered_at < %s"
    )
    schema = {"order_id": pl.String, "customer_id": pl.String, "product_id": pl.String}
    if connection.vendor == "postgresql":  # millions of lines: COPY, not a Python tuple per row
        return _copy_frame(sql, [organization_id, organization_id, since, until], schema)
    key = organization_id.hex
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, key, since, until])
        rows = cursor.fetchall()
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    if frame.height:
        frame = frame.with_columns(_uuid_text("customer_id"), _uuid_text("order_id"), _uuid_text("product_id"))
    return frame


# --- Rollups for the dashboards ---------------------------------------------------------------
# Small aggregates computed in the database at each refresh and stored in run.report["rollups"],
# so the dashboards read a few kilobytes of JSON instead of scanning a million customers.

ROLLUP_MONTHS = 24
FUNNEL_DAYS = 365
FORECAST_HORIZON_DAYS = 90  # CustomerScore.expected_purchases is over the next 90 days
CLV_EDGES = (0, 100, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)


def _months_back(as_of: dt.date, months: int) -> dt.date:
    """The first day of the month `months - 1` months before as_of's month."""
    index = as_of.year * 12 + as_of.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_expr(column: str, tz: str, as_of: dt.date) -> tuple[str, list]:
    """SQL text of a timestamp column's month ("YYYY-MM") in the organisation's time zone."""
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE %s, 'YYYY-MM')", [tz]
    offset_hours = _day_bounds(as_of, tz).utcoffset().total_seconds() / 3600
    return f"strftime('%%Y-%%m', {column}, %s)", [f"{offset_hours:+.0f} hours"]


def _db_params(organization_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> list:
    if connection.vendor == "postgresql":
        return [organization_id, *COUNTED, start, end]
    fmt = "%Y-%m-%d %H:%M:%S"
    return [organization_id.hex, *COUNTED, start.astimezone(dt.UTC).strftime(fmt), end.astimezone(dt.UTC).strftime(fmt)]


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def rollup_monthly(*, organization_id: uuid.UUID, as_of: dt.date, tz: str, months: int = ROLLUP_MONTHS) -> list[dict]:
    """Revenue, orders and active customers per month for the last `months` months (to as_of)."""
    start = dt.datetime.combine(_months_back(as_of, months), dt.time(), tzinfo=zoneinfo.ZoneInfo(tz))
    month, month_params = _month_expr("o.ordered_at", tz, as_of)
    # Only our own month expression is interpolated; values travel as parameters.
    sql = (f"SELECT {month} AS m, SUM(o.total), COUNT(*), COUNT(DISTINCT o.customer_id) FROM orders_order o "  # noqa: S608
           "WHERE o.organization_id = %s AND o.status IN (%s, %s) AND o.ordered_at >= %s AND o.ordered_at < %s "
           "GROUP BY 1 ORDER BY 1")
    rows = {r[0]: r for r in _fetch(sql, month_params + _db_params(organization_id, start, _day_bounds(as_of, tz)))}
    out = []
    for i in range(months):
        key = _months_back(as_of, months - i).strftime("%Y-%m")
        row = rows.get(key)
        out.append({"month": key, "revenue": round(float(row[1]), 2) if row else 0.0,
                    "orders": int(row[2]) if row else 0, "active": int(row[3]) if row else 0})
    return out


def rollup_cohorts(*, organization_id: uuid.UUID, as_of: dt.date, tz: str, months: int = ROLLUP_MONTHS) -> dict:
    """Cohort retention: customers by month of first purchase, and how many bought k months later.

    Returns {"cohorts": [{"month", "size", "active": [n at offset 0, 1, ...]}]}; offset 0 is the
    cohort's own month, so active[0] == size.
    """
    end = _day_bounds(as_of, tz)
    month, month_params = _month_expr("ordered_at", tz, as_of)
    params = _db_params(organization_id, end, end)
    # Customer-months first (one row per customer and month bought), then each customer's first
    # month over all history: a customer who first bought before the window is no new cohort.
    sql = (
        f"WITH cm AS (SELECT DISTINCT customer_id, {month} AS m FROM orders_order "  # noqa: S608 (our expression)
        "  WHERE organization_id = %s AND status IN (%s, %s) AND ordered_at < %s), "
        "f AS (SELECT customer_id, MIN(m) AS cohort FROM cm GROUP BY customer_id) "
        "SELECT f.cohort, cm.m, COUNT(*) FROM cm JOIN f ON f.customer_id = cm.customer_id "
        "WHERE f.cohort >= %s GROUP BY 1, 2"
    )
    params = [*month_params, *params[:3], params[4], _months_back(as_of, months).strftime("%Y-%m")]
    counts: dict[str, dict[str, int]] = {}
    for cohort, bought, n in _fetch(sql, params):
        counts.setdefault(cohort, {})[bought] = int(n)
    keys = [_months_back(as_of, months - i).strftime("%Y-%m") for i in range(months)]
    cohorts = []
    for i, key in enumerate(keys):
        row = counts.get(key, {})
        active = [row.get(m, 0) for m in keys[i:]]
        cohorts.append({"month": key, "size": active[0], "active": active})
    return {"cohorts": cohorts}


def rollup_scores(*, threshold: float) -> dict:
    """Counts and value of the current snapshots by segment, class, lifecycle and CLV band."""
    from django.db.models import Case, Count, F, FloatField, IntegerField, Q, Sum, Value, When

    from patron.insights.models import CustomerScore

    current = CustomerScore.objects.filter(is_current=True)

    def by(field: str) -> list[dict]:
        rows = current.values(field).annotate(n=Count("id"), clv=Sum("clv"), spend=Sum("total_spend")).order_by(field)
        return [{"key": r[field] or "", "n": r["n"], "clv": round(r["clv"] or 0.0, 2),
                 "spend": round(r["spend"] or 0.0, 2)} for r in rows]

    whens = [When(clv__lt=edge, then=Value(i)) for i, edge in enumerate(CLV_EDGES[1:])]
    band = Case(*whens, default=Value(len(CLV_EDGES) - 1), output_field=IntegerField())
    bands = dict(current.filter(clv__isnull=False).annotate(band=band).values("band").annotate(n=Count("id"))
                 .order_by("band").values_list("band", "n"))
    risk = F("clv") * F("churn_risk")
    totals = current.aggregate(
        customers=Count("id"), total_clv=Sum("clv"),
        at_risk_n=Count("id", filter=Q(churn_risk__gte=threshold)),
        at_risk_clv=Sum("clv", filter=Q(churn_risk__gte=threshold)),
        expected_loss=Sum(risk, output_field=FloatField()),
    )
    return {
        "rfm_segment": by("rfm_segment"), "class8": by("class8"), "lifecycle": by("lifecycle"),
        "value_tier": by("value_tier"),
        "clv_bands": [{"low": CLV_EDGES[i], "high": CLV_EDGES[i + 1] if i + 1 < len(CLV_EDGES) else None,
                       "n": int(bands.get(i, 0))} for i in range(len(CLV_EDGES))],
        "totals": {k: (round(v, 2) if isinstance(v, float) else (v or 0)) for k, v in totals.items()},
        "risk_threshold": threshold,
    }


def rollup_movement(*, run_id: uuid.UUID, previous_run_id: uuid.UUID | None) -> dict:
    """How many customers moved from each RFM segment (previous run) to each (this run)."""
    from django.db.models import Count, OuterRef, Subquery

    from patron.insights.models import CustomerScore

    if previous_run_id is None:
        return {"previous_run": None, "cells": []}
    before = CustomerScore.objects.filter(run_id=previous_run_id, customer=OuterRef("customer"))
    before = before.values("rfm_segment")[:1]
    rows = (CustomerScore.objects.filter(is_current=True).annotate(before=Subquery(before))
            .values("before", "rfm_segment").annotate(n=Count("id")).order_by())
    cells = [{"from": r["before"] or "", "to": r["rfm_segment"] or "", "n": r["n"]}
             for r in rows if r["before"] is not None]
    return {"previous_run": str(previous_run_id), "cells": cells}


def rollup_funnel(*, as_of: dt.date, tz: str, days: int = FUNNEL_DAYS) -> dict:
    """Lead -> converted -> opportunity -> won, by source and by rep, for leads of the last `days`."""
    from django.db.models import Count, Q, Sum

    from patron.sales.models import Lead, Opportunity

    end = _day_bounds(as_of, tz)
    since = end - dt.timedelta(days=days)
    leads = Lead.objects.filter(created_at__gte=since, created_at__lt=end)
    opps = Opportunity.objects.filter(created_at__gte=since, created_at__lt=end)

    def grouped(field: str) -> dict[str, dict]:
        out: dict[str, dict] = {}
        converted = Count("id", filter=Q(status="converted"))
        for r in leads.values(field).annotate(leads=Count("id"), converted=converted).order_by():
            out.setdefault(str(r[field] or ""), {}).update(leads=r["leads"], converted=r["converted"])
        for r in opps.values(field).annotate(opportunities=Count("id"), won=Count("id", filter=Q(outcome="won")),
                                             won_amount=Sum("amount", filter=Q(outcome="won"))).order_by():
            out.setdefault(str(r[field] or ""), {}).update(opportunities=r["opportunities"], won=r["won"],
                                                           won_amount=float(r["won_amount"] or 0))
        zero = {"leads": 0, "converted": 0, "opportunities": 0, "won": 0, "won_amount": 0.0}
        return {k: {**zero, **v} for k, v in out.items()}

    return {"days": days, "by_source": grouped("source"), "by_rep": grouped("owner_id")}


def rollup_forecast(*, as_of: dt.date, tz: str, run_id: uuid.UUID) -> dict:
    """Last period's forecast against what happened, by the RFM segment of that forecast.

    The forecast is the earlier run whose date is at least the horizon (90 days) before as_of,
    else the latest earlier run with an earlier date; its 90-day expected purchases and spend
    are scaled to the days that have elapsed and compared with the orders placed since.
    """
    from django.db.models import Count, F, FloatField, OuterRef, Subquery, Sum

    from patron.insights.models import CustomerScore, ScoreRun
    from patron.orders.models import Order

    earlier = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, as_of__lt=as_of).exclude(pk=run_id)
    horizon_ago = as_of - dt.timedelta(days=FORECAST_HORIZON_DAYS)
    run = (earlier.filter(as_of__lte=horizon_ago).order_by("-as_of", "-created_at").first()
           or earlier.order_by("-as_of", "-created_at").first())
    if run is None or not CustomerScore.objects.filter(run_id=run.pk).exists():
        return {"run": None}
    days = min((as_of - run.as_of).days, FORECAST_HORIZON_DAYS)
    scale = days / FORECAST_HORIZON_DAYS
    start = _day_bounds(run.as_of, tz)
    end = start + dt.timedelta(days=days)
    predicted = (CustomerScore.objects.filter(run_id=run.pk).values("rfm_segment").order_by()
                 .annotate(purchases=Sum("expected_purchases"),
                           spend=Sum(F("expected_purchases") * F("expected_spend"), output_field=FloatField())))
    segment = CustomerScore.objects.filter(run_id=run.pk, customer=OuterRef("customer")).values("rfm_segment")[:1]
    actual = {r["seg"]: r for r in Order.objects.filter(status__in=COUNTED, ordered_at__gte=start, ordered_at__lt=end)
              .annotate(seg=Subquery(segment)).exclude(seg=None).values("seg").order_by()
              .annotate(orders=Count("id"), revenue=Sum("total"))}
    rows = []
    for r in predicted:
        done = actual.get(r["rfm_segment"], {})
        rows.append({"key": r["rfm_segment"], "predicted_purchases": round((r["purchases"] or 0) * scale, 1),
                     "actual_orders": int(done.get("orders", 0)),
                     "predicted_spend": round((r["spend"] or 0) * scale, 2),
                     "actual_revenue": round(float(done.get("revenue") or 0), 2)})
    return {"run": str(run.pk), "as_of": run.as_of.isoformat(), "days": days, "rows": rows}


def rollups(*, organization_id: uuid.UUID, as_of: dt.date, tz: str, run_id: uuid.UUID,
            previous_run_id: uuid.UUID | None, threshold: float) -> dict:
    """Every dashboard rollup of one refresh (call inside the organisation's scope)."""
    return {
        "monthly": rollup_monthly(organization_id=organization_id, as_of=as_of, tz=tz),
        "cohorts": rollup_cohorts(organization_id=organization_id, as_of=as_of, tz=tz),
        "scores": rollup_scores(threshold=threshold),
        "movement": rollup_movement(run_id=run_id, previous_run_id=previous_run_id),
        "funnel": rollup_funnel(as_of=as_of, tz=tz),
        "forecast": rollup_forecast(as_of=as_of, tz=tz, run_id=run_id),
    }
