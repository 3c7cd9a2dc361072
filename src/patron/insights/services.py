"""The value refresh: read purchases in bulk, run the science, write dated snapshots.

Also the triggered update of one customer, applying playbooks and raising churn alerts.
This package is the only bridge between the ORM and `patron.analytics`.
"""

import concurrent.futures
import contextlib
import contextvars
import datetime as dt
import logging
import pickle
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import polars as pl
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from patron.analytics import clustering, pipeline
from patron.analytics import signals as service_signals
from patron.analytics.churn import REASON_SCHEMA
from patron.analytics.errors import AnalyticsError
from patron.audit import services as audit
from patron.common import bulk, sqlite_out
from patron.customers.models import Customer
from patron.insights import actions, readers, tasks
from patron.insights.actions import CHURN_RISK_THRESHOLD
from patron.insights.models import CustomerScore, ScoreRun, ScoreRunDigest
from patron.organizations.models import Organization

logger = logging.getLogger(__name__)
# How many past refreshes keep their per-customer snapshots besides the current one (the
# snapshots of older ones are dropped by `history_prune`).
HISTORY_RUNS = 12
# Slices of snapshots inserted at once on PostgreSQL, each a COPY on a connection of its own
# (so the server parses and indexes them on as many cores); SQLite takes one writer at a time.
INSERT_STREAMS = 2
# The snapshots are scored and inserted in about this many slices of customers (none smaller
# than SLICE_MIN): the first slice's scoring and the last one's insert are not overlapped.
SLICES = 16
SLICE_MIN = 20_000
BASKET_DAYS = 365
SIGNAL_EFFECTS = service_signals.SignalEffects()  # complaints and lost contact (analytics.signals)

_TEXT_FIELDS = ("rfm_segment", "class8", "frequency_tier", "value_tier", "lifecycle", "cluster_label")
_FLOAT_FIELDS = ("p_alive", "expected_purchases", "expected_spend", "clv", "churn_risk")


def _json_list(column: str) -> pl.Expr:
    """A list of identifier-like strings (class keys, product UUIDs) as JSON array text."""
    inner = pl.col(column).list.eval(pl.element().cast(pl.String)).list.join('","')
    return pl.when(pl.col(column).list.len() > 0).then('["' + inner + '"]').otherwise(pl.lit("[]"))


def _json_reasons() -> pl.Expr:
    """The churn reasons as JSON text: small objects without nulls, floats rounded for display.

    Spelled out member by member: `struct.json_encode` and then stripping its nulls took twice
    as long (a million customers: 1.3-1.5 s against 0.7 s, the same text)."""
    reason = pl.element()
    members = [pl.lit('{"key":"'), reason.struct.field("key"), pl.lit('"')]
    for name, dtype in REASON_SCHEMA.to_schema().items():
        if dtype == pl.Float64:  # keys are identifiers: nothing to escape; NaN is no JSON
            value = reason.struct.field(name).round(3)
            members.append(pl.when(value.is_finite()).then(pl.lit(f',"{name}":') + value.cast(pl.String))
                           .otherwise(pl.lit("")))
    encoded = pl.col("churn_reasons").list.eval(pl.concat_str([*members, pl.lit("}")]))
    return pl.when(pl.col("churn_reasons").list.len() > 0).then("[" + encoded.list.join(",") + "]").otherwise(
        pl.lit("[]"))


