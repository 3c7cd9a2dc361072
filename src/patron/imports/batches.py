"""One batch of an import: sorted into creates, updates and rejections, written all or nothing.

A batch commits its rows, their audit entries, their rejections and the job's new checkpoint
in one transaction, so a run that dies anywhere resumes after the last batch that landed.
"""

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from patron.audit import services as audit
from patron.imports import sqlite_wal
from patron.imports.kinds import Context, Key, Pending
from patron.imports.models import ImportJob, ImportRejection

Cleaned = tuple[dict[str, Any], list[tuple[str, str]]]  # (field values, problems)
# A batch: its rows' numbers in the file, the rows cleaned, and (for kinds that make new
# records' rows ahead, `kinds.Drafts`) each row's draft or None.
Batch = tuple[list[int], list[Cleaned], list[Any] | None]


class ImportInterrupted(RuntimeError):
    """Another run of the same job committed a batch first; this run stops without writing."""


def column_label(job: ImportJob, headers: list[str], field_name: str) -> str:
    """The file's header of the column mapped to `field_name`, for the person fixing it."""
    if field_name in job.mapping:
        index = job.mapping.index(field_name)
        return headers[index] if index < len(headers) else field_name
    return field_name


def classify(
    kind: Any, ctx: Context, row: int, data: dict[str, Any], problems: list[tuple[str, str]]
) -> tuple[Pending | None, list[tuple[str, str]]]:
    """Check one cleaned row: a Pending (pk set when it updates a record) with the lenient
    fields it goes without, or None and its problems."""
    left_out: list[tuple[str, str]] = []
    if problems:  # most rows have none
        left_out = [p for p in problems if p[0] in kind.lenient_fields]
        problems = [p for p in problems if p[0] not in kind.lenient_fields]
    if not problems:
        problems = kind.check(data, ctx)
    if problems:
        return None, problems + left_out
    pending = Pending(row, data)
    pending.keys = kind.keys(data, ctx)
    index = ctx.index
    for key in pending.keys:  # the first key that names a record decides
        if key in index:
            pending.pk = index[key]
            refusal = update_refusal(kind, ctx, pending, key)
            if refusal is not None:
                return None, [refusal, *left_out]
            break
    return pending, left_out


def update_refusal(kind: Any, ctx: Context, pending: Pending, key: tuple[str, str]) -> tuple[str, str] | None:
    """Why `pending` may not update the record its `key` matched, if it may not, named by
    the column that matched. Kinds with reasons of their own (an order's customer) say them."""
    if hasattr(kind, "update_refusal"):
        return kind.update_refusal(pending, key, ctx)
    if not kind.may_update(pending.pk, ctx):
        return (key[0], _("It matches a record you may not change."))
    return None


def left_out_reason(reason: str) -> str:
    return _("%(reason)s The row was imported without it.") % {"reason": reason}


@contextmanager
def bulk_writes() -> Iterator[None]:
    """On an SQLite file in WAL mode, checkpoint from a thread rather than at the import's
    own commits (see `sqlite_wal`)."""
    path = _sqlite_wal_file()
    if path is None:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        with sqlite_wal.BackgroundCheckpoints(path):
            yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(previous):d}")


def _sqlite_wal_file() -> Path | None:
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if name.startswith("file:") or name == ":memory:":  # in-memory databases have no log
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
    return Path(name) if mode == "wal" else None


class _Collector:
    """The imports running now in this process, and whether collection was on before the first
    began (`settled_heap`)."""

    runs = 0
    was_enabled = True
    lock = threading.Lock()


@contextmanager
def settled_heap() -> Iterator[Callable[[], None]]:
    """Keep Python's cycle collector off the run's growing in-memory index of keys, and out of
    the middle of a batch.

    The index gains a few objects per row, and every full collection walks all of them: at
    200,000 rows that was a tenth of the run. Calling the yielded function after each batch
    sets what survived it aside (`gc.freeze`), so collections look at one batch's objects.
    Even so, the collector ran a full collection every few thousand rows of a batch, over the
    batch's objects so far (py-spy: a tenth of a million-row import's writer). So automatic
    collection is off for the run; after each batch, one collection of the young objects (the
    batch's) frees its cyclic garbage before the survivors are set aside. Everything is handed
    back to the collector when the run ends.

    The collector is the process's: a worker runs one import at a time. Should two overlap
    (imports run in web threads when tasks run immediately, in development), only the last
    to end hands the heap back and turns collection on again.
    """
    with _Collector.lock:
        _Collector.runs += 1
        if _Collector.runs == 1:
            _Collector.was_enabled = gc.isenabled()
            gc.disable()

    def settle() -> None:
        gc.collect(1)
        gc.freeze()

    try:
        yield settle
    finally:
        with _Collector.lock:
            _Collector.runs -= 1
            if _Collector.runs == 0:
                gc.unfreeze()
                if _Collector.was_enabled:
                    gc.enable()


