"""Reading purchase history out of the database in bulk, as polars frames.

Purchases are summed per customer and day in the database (the analytics merge same-day
purchases anyway), which cuts the rows crossing the wire; on PostgreSQL the result streams
through COPY, several times faster than fetching tuples.
"""

import datetime as dt
import io
import sqlite3
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import connection
from django.db.models import Count, Max, Q

from patron.activities.models import Interaction
from patron.analytics import rollups as analytics_rollups
from patron.common import copy_out, sqlite_out
from patron.customers.models import Customer
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


def read_purchases(*, organization_id: uuid.UUID, as_of: dt.date, tz: str,
                   customer_ids: list[uuid.UUID] | None = None) -> pl.DataFrame:
    """`customer_id` (UUID text), `date`, `amount`, `orders` per customer and purchase day up to as_of.

    The orders are read as they are and summed per local day here, on both databases: as fast
    as the server's GROUP BY alone on PostgreSQL (10M orders: 11 s against 17 s), and on SQLite
    minutes faster (its GROUP BY walked the date index and sorted in a temp B-tree).
    """
    end = _day_bounds(as_of, tz)
    if connection.vendor == "postgresql":
        # Only our own `only` fragment is interpolated; values are parameters.
        only = "" if customer_ids is None else " AND o.customer_id = ANY(%s)"
        sql = (
            "SELECT o.customer_id, o.ordered_at, o.total::float8 FROM orders_order o "  # noqa: S608
            f"WHERE o.organization_id = %s AND o.status IN (%s, %s) AND o.ordered_at < %s{only}"
        )
        params = [organization_id, *COUNTED, end, *([customer_ids] if customer_ids is not None else [])]
        # One customer's orders (a triggered rescore) are not worth a second connection.
        read = copy_out.read_frame if customer_ids is None else copy_out.copy_binary
        # The customer as its 16 bytes, given its text once per customer after the days are
        # summed: the server formats no UUIDs (10M orders, a million customers: 0.3-1.0 s less).
        orders = read(sql, params, {"customer_id": "uuid", "ordered_at": "timestamptz", "amount": "float8"})
        days = _by_local_day(orders, customer=pl.col("customer_id"), instant=pl.col("ordered_at"), tz=tz)
        return days.with_columns(_uuid_text_of_each(days["customer_id"]))
    if sqlite3.sqlite_version_info >= (3, 38):
        # The instant as seconds since 1970, which SQLite works out faster than polars parses
        # the text (10M orders: 1.5-2.4 s less CPU, the same days); unixepoch() is from 3.38.
        ordered_at, read_as = "unixepoch(t.ordered_at)", pl.Int64
        instant = pl.from_epoch("ordered_at", "s").dt.replace_time_zone("UTC")
    else:
        # CAST: the declared column type would make the driver hand out datetime objects.
        ordered_at, read_as, instant = "CAST(t.ordered_at AS TEXT)", pl.String, _sqlite_instant("ordered_at")
    columns = {"customer_id": "t.customer_id", "ordered_at": ordered_at, "amount": "CAST(t.total AS REAL)"}
    schema = {"customer_id": pl.String, "ordered_at": read_as, "amount": pl.Float64}
    where = "t.status IN (%s, %s) AND t.ordered_at < %s"
    params = [*COUNTED, _sqlite_time(end)]
    if customer_ids is None:  # everyone: the whole table, in CSV chunks
        orders = sqlite_out.read_table(table="orders_order", organization_id=organization_id, columns=columns,
                                       where=where, params=params, schema=schema)
    else:  # a triggered rescore: a few rows through the customer index
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(columns.values())} FROM orders_order t "  # noqa: S608
                           f"WHERE t.organization_id = %s AND {where} "
                           f"AND t.customer_id IN ({', '.join(['%s'] * len(customer_ids))})",
                           [organization_id.hex, *params, *(c.hex for c in customer_ids)])
            orders = pl.DataFrame(cursor.fetchall(), schema=schema, orient="row")
    return _by_local_day(orders, customer=_uuid_text("customer_id"), instant=instant, tz=tz)