def _snapshot_frame(org_id: uuid.UUID, run: ScoreRun | None, as_of: dt.date, frame: pl.DataFrame,
                    created: pl.DataFrame | None = None) -> pl.DataFrame:
    """The CustomerScore rows of `frame`, column by attname, as the database stores them, with
    the customers' creation times from `created` (`readers.read_customers_created`) unless
    `frame` has them.

    Built in polars (JSON columns as JSON text, non-finite numbers as null): a Python dict
    per customer was most of the write time of a million-customer refresh. The dashboard
    rollups are computed from this same frame, so they match the stored snapshots.
    """
    frame = frame.rename({"segment": "rfm_segment"})
    missing = [pl.lit(None, pl.List(pl.String)).alias(c) for c in ("classes", "recommendations")
               if c not in frame.columns]
    if "churn_reasons" not in frame.columns:
        missing.append(pl.lit(None, pl.List(REASON_SCHEMA)).alias("churn_reasons"))
    frame = frame.with_columns(missing)
    if "customer_created_at" not in frame.columns:
        frame = frame.join(created, on="customer_id", how="left")
    finite = {c: pl.when(pl.col(c).is_finite()).then(pl.col(c).cast(pl.Float64).round(6)) for c in _FLOAT_FIELDS}
    return frame.select(
        "customer_id",
        organization_id=pl.lit(str(org_id)), run_id=pl.lit(str(run.pk) if run else None, pl.String),
        as_of=pl.lit(as_of), replaced=pl.lit(False), customer_created_at=pl.col("customer_created_at"),
        n_purchases=pl.col("n_purchases"), total_spend=pl.col("total_spend").round(2),
        days_since_last=pl.col("days_since_last").round(1),
        r_score=pl.col("r_score"), f_score=pl.col("f_score"), m_score=pl.col("m_score"),
        **{c: pl.col(c).fill_null("") for c in _TEXT_FIELDS},
        cluster=pl.col("cluster"), **finite,
        classes=_json_list("classes"), recommendations=_json_list("recommendations"),
        churn_reasons=_json_reasons(),
    )


class _SnapshotWriter:
    """Inserts a run's snapshots slice by slice on threads of their own (each slice on a
    database connection of its own) while the caller scores the next slice: the models run on
    one core while the database takes the other.

    Nobody reads the new rows until the run is made current (`_make_current`), so nothing is
    retired here, and each slice commits on its own: a failure deletes the run's rows
    (`value_refresh`). In place instead of on a thread where `_in_place` says so.
    """

    def __init__(self, *, run: ScoreRun, slices: int) -> None:
        self.run, self.slices, self.done, self.seconds = run, slices, 0, 0.0
        self.lock = threading.Lock()
        streams = INSERT_STREAMS if connection.vendor == "postgresql" else 1
        self.pool = None if _in_place() else concurrent.futures.ThreadPoolExecutor(max_workers=streams)
        self.pending: list[concurrent.futures.Future] = []

    def put(self, snapshots: pl.DataFrame) -> None:
        for future in self.pending:  # a slice that failed stops the run now
            if future.done():
                future.result()
        if self.pool is None:
            self._insert(snapshots)
        else:
            self.pending.append(self.pool.submit(contextvars.copy_context().run, self._on_thread, snapshots))

    def _on_thread(self, snapshots: pl.DataFrame) -> None:
        try:
            if connection.vendor == "postgresql":
                # This connection's commits need not wait for the log to reach the disk: its rows
                # become visible only through `_make_current`'s ordinary commit, which flushes the
                # log up to itself, these rows with it. (Set for this connection alone, closed below.)
                with connection.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO OFF")
            self._insert(snapshots)
        finally:
            connection.close()  # this thread's own connection

    def _insert(self, snapshots: pl.DataFrame) -> None:
        began = time.perf_counter()
        # In the customers' creation order, the three class indexes (run, class, organization,
        # creation time, customer) each fill page by page instead of at random; the
        # per-customer index, smaller, takes its rows at random instead.
        bulk.insert_frame(CustomerScore, snapshots.sort("customer_created_at", "customer_id", nulls_last=True))
        with self.lock:
            self.done += 1
            self.seconds += time.perf_counter() - began
            progress = 60 + 30 * self.done // max(self.slices, 1)
        # On the writer's own connection (on SQLite, the one writer); never backwards, should
        # the other writer's slice land first.
        ScoreRun.objects.filter(pk=self.run.pk, progress__lt=progress).update(progress=progress)

    def finish(self) -> float:
        """Wait for every slice; the seconds the inserts took (added up, though they overlap)."""
        try:
            for future in self.pending:
                future.result()
        finally:
            self.close()
        return self.seconds

    def close(self) -> None:
        """Drop the slices not yet started (the run failed, or they are all in)."""
        if self.pool is not None:
            for future in self.pending:
                future.cancel()
            self.pool.shutdown(wait=True)
            self.pool = None