def batch_write(job: ImportJob, kind: Any, ctx: Context, batch: Batch, headers: list[str]) -> None:
    """Write one batch, its audit trail, its rejections and the checkpoint: all or nothing."""
    numbers = batch[0]
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        # Lock the job row: two workers running the same job cannot both commit a batch
        # starting at the same checkpoint (on SQLite the IMMEDIATE transaction serialises them).
        checkpoint = (
            ImportJob.objects.select_for_update()
            .filter(pk=job.pk)
            .values_list("checkpoint", flat=True)
            .get()
        )
        if checkpoint != job.checkpoint:
            raise ImportInterrupted(_("Another run of this import is in progress."))
        if outermost and connection.vendor == "postgresql":
            # Do not wait for the disk at each batch's commit. A server crash can lose the
            # last few batches, never part of one: their rows and the checkpoint go together,
            # so a resumed run writes them again. The job's final update waits as usual.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        creates, updates, rejections, merged = _sort(job, kind, ctx, batch, headers)
        created, updated = kind.write(creates, updates, ctx)
        # An update that changed nothing (a file imported again) is no update: the job's page
        # counts it as unchanged (`ImportJob.rows_unchanged`), as the preview said.
        changed = sum(p.changed for p in updates)
        for pending in creates + updates:
            for key in pending.keys:  # `_sort` gave each every key it may be found by
                ctx.index.setdefault(key, pending.pk)
        # Kinds that draft new records (`kinds.Drafts`) write their entries with them.
        audit.record_many(
            f"{kind.audit_prefix}.imported", objs=created, user=ctx.user, data={"import": job.pk}
        )
        audit.record_many(
            f"{kind.audit_prefix}.updated", objs=updated, user=ctx.user, data={"import": job.pk}
        )
        ImportRejection.objects.bulk_create(rejections, batch_size=1000)
        rejected_rows = len({r.row for r in rejections if not r.kept})
        left_out = sum(r.kept for r in rejections)
        ImportJob.objects.filter(pk=job.pk).update(
            rows_done=F("rows_done") + len(numbers),
            rows_created=F("rows_created") + len(creates),
            rows_updated=F("rows_updated") + changed + merged,
            rows_rejected=F("rows_rejected") + rejected_rows,
            values_left_out=F("values_left_out") + left_out,
            checkpoint=numbers[-1],
        )
    job.checkpoint = numbers[-1]
    job.rows_done += len(numbers)
    job.rows_created += len(creates)
    job.rows_updated += changed + merged
    job.rows_rejected += rejected_rows
    job.values_left_out += left_out


def _rejection(
    job: ImportJob, headers: list[str], row: int, problem: tuple[str, str], *, kept: bool
) -> ImportRejection:
    field_name, reason = problem
    return ImportRejection(
        organization_id=job.organization_id,
        job_id=job.pk,
        row=row,
        column=column_label(job, headers, field_name)[:255],
        reason=(left_out_reason(reason) if kept else reason)[:500],
        kept=kept,
    )


def _sort(
    job: ImportJob, kind: Any, ctx: Context, batch: Batch, headers: list[str]
) -> tuple[list, list, list, int]:
    """Split a batch into creates, updates and rejections; a row repeating an earlier row of
    the same batch is folded into it (counted as an update)."""
    creates: list[Pending] = []
    updates: list[Pending] = []
    rejections: list[ImportRejection] = []
    twins: dict[Any, Pending] = {}
    merged = 0
    numbers, cleaned, drafts = batch
    for i, (number, (data, problems)) in enumerate(zip(numbers, cleaned, strict=True)):
        pending, problems = classify(kind, ctx, number, data, problems)
        twin = _twin(twins, pending) if pending is not None and pending.pk is None else None
        refusal = twin and hasattr(kind, "repeat_refusal") and kind.repeat_refusal(twin, pending)
        if refusal:  # refused, rather than folded into a record it does not belong to
            pending, problems = None, [refusal]
        rejections.extend(_rejection(job, headers, number, problem, kept=pending is not None) for problem in problems)
        if pending is None:
            continue
        if pending.pk is not None:
            pending.keys = found_by(kind, ctx, pending)
            for key in pending.keys:  # a later row of the batch without its key cell finds it by them
                ctx.index.setdefault(key, pending.pk)
            updates.append(pending)
            continue
        if twin is None:
            creates.append(pending)
            twin = pending
            pending.draft = drafts[i] if drafts else None
        else:
            tags = ",".join(filter(None, [twin.data.get("tags"), pending.data.get("tags")]))
            twin.data.update({k: v for k, v in pending.data.items() if v not in ("", None)})
            if tags:  # tags add up; every other field takes the later row's value
                twin.data["tags"] = tags
            twin.draft = None  # made again from what it has now
            merged += 1
        for key in found_by(kind, ctx, pending):
            twins.setdefault(key, twin)
            if key not in twin.keys:
                twin.keys.append(key)
    return creates, updates, rejections, merged


def found_by(kind: Any, ctx: Context, pending: Pending) -> list[Key]:
    """The keys later rows find `pending`'s record by: those it matched on, and for kinds that
    match on more than one field (people: a row without its key cell falls back to the phone,
    e-mail or name) every other one its row gives."""
    if not hasattr(kind, "index_keys"):
        return pending.keys
    return pending.keys + [k for k in kind.index_keys(pending.data, ctx) if k not in pending.keys]


def _twin(twins: dict[Any, Pending], pending: Pending) -> Pending | None:
    """The earlier row of the batch that `pending` repeats (shares a key with), if any."""
    return next((twins[key] for key in pending.keys if key in twins), None)