def read_customers_created(*, organization_id: uuid.UUID,
                           customer_ids: list[uuid.UUID] | None = None) -> pl.DataFrame:
    """`customer_id` (UUID text) and `customer_created_at` of the organisation's customers, the
    time as the snapshots store it: a UTC datetime on PostgreSQL, the customer's own text on
    SQLite (compared as text there, so it is copied byte for byte)."""
    if connection.vendor == "postgresql":
        only = "" if customer_ids is None else " AND c.id = ANY(%s)"
        sql = f"SELECT c.id, c.created_at FROM customers_customer c WHERE c.organization_id = %s{only}"  # noqa: S608
        params = [organization_id, *([customer_ids] if customer_ids is not None else [])]
        read = copy_out.read_frame if customer_ids is None else copy_out.copy_binary
        frame = read(sql, params, {"customer_id": "uuid", "customer_created_at": "timestamptz"})
        return frame.with_columns(_uuid_text_of_each(frame["customer_id"]))
    columns = {"customer_id": "t.id", "customer_created_at": "CAST(t.created_at AS TEXT)"}
    schema = {"customer_id": pl.String, "customer_created_at": pl.String}
    if customer_ids is None:
        frame = sqlite_out.read_table(table="customers_customer", organization_id=organization_id,
                                      columns=columns, schema=schema)
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(columns.values())} FROM customers_customer t "  # noqa: S608
                           f"WHERE t.organization_id = %s AND t.id IN ({', '.join(['%s'] * len(customer_ids))})",
                           [organization_id.hex, *(c.hex for c in customer_ids)])
            frame = pl.DataFrame(cursor.fetchall(), schema=schema, orient="row")
    return frame.with_columns(_uuid_text("customer_id"))


def _by_local_day(orders: pl.DataFrame, *, customer: pl.Expr, instant: pl.Expr, tz: str) -> pl.DataFrame:
    """The orders' amounts and counts summed per customer and day in the organisation's zone.

    Summed in whole cents (order totals have two decimals): exact, so the same whatever order
    the group-by's threads add them in, where a float sum differed in the last bit between
    two runs on the same orders (and the value tiers compare spends exactly)."""
    cents = (pl.col("amount") * 100).round(0).cast(pl.Int64)
    return orders.lazy().group_by(customer.alias("customer_id"), date=instant.dt.convert_time_zone(tz).dt.date()).agg(
        amount=cents.sum() / 100, orders=pl.len()).collect()


def _uuid_text_of_each(column: pl.Series) -> pl.Series:
    """UUIDs as 16 bytes (PostgreSQL) or 32 hex digits (SQLite) to their dashed text, each
    distinct value converted once (a million customers, a few thousand products, in eleven
    million lines)."""
    if column.is_empty():  # replace_strict would hand back the input's type
        return pl.Series(column.name, [], dtype=pl.String)
    distinct = column.unique()
    hexed = distinct.bin.encode("hex") if distinct.dtype == pl.Binary else distinct
    dashed = hexed.alias("hex").to_frame().select(_uuid_text("hex"))["hex"]
    return column.replace_strict(distinct, dashed, return_dtype=pl.String)


def _sqlite_time(moment: dt.datetime) -> str:
    """A bound as SQLite stores times (UTC text): an offset would compare as text, hours off."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _sqlite_instant(column: str) -> pl.Expr:
    """SQLite's UTC text ('2026-01-02 03:04:05[.123456]') as an aware instant."""
    return pl.col(column).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", time_zone="UTC")