def history_prune() -> int:
    """Delete the snapshots (and digests) of the finished runs older than the history kept
    (HISTORY_RUNS besides the current run); return how many snapshots. Idempotent.

    A background task after each refresh (`tasks.history_prune_run`): deleting a run's
    million rows took 9 s on PostgreSQL, time the refresh need not wait for, since nobody
    reads an old run's rows but the customer's history, which names the runs still held.
    Call it inside the organisation's scope."""
    finished = (ScoreRun.objects.filter(status=ScoreRun.Status.DONE, is_current=False)
                .order_by("-as_of", "-created_at").values_list("pk", "snapshots_dropped"))
    dropped = [pk for pk, gone in list(finished)[HISTORY_RUNS:] if not gone]
    if not dropped:
        return 0
    with transaction.atomic():
        deleted, _ = CustomerScore.objects.filter(run__in=dropped).delete()
        ScoreRunDigest.objects.filter(run__in=dropped).delete()
        ScoreRun.objects.filter(pk__in=dropped).update(snapshots_dropped=True)
    return deleted


def _make_current(run: ScoreRun, digest: bytes, **fields: Any) -> None:
    """Finish the run, keep its digest and make its snapshots the current ones, in one step
    for readers."""
    with transaction.atomic():
        ScoreRunDigest.objects.create(organization_id=run.organization_id, run=run, frame=digest)
        ScoreRun.objects.filter(is_current=True).exclude(pk=run.pk).update(is_current=False)
        ScoreRun.objects.filter(pk=run.pk).update(is_current=True, **fields)


def _in_place() -> bool:
    """Whether work meant for a second connection must run on this one: inside a transaction
    (the tests: another connection would not see its rows) and on an in-memory SQLite database
    (the tests again: one shared cache, whose table locks a reader beside a writer would hit)."""
    return connection.in_atomic_block or (connection.vendor == "sqlite" and connection.is_in_memory_db())


@contextlib.contextmanager
def _beside(read: Callable[..., Any], seconds: dict[str, float], *, beside: bool = True,
            **kwargs: Any) -> Iterator[Callable[[], Any]]:
    """Run a reader on a second database connection while the caller goes on; yields the
    function that waits for its result. The basket lines are read beside the purchases (the
    server's scan and ADBC's decoding, or SQLite's child processes, run without the interpreter
    lock, on the machine's other core), and what the rollups read beside the models.

    The reader runs in place instead, when its frame is asked for, where `_in_place` says so
    or the caller says `beside=False`.
    """
    name = read.__name__.removeprefix("read_")
    if _in_place() or not beside:
        def when_asked() -> Any:
            began = time.perf_counter()
            frame = read(**kwargs)
            seconds[name] = time.perf_counter() - began
            return frame
        yield when_asked
        return

    def in_thread() -> Any:
        began = time.perf_counter()
        try:
            return read(**kwargs)
        finally:
            seconds[name] = time.perf_counter() - began
            connection.close()  # this thread's own connection

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(contextvars.copy_context().run, in_thread)
        yield future.result


def _lines_beside(organization: Organization) -> bool:
    """Whether the refresh reads the basket lines beside the purchases (see `value_refresh`)."""
    return connection.vendor != "sqlite" or sqlite_out.reads_in_children(table="orders_orderline",
                                                                        organization_id=organization.pk)


