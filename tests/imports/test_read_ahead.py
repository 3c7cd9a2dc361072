"""The read-ahead process that cleans a large file's batches while the importer writes: the
import it feeds ends exactly as one cleaned in-process, and it never outlives the importer."""

import dataclasses

import pytest
from django.db import connection

from patron.audit.models import AuditEntry
from patron.common import tenancy
from patron.customers.models import Customer
from patron.imports import readahead, services

ROWS = 400


@pytest.fixture
def mixed_file(tmp_path, write_csv):
    """Valid rows, rows with a bad phone or date, and rows repeating earlier ones (in the
    same batch and in later ones)."""
    rows = [["客户名称", "手机", "生日", "备注"]]
    for i in range(ROWS):
        phone = "12345" if i % 37 == 5 else f"139{i:08d}"
        birthday = "2024-02-30" if i % 41 == 3 else f"{1960 + i % 40}年{1 + i % 12}月{1 + i % 28}日"
        rows.append([f"客户{i}", phone, birthday, ""])
    rows += [[f"客户{i}", f"+86 139{i:08d}", "", "再次"] for i in range(0, ROWS, 9)]
    rows.insert(5, ["客户1", "139 0000 0001", "", "同一批"])  # a repeat within the first batch
    return write_csv(tmp_path / "mixed.csv", rows)


def _outcome(job):
    customers = sorted(
        Customer.objects.values_list(
            "number", "phone", "name", "kind", "source", "search_text", "birthday", "notes", "version"
        )
    )
    rejections = sorted(job.rejections.values_list("row", "column", "reason"))
    entries = sorted(
        (action, repr_, data == {"import": str(job.pk)}, actor == job.created_by_id)
        for action, repr_, data, actor, id_ in AuditEntry.objects.filter(
            organization_id=job.organization_id, object_type="customers.customer"
        ).values_list("action", "object_repr", "data", "actor_id", "object_id")
        if Customer.objects.filter(pk=id_).exists()  # every entry names a customer
    )
    return (job.status, job.rows_created, job.rows_updated, job.rows_rejected), customers, rejections, entries


def _handing_over_after(first_batches: int, monkeypatch) -> list[int]:
    """Make the importer clean `first_batches` batches itself, then wait for the child and
    hand over; return the row numbers the child cleaned."""
    monkeypatch.setattr(services, "READ_AHEAD_MIN_BYTES", 0)
    asked, from_child = [], []
    real_ready, real_batches = readahead.ReadAhead.ready, readahead.ReadAhead.batches

    def ready(self):
        asked.append(1)
        return len(asked) > first_batches and real_ready(self, timeout=120)

    def batches(self, *, after):
        for numbers, cleaned, drafts in real_batches(self, after=after):
            if connection.vendor == "sqlite":  # new customers' rows were made there too
                assert len(drafts) == len(numbers)
            else:  # PostgreSQL's writer makes them as it streams them to the server
                assert drafts is None
            from_child.extend(numbers)
            yield numbers, cleaned, drafts

    monkeypatch.setattr(readahead.ReadAhead, "ready", ready)
    monkeypatch.setattr(readahead.ReadAhead, "batches", batches)
    return from_child


@pytest.mark.slow
@pytest.mark.parametrize("first_batches", [0, 2])
def test_it_imports_exactly_as_without_the_read_ahead_process(
    first_batches, owner, outsider, other_org, mixed_file, make_job, monkeypatch
):
    with tenancy.scope(other_org):  # the same file, cleaned in this process
        expected = _outcome(services.import_run(job=make_job(outsider, mixed_file), batch_size=50))
    from_child = _handing_over_after(first_batches, monkeypatch)
    job = services.import_run(job=make_job(owner, mixed_file), batch_size=50)
    assert _outcome(job) == expected
    status, created, updated, rejected = expected[0]
    # One entry per new and per changed customer; the repeat within a batch is folded into
    # the customer it repeats as it is made (counted as an update, with no entry of its own).
    assert len(expected[3]) == created + updated - 1
    assert status == "done" and created > 350 and updated > 40 and rejected > 10
    assert from_child[0] == 2 + 50 * first_batches and from_child[-1] == ROWS + 46 + 1


@pytest.mark.slow
def test_the_read_ahead_process_ends_with_the_importer(owner, mixed_file, make_job):
    job = make_job(owner, mixed_file)
    ahead = readahead.ReadAhead(services._read_ahead_plan(job, 50))
    ahead.close()  # before it was ready: as when the importer is killed while it starts
    assert ahead._process.exitcode == 0  # it saw the pipe close and stopped by itself
    started = readahead.ReadAhead(services._read_ahead_plan(job, 50))
    assert started.ready(timeout=120)
    batches = started.batches(after=0)
    assert next(batches)[0] == list(range(2, 52))
    started.close()  # midway, the child blocked sending the next batch
    assert started._process.exitcode == 0


@pytest.mark.slow
def test_it_cleans_every_batch_itself_when_the_read_ahead_process_cannot_start(
    owner, mixed_file, make_job, monkeypatch
):
    monkeypatch.setattr(services, "READ_AHEAD_MIN_BYTES", 0)
    real_plan, real_ready = services._read_ahead_plan, readahead.ReadAhead.ready

    def unreadable_plan(job, batch_size):
        return dataclasses.replace(real_plan(job, batch_size), path=str(mixed_file) + ".gone")

    monkeypatch.setattr(services, "_read_ahead_plan", unreadable_plan)
    monkeypatch.setattr(readahead.ReadAhead, "ready", lambda self: real_ready(self, timeout=120))
    job = services.import_run(job=make_job(owner, mixed_file), batch_size=50)
    assert job.status == "done" and job.rows_done == ROWS + 46


@pytest.mark.slow
def test_a_read_ahead_process_that_would_write_elsewhere_makes_nothing(owner, mixed_file, make_job):
    """It encodes new records' rows for the writer's database: if its own settings named
    another, the writer must make every batch itself."""
    plan = dataclasses.replace(services._read_ahead_plan(make_job(owner, mixed_file), 50), vendor="oracle")
    ahead = readahead.ReadAhead(plan)
    assert not ahead.ready(timeout=120)
    ahead.close()