def read_service_signals(*, organization_id: uuid.UUID, as_of: dt.date, tz: str, complaint_days: int,
                         customer_ids: list[uuid.UUID] | None = None) -> pl.DataFrame:
    """Complaints and lost contact per customer as of a date (see analytics.signals).

    `complaints`: complaints logged in the last `complaint_days`; `days_since_complaint`: since
    the latest of them; `days_since_lost_contact`: since the customer was marked unreachable,
    null once reached again (an interaction marked reached, an inbound one, or an order since).
    Only customers with a signal get a row. One grouped query over the interactions that carry
    an outcome or came in, then the last order of the few customers it finds (joining every
    interaction to its customer first cost 4 s of a million-customer refresh on SQLite).
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
        .values("customer_id")
        .annotate(complaints=Count("pk", filter=complaint), last_complaint=Max("occurred_at", filter=complaint),
                  last_lost=Max("occurred_at", filter=Q(outcome=outcome.LOST_CONTACT)),
                  last_reached=Max("occurred_at", filter=reached))
        .filter(Q(complaints__gt=0) | Q(last_lost__isnull=False))
    )

    def days(moment: dt.datetime | None) -> float | None:
        return None if moment is None else round((end - moment).total_seconds() / 86400, 1)

    rows = list(rows)
    last_ordered = {}
    for i in range(0, len(rows), 2000):
        wanted = [row["customer_id"] for row in rows[i:i + 2000]]
        last_ordered.update(Customer.objects.filter(pk__in=wanted).values_list("pk", "last_ordered_at"))
    out = []
    for row in rows:
        lost = row["last_lost"]
        back = [t for t in (row["last_reached"], last_ordered.get(row["customer_id"])) if t is not None]
        if lost is not None and any(t >= lost for t in back):
            lost = None
        if row["complaints"] or lost is not None:
            out.append((str(row["customer_id"]), row["complaints"], days(row["last_complaint"]), days(lost)))
    return pl.DataFrame(out, orient="row", schema={
        "customer_id": pl.String, "complaints": pl.Int64, "days_since_complaint": pl.Float64,
        "days_since_lost_contact": pl.Float64,
    })


def read_order_lines(*, organization_id: uuid.UUID, since: dt.datetime, until: dt.datetime) -> pl.DataFrame:
    """`order_id`, `customer_id`, `product_id` of the orders in [since, until), for baskets.

    The lines' own copies of their order's customer and time (`OrderLine.customer`) make this
    one scan of the lines, with no join to the orders. `order_id` is only a key to group lines
    by (text on SQLite, the UUID's 16 bytes on PostgreSQL); the customer and product are UUID
    text.
    """
    if connection.vendor == "postgresql":
        # Millions of lines, read as raw UUIDs: formatting 34M UUIDs as text was a third of the
        # server's work (11M lines: 19-25 -> 13-14 s).
        sql = ("SELECT l.order_id, l.customer_id, l.product_id FROM orders_orderline l "
               "WHERE l.organization_id = %s AND l.ordered_at >= %s AND l.ordered_at < %s")
        lines = copy_out.read_frame(sql, [organization_id, since, until],
                                    dict.fromkeys(("order_id", "customer_id", "product_id"), "uuid"))
    else:  # keys as 32 hex digits
        lines = sqlite_out.read_table(
            table="orders_orderline", organization_id=organization_id,
            where="t.ordered_at >= %s AND t.ordered_at < %s", params=[_sqlite_time(since), _sqlite_time(until)],
            columns={"order_id": "t.order_id", "customer_id": "t.customer_id", "product_id": "t.product_id"},
            schema={"order_id": pl.String, "customer_id": pl.String, "product_id": pl.String})
    return lines.with_columns(_uuid_text_of_each(lines["customer_id"]), _uuid_text_of_each(lines["product_id"]))


# --- Rollups for the dashboards ---------------------------------------------------------------
# Small aggregates computed at each refresh and stored in run.report["rollups"], so the
# dashboards read a few kilobytes of JSON instead of scanning a million customers. Most come
# from the frames the refresh already holds (analytics.rollups); only the earlier runs' scores
# and the sales funnel are read here.

ROLLUP_MONTHS = 24
FUNNEL_DAYS = 365
FORECAST_HORIZON_DAYS = 90  # CustomerScore.expected_purchases is over the next 90 days


_COPY_KINDS = {pl.String: "text", pl.Float64: "float8", pl.Int64: "int8"}


def read_run_scores(*, organization_id: uuid.UUID, run_id: uuid.UUID, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """`customer_id` and the given score columns of one refresh's snapshots, as triggered
    rescores last left them (one row a customer)."""
    from patron.insights.models import CustomerScore

    schema = {"customer_id": pl.String, **columns}
    if connection.vendor == "postgresql":
        qn = connection.ops.quote_name
        kinds = {"customer_id": "uuid_text", **{c: _COPY_KINDS[dtype] for c, dtype in columns.items()}}
        # Only column names of the schema the caller wrote are interpolated.
        select = ", ".join(f"{qn(c)}::text" if kind == "uuid_text" else qn(c) for c, kind in kinds.items())
        sql = (f"SELECT {select} FROM insights_customerscore "  # noqa: S608
               "WHERE organization_id = %s AND run_id = %s AND NOT replaced")
        return copy_out.read_frame(sql, [organization_id, run_id], kinds)
    # SQLite: the run's rows, written together, through the run's index to find where they lie.
    qn = connection.ops.quote_name
    current = ("t.run_id = %s AND NOT t.replaced", [run_id.hex])
    frame = sqlite_out.read_table(table=CustomerScore._meta.db_table, organization_id=organization_id,
                                  columns={c: f"t.{qn(c)}" for c in schema}, schema=schema,
                                  where=current[0], params=current[1], span=current)
    return frame.with_columns(_uuid_text("customer_id"))


# What a run's digest keeps of each customer (ScoreRunDigest), besides `customer_id`.
DIGEST_COLUMNS = {"rfm_segment": pl.String, "expected_purchases": pl.Float64, "expected_spend": pl.Float64}


def run_digest(snapshots: pl.DataFrame) -> bytes:
    """The digest of a run whose snapshots are `snapshots` (as written), as Parquet bytes
    (24 MB at a million customers, the customer ids most of it)."""
    out = io.BytesIO()
    snapshots.select("customer_id", *DIGEST_COLUMNS).write_parquet(out, statistics=False)
    return out.getvalue()


def read_run_digest(*, organization_id: uuid.UUID, run_id: uuid.UUID, columns: list[str]) -> pl.DataFrame:
    """`customer_id` and the given DIGEST_COLUMNS of one run's snapshots, as triggered rescores
    last left them: the run's digest, with the customers rescored since taken from their rows
    (found by `score_run_rescored_idx`). A run kept no digest before digests existed: its
    snapshots are read whole."""
    from patron.insights.models import CustomerScore, ScoreRunDigest

    schema = {"customer_id": pl.String, **{c: DIGEST_COLUMNS[c] for c in columns}}
    blob = ScoreRunDigest.objects.filter(run_id=run_id).values_list("frame", flat=True).first()
    if blob is None:
        return read_run_scores(organization_id=organization_id, run_id=run_id, columns=schema)
    frame = pl.read_parquet(io.BytesIO(blob), columns=list(schema))
    in_run = CustomerScore.objects.filter(run_id=run_id)
    rescored = in_run.filter(replaced=True).values("customer_id")
    rows = [(str(pk), *rest) for pk, *rest in
            in_run.filter(replaced=False, customer_id__in=rescored).values_list("customer_id", *columns)]
    if not rows:
        return frame
    since = pl.DataFrame(rows, schema=schema, orient="row")
    return pl.concat([frame.join(since, on="customer_id", how="anti"), since])


def rollup_funnel(*, as_of: dt.date, tz: str, days: int = FUNNEL_DAYS) -> dict:
    """Lead -> converted -> opportunity -> won, by the lead's source and owner, for the leads of
    the last `days`: every stage counts the same leads (an opportunity is the one a lead was
    converted into, won when that opportunity was), so each stage holds at most the one before.
    Deals that came from no lead are not in it: the pipeline pages show those."""
    from django.db.models import Count, Q, Sum

    from patron.sales.models import Lead

    end = _day_bounds(as_of, tz)
    since = end - dt.timedelta(days=days)
    leads = Lead.objects.filter(created_at__gte=since, created_at__lt=end)
    converted = Q(status="converted")
    won = converted & Q(converted_opportunity__outcome="won")

    def grouped(field: str) -> dict[str, dict]:
        rows = leads.values(field).annotate(
            leads=Count("id"), converted=Count("id", filter=converted),
            opportunities=Count("converted_opportunity", filter=converted), won=Count("id", filter=won),
            won_amount=Sum("converted_opportunity__amount", filter=won),
        ).order_by()
        return {str(r[field] or ""): {"leads": r["leads"], "converted": r["converted"],
                                      "opportunities": r["opportunities"], "won": r["won"],
                                      "won_amount": float(r["won_amount"] or 0)} for r in rows}

    return {"days": days, "by_source": grouped("source"), "by_rep": grouped("owner_id")}


def _forecast_source(*, organization_id: uuid.UUID, as_of: dt.date,
                     run_id: uuid.UUID) -> tuple[Any, pl.DataFrame | None]:
    """The run whose forecast is checked (see `rollup_forecast`) and its digest."""
    from patron.insights.models import ScoreRun

    earlier = ScoreRun.objects.filter(status=ScoreRun.Status.DONE, as_of__lt=as_of).exclude(pk=run_id)
    horizon_ago = as_of - dt.timedelta(days=FORECAST_HORIZON_DAYS)
    run = (earlier.filter(as_of__lte=horizon_ago).order_by("-as_of", "-created_at").first()
           or earlier.order_by("-as_of", "-created_at").first())
    if run is None:
        return None, None
    return run, read_run_digest(organization_id=organization_id, run_id=run.pk, columns=list(DIGEST_COLUMNS))


def rollup_forecast(*, as_of: dt.date, source: tuple[Any, pl.DataFrame | None], purchases: pl.DataFrame,
                    snapshots: pl.DataFrame) -> dict:
    """Last period's forecast against what happened, by the RFM segment of that forecast.

    The forecast is the earlier run whose date is at least the horizon (90 days) before as_of,
    else the latest earlier run with an earlier date (`_forecast_source`); its 90-day expected
    purchases and spend for the customers still in `snapshots` (this refresh's) are scaled to
    the days that have elapsed and compared with the orders those customers placed since.
    """
    run, digest = source
    if run is None or digest is None:
        return {"run": None}
    # A digest still holds the customers merged away or deleted since: leave them out.
    forecast = digest.join(snapshots.select("customer_id"), on="customer_id", how="semi")
    if forecast.height == 0:
        return {"run": None}
    days = min((as_of - run.as_of).days, FORECAST_HORIZON_DAYS)
    rows = analytics_rollups.forecast_against_actual(forecast, purchases, made_on=run.as_of, days=days,
                                                     horizon_days=FORECAST_HORIZON_DAYS)
    return {"run": str(run.pk), "as_of": run.as_of.isoformat(), "days": days, "rows": rows}


@dataclass
class RollupInputs:
    """What the rollups need besides this refresh's snapshots: what they read from the database
    and what they make of the purchases alone (both while the models run)."""

    previous: pl.DataFrame | None  # the previous run's segments, for the movement
    funnel: dict
    forecast_source: tuple[Any, pl.DataFrame | None]
    monthly: list
    cohorts: dict


def rollup_inputs(*, organization_id: uuid.UUID, as_of: dt.date, tz: str, run_id: uuid.UUID,
                  previous_run_id: uuid.UUID | None, purchases: pl.DataFrame) -> RollupInputs:
    previous = (None if previous_run_id is None else
                read_run_digest(organization_id=organization_id, run_id=previous_run_id, columns=["rfm_segment"]))
    activity = analytics_rollups.activity(purchases, as_of=as_of)
    return RollupInputs(previous=previous, funnel=rollup_funnel(as_of=as_of, tz=tz),
                        forecast_source=_forecast_source(organization_id=organization_id, as_of=as_of, run_id=run_id),
                        monthly=analytics_rollups.monthly(activity, as_of=as_of, months=ROLLUP_MONTHS),
                        cohorts=analytics_rollups.cohorts(activity, as_of=as_of, months=ROLLUP_MONTHS))


def rollups(*, organization_id: uuid.UUID, as_of: dt.date, tz: str, run_id: uuid.UUID,
            previous_run_id: uuid.UUID | None, threshold: float, purchases: pl.DataFrame,
            snapshots: pl.DataFrame, inputs: RollupInputs | None = None) -> dict:
    """Every dashboard rollup of one refresh (call inside the organisation's scope).

    `purchases` is what the refresh read (read_purchases), `snapshots` what it wrote; `inputs`
    what `rollup_inputs` gave, when done beforehand (done here otherwise).
    """
    inputs = inputs or rollup_inputs(organization_id=organization_id, as_of=as_of, tz=tz, run_id=run_id,
                                     previous_run_id=previous_run_id, purchases=purchases)
    movement = {"previous_run": None, "cells": []}
    if inputs.previous is not None:
        movement = {"previous_run": str(previous_run_id),
                    "cells": analytics_rollups.movement(inputs.previous, snapshots)}
    return {
        "monthly": inputs.monthly,
        "cohorts": inputs.cohorts,
        "scores": analytics_rollups.scores(snapshots, threshold=threshold),
        "movement": movement,
        "funnel": inputs.funnel,
        "forecast": rollup_forecast(as_of=as_of, source=inputs.forecast_source, purchases=purchases,
                                    snapshots=snapshots),
    }