def _analyze_snapshots() -> None:
    """Fresh planner statistics after replacing every current snapshot (PostgreSQL only):
    without them the at-risk list and segment counts may pick a full scan until autovacuum."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE insights_customerscore")


def value_refresh(*, organization: Organization, as_of: dt.date | None = None, user: Any = None,
                  run: ScoreRun | None = None, options: pipeline.PipelineOptions | None = None) -> ScoreRun:
    """Score every customer of the organisation as of a date (today by default).

    Idempotent: running it twice for the same date replaces the current snapshots with equal
    ones. Call it inside the organisation's scope.
    """
    as_of = as_of or organization.today()
    if run is not None and run.status == ScoreRun.Status.DONE:
        return run  # a queued refresh delivered twice
    if run is not None and run.status == ScoreRun.Status.RUNNING:  # stopped midway (its worker killed)
        CustomerScore.objects.filter(run=run).delete()
    run = run or ScoreRun.objects.create(organization=organization, as_of=as_of, requested_by=user,
                                         model_version=pipeline.MODEL_VERSION)
    ScoreRun.objects.filter(pk=run.pk).update(status=ScoreRun.Status.RUNNING, started_at=timezone.now(), progress=5)
    try:
        t0 = time.perf_counter()
        # The models' lazily imported libraries load beside the reads, not in the first fit.
        threading.Thread(target=clustering.preload, daemon=True).start()
        read_steps: dict[str, float] = {}
        end = readers._day_bounds(as_of, organization.time_zone)
        # The basket lines are read beside the purchases, not beside the models: on two cores
        # the models lost the read's whole CPU time, while the purchases read barely slowed.
        # On SQLite this pays because large reads run in child processes (see sqlite_out):
        # two scans on threads of one process took longer than one after the other, so
        # lines too few for the children are read after the purchases instead.
        with _beside(readers.read_order_lines, read_steps, beside=_lines_beside(organization),
                     organization_id=organization.pk, since=end - dt.timedelta(days=BASKET_DAYS),
                     until=end) as lines:
            purchases = readers.read_purchases(organization_id=organization.pk, as_of=as_of, tz=organization.time_zone)
            read_steps["purchases"] = time.perf_counter() - t0
            signals = _read_signals(organization, as_of)
            read_s = time.perf_counter() - t0
            read_steps["signals"] = read_s - read_steps["purchases"]
            ScoreRun.objects.filter(pk=run.pk).update(progress=30)
            previous = ScoreRun.objects.filter(is_current=True).exclude(pk=run.pk).values_list("pk", flat=True).first()
            # What the dashboard rollups read (the previous run's digest, the funnel) is read
            # while the models run: beside the snapshot insert, SQLite served those reads only
            # between the insert's steps (rollups 28 s instead of 5 s), and before it they
            # held up the write (6-12 s). The monthly and cohort rollups, of the purchases
            # alone, are made then too: the fits leave part of the other core idle.
            with _beside(readers.rollup_inputs, read_steps, organization_id=organization.pk, as_of=as_of,
                         tz=organization.time_zone, run_id=run.pk, previous_run_id=previous,
                         purchases=purchases) as rollup_inputs, \
                    _beside(readers.read_customers_created, read_steps, organization_id=organization.pk) as created:
                scoring = pipeline.fit_customers(purchases, as_of=as_of, lines=lines, options=options)
                inputs, created_at = rollup_inputs(), created()
        ScoreRun.objects.filter(pk=run.pk).update(progress=60)
        # Churn risk and recommendations are scored a slice of customers at a time, in their
        # creation order (the order the snapshots are inserted in), while the database takes
        # the slice before.
        scoring.customers = scoring.customers.join(created_at, on="customer_id", how="left").sort(
            "customer_created_at", "customer_id", nulls_last=True)
        size = max(SLICE_MIN, -(-scoring.customers.height // SLICES))
        writer = _SnapshotWriter(run=run, slices=-(-scoring.customers.height // size))
        prepared_s, parts = 0.0, []
        try:
            for part in scoring.slices(size):
                began = time.perf_counter()
                part = service_signals.with_service_signals(part, signals, effects=SIGNAL_EFFECTS)
                parts.append(_snapshot_frame(organization.pk, run, as_of, part))  # creation times joined above
                prepared_s += time.perf_counter() - began
                writer.put(parts[-1])
            snapshots = pl.concat(parts, rechunk=False)
            del parts
            # The rollups need the frames and earlier runs, not the rows being written: they
            # are computed while the database takes the last slices.
            began = time.perf_counter()
            rollups = readers.rollups(organization_id=organization.pk, as_of=as_of, tz=organization.time_zone,
                                      run_id=run.pk, previous_run_id=previous, inputs=inputs,
                                      threshold=CHURN_RISK_THRESHOLD, purchases=purchases, snapshots=snapshots)
            rollups_s = time.perf_counter() - began
            waited = time.perf_counter()
            inserted_s = writer.finish()
            write_steps = {"prepare": prepared_s, "insert": inserted_s,
                           "insert_waited": time.perf_counter() - waited}
        finally:
            writer.close()
        t2 = time.perf_counter()
        _analyze_snapshots()
        write_steps["analyze"] = time.perf_counter() - t2
        # What the refresh spent on the write beside the models: preparing the rows, waiting
        # for the last slices and the statistics (the inserts themselves overlap the models).
        write_s = prepared_s + write_steps["insert_waited"] + write_steps["analyze"]
    except AnalyticsError as exc:
        _fail(run, str(exc))
        run.refresh_from_db()
        return run
    except Exception:  # e.g. a database error: no half-written run is left behind, and it is said
        with contextlib.suppress(DatabaseError):  # unless the connection itself is what failed
            # Stored in English, translated where it is shown (the page translates the error).
            _fail(run, gettext_noop("The refresh stopped on an internal error; the previous scores stay current."))
        raise
    report = {**scoring.report, "rollups": rollups,
              "database_s": {"read": round(read_s, 3), "write": round(write_s, 3), "rollups": round(rollups_s, 3),
                                 "read_steps": {k: round(v, 3) for k, v in read_steps.items()},
                                 "write_steps": {k: round(v, 3) for k, v in write_steps.items()}}}
    _make_current(
        run, readers.run_digest(snapshots), status=ScoreRun.Status.DONE, progress=100, finished_at=timezone.now(),
        n_customers=snapshots.height, report=_jsonable(report), fitted_models=pickle.dumps(scoring.models),
    )
    transaction.on_commit(lambda: tasks.history_prune_run.enqueue(str(organization.pk)))
    transaction.on_commit(lambda: tasks.segments_recount_run.enqueue(str(organization.pk)))
    # Without the pickled models just written, loaded if asked for.
    run = ScoreRun.objects.defer("fitted_models").get(pk=run.pk)
    if user is not None:
        audit.record("scores.refreshed", obj=run, user=user, data={"as_of": as_of, "customers": run.n_customers})
    return run


def _fail(run: ScoreRun, error: str) -> None:
    """Mark the run failed and delete whatever it wrote (never current: the rows would only
    take room)."""
    CustomerScore.objects.filter(run=run).delete()
    ScoreRun.objects.filter(pk=run.pk).update(status=ScoreRun.Status.FAILED, error=error, finished_at=timezone.now(),
                                              snapshots_dropped=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def _read_signals(organization: Organization, as_of: dt.date,
                  customer_ids: list[uuid.UUID] | None = None) -> pl.DataFrame:
    """Complaints and lost contact, to put on top of the purchase-based churn risk."""
    return readers.read_service_signals(organization_id=organization.pk, as_of=as_of, tz=organization.time_zone,
                                        complaint_days=SIGNAL_EFFECTS.complaint_days, customer_ids=customer_ids)


def latest_run(*, organization_id: uuid.UUID) -> ScoreRun | None:
    """The current run, if it has fitted models to rescore with."""
    return ScoreRun.objects.filter(is_current=True).exclude(fitted_models=b"").defer("fitted_models").first()


# The fitted models of the newest run this process has rescored with, by run. A run's models
# never change once written. (When they weighed 48 MB at a million customers, fetching them cost
# every triggered rescore half a second; pickled without their training data they are 0.12 MB,
# and unpickling is still worth doing once.)
_fitted: dict[uuid.UUID, dict[str, Any]] = {}


def _fitted_models(run: ScoreRun) -> dict[str, Any]:
    models = _fitted.get(run.pk)
    if models is None:
        blob = ScoreRun.objects.filter(pk=run.pk).values_list("fitted_models", flat=True).get()
        models = pickle.loads(bytes(blob))  # noqa: S301 - written by value_refresh, never by a user
        _fitted.clear()  # only the newest run's are kept
        _fitted[run.pk] = models
    return models


def customer_rescore(*, customer_id: uuid.UUID, organization: Organization, as_of: dt.date | None = None) -> CustomerScore | None:
    """Rescore one customer against the last refresh's fitted models (a triggered update).

    Only this customer's current snapshot changes; the population-level fits (segment edges,
    model parameters) stay those of the last full refresh, so scores stay comparable.
    """
    run = latest_run(organization_id=organization.pk)
    if run is None:
        return None
    as_of = as_of or organization.today()
    purchases = readers.read_purchases(organization_id=organization.pk, as_of=as_of, tz=organization.time_zone,
                                       customer_ids=[customer_id])
    if purchases.height == 0:
        return None
    frame = pipeline.rescore(_fitted_models(run), purchases, as_of=as_of)
    signals = _read_signals(organization, as_of, customer_ids=[customer_id])
    frame = service_signals.with_service_signals(frame, signals, effects=SIGNAL_EFFECTS)
    with transaction.atomic():
        # Two rescores of one customer at once would each keep their row current: take turns.
        list(Customer.objects.select_for_update().filter(pk=customer_id).values_list("pk"))
        CustomerScore.objects.current().filter(customer_id=customer_id).update(replaced=True)
        created = readers.read_customers_created(organization_id=organization.pk, customer_ids=[customer_id])
        bulk.insert_frame(CustomerScore, _snapshot_frame(organization.pk, run, as_of, frame, created))
    return CustomerScore.objects.current().get(customer_id=customer_id)


# --- Writes of the insight pages (segments, playbooks, refresh requests) ----------------------


def refresh_request(*, organization: Organization, user: Any, as_of: dt.date | None = None) -> ScoreRun:
    """Queue a value refresh; the task starts once the transaction commits. One at a time."""
    actions.require_manager(user)
    active = ScoreRun.objects.filter(status__in=[ScoreRun.Status.QUEUED, ScoreRun.Status.RUNNING]).first()
    if active is not None:
        return active
    run = ScoreRun.objects.create(organization=organization, as_of=as_of or organization.today(),
                                  requested_by=user, model_version=pipeline.MODEL_VERSION)
    audit.record("scores.refresh_requested", obj=run, user=user)
    transaction.on_commit(lambda: tasks.value_refresh_run.enqueue(str(run.pk), str(organization.pk)))
    return run


def segment_create(*, user: Any, name: str, conditions: list[dict], count: int) -> Any:
    from patron.insights.models import Segment

    segment = Segment.objects.create(organization_id=user.organization_id, owner=user, owner_team_id=user.team_id,
                                     name=name, conditions=conditions, last_count=count, evaluated_at=timezone.now())
    audit.record("segment.created", obj=segment, user=user, data={"conditions": conditions})
    return segment


def segment_update(*, segment: Any, user: Any, name: str, conditions: list[dict], count: int,
                   expected_version: int | None) -> None:
    """Change a segment; `count` is the editor's. A segment's stored count is its owner's (see
    `segment_counted`): someone else editing it has it counted again as the owner sees it."""
    from patron.common.services import model_update

    model_update(instance=segment, user=user, expected_version=expected_version, fields=["name", "conditions"],
                 data={"name": name, "conditions": conditions})
    if user.pk != segment.owner_id:
        count = _owners_count(segment)
    if count is not None:
        segment_counted(segment=segment, count=count)
    else:  # nobody to count it for: its last count was of the conditions before
        type(segment).objects.filter(pk=segment.pk).update(evaluated_at=None)
        segment.evaluated_at = None


def segment_counted(*, segment: Any, count: int) -> bool:
    """Record a re-evaluation: `count` is of the customers the segment's owner may see. (Counted
    as whoever looked, it would tell the others on the list of segments how many customers that
    person sees.) Only while the segment is the version counted: an edit meanwhile has its own
    count. Returns whether it was recorded."""
    now = timezone.now()
    recorded = type(segment).objects.filter(pk=segment.pk, version=segment.version).update(
        last_count=count, evaluated_at=now)
    if recorded:
        segment.last_count, segment.evaluated_at = count, now
    return bool(recorded)


def segments_recount() -> int:
    """Count every saved segment again, over the customers its owner may see: a background task
    after each refresh (`tasks.segments_recount_run`), since classes and values have moved, so
    that the list of segments tells their sizes as of the new scores. Idempotent; returns how
    many were counted. A segment whose owner has left, or whose conditions no longer hold (its
    page says so), keeps its last count. Call it inside the organisation's scope."""
    from patron.insights.models import Segment

    counted = 0
    for segment in Segment.objects.select_related("owner").order_by("pk"):
        count = _owners_count(segment)
        if count is not None and segment_counted(segment=segment, count=count):
            counted += 1
    return counted


def _owners_count(segment: Any) -> int | None:
    """How many customers the segment's owner may see meet its conditions; None when its owner
    has left or its conditions no longer hold."""
    from patron.insights import selectors

    if segment.owner is None or not segment.owner.is_active:
        return None
    try:
        conditions = selectors.parse_conditions(segment.conditions)
    except selectors.ConditionError:
        return None
    return selectors.segment_customers(user=segment.owner, conditions=conditions).count()


def segment_delete(*, segment: Any, user: Any) -> None:
    audit.record("segment.deleted", obj=segment, user=user, data={"name": segment.name})
    segment.delete()


def playbook_save(*, form: Any, user: Any, playbook: Any = None, expected_version: int | None = None) -> Any:
    """Create a playbook from a valid form, or update one (refusing a stale edit)."""
    from patron.common.services import model_update

    actions.require_manager(user)

    data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
    if playbook is None:
        playbook = form.save(commit=False)
        playbook.organization_id = user.organization_id
        playbook.save()
        audit.record("playbook.created", obj=playbook, user=user, data=data)
        return playbook
    model_update(instance=playbook, user=user, expected_version=expected_version, fields=list(data), data=data)
    return playbook
