"""What the batch writer does for speed keeps what it writes the same."""

import gc
import weakref
from types import SimpleNamespace

import pytest

from patron.common.models import search_text_of
from patron.customers.models import Customer
from patron.imports import batches, kinds, services
from patron.imports.kinds import KINDS
from patron.imports.models import ImportJob
from patron.sales.models import Lead


@pytest.mark.parametrize(
    "row",
    [
        {"number": "C000001", "name": "张伟", "phone": "+8613800138000", "email": "zw@example.com"},
        {"number": "C000002", "name": "Acme", "company_name": "ACME Ltd", "phone": "12-34 (5)"},
        {"number": "C000003", "name": "Ｊｏｈｎ", "phone": "+٣٤٥", "email": ""},
        {"number": "C000004", "name": "Li", "phone": ""},
        {"number": "C000005", "name": "Wang"},
    ],
)
def test_it_builds_the_search_text_the_model_would(row):
    record = SimpleNamespace(**{"phone": "", "email": "", "company_name": "", **row})
    rest = kinds._search_text(row)
    assert f"{row['number'].lower()} {rest}".strip() == search_text_of(record)["search_text"]
    # Drafts refuse a model with a search text of its own.
    assert Customer.build_search_text is search_text_of and Lead.build_search_text is search_text_of


def test_it_hands_the_heap_back_to_the_collector_when_an_import_fails(
    owner, tmp_path, write_csv, make_job, monkeypatch
):
    path = write_csv(tmp_path / "f.csv", [["name", "phone"]] + [[f"c{i}", f"1380000{i:04d}"] for i in range(9)])

    def lost_connection(creates, updates, ctx):
        raise ConnectionError("lost the database")

    job = services.import_run(job=make_job(owner, path), batch_size=3)
    assert job.status == ImportJob.Status.DONE and gc.get_freeze_count() == 0
    monkeypatch.setattr(KINDS["customers"], "write", lost_connection)
    with pytest.raises(ConnectionError):
        services.import_run(job=make_job(owner, path), batch_size=3)
    assert gc.get_freeze_count() == 0


def test_the_collector_waits_for_a_batchs_end_and_frees_its_cycles_there():
    class Node:
        pass

    assert gc.isenabled()
    with batches.settled_heap() as settle:
        assert not gc.isenabled()  # no full collection in the middle of a batch
        ring = Node()
        ring.other = Node()
        ring.other.other = ring  # cyclic garbage, as a batch may leave
        probe = ring.other
        gone = weakref.ref(probe)
        del ring, probe
        assert gone() is not None
        settle()
        assert gone() is None  # freed at the batch's end, not kept frozen until the run's
        assert gc.get_freeze_count() > 0
        with batches.settled_heap():  # another import overlapping this one
            pass
        assert not gc.isenabled() and gc.get_freeze_count() > 0  # this one's heap is still set aside
    assert gc.isenabled() and gc.get_freeze_count() == 0


@pytest.mark.parametrize("owner_rule", ["importer", "pool"])
def test_imported_customers_and_their_entries_are_stored_as_the_orm_stores_them(
    owner, tmp_path, write_csv, make_job, owner_rule
):
    """New customers' rows are made by the import's own encoder (`kinds.Drafts`; in the
    read-ahead process for large files into SQLite, compared in test_read_ahead): the stored
    columns must be those Django writes for the same values."""
    from django.db import connection

    from patron.audit import services as audit
    from patron.audit.models import AuditEntry

    rows = [
        ["客户名称", "手机", "邮箱", "省份", "生日", "公司", "联系人", "备注"],
        ["  张 伟 ", "138 0013 8000", "ZHANG.Wei@Example.COM", "广东", "1990年1月2日", "", "", "tab\there"],
        ["北京远航科技有限公司", "", "info@yh.example.com", "京", "", "北京远航科技有限公司", "李娜", ""],
        ["Wang", "+1 415 555 0100", "", "", "1991-02-30", "", "", ""],  # imported without the birthday
    ]
    job = services.import_run(job=make_job(owner, write_csv(tmp_path / "f.csv", rows), owner_rule=owner_rule))
    assert job.rows_created == 3 and job.values_left_out == 1
    skip = {"id", "number", "created_at", "updated_at", "search_text"}

    def stored(model, pk):
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT * FROM "{table}" WHERE id = %s AND organization_id = %s',
                [model._meta.pk.get_db_prep_value(pk, connection),
                 model._meta.get_field("organization").get_db_prep_value(owner.organization_id, connection)],
            )
            names = [c[0] for c in cursor.description]
            return {n: v for n, v in zip(names, cursor.fetchone(), strict=True) if n not in skip}

    for imported in Customer.objects.filter(number__startswith="C"):
        assert imported.search_text == search_text_of(imported)["search_text"]
        assert (imported.owner_id, imported.pooled_at is None) == (
            (owner.pk, True) if owner_rule == "importer" else (None, False)
        )
        values = {f.attname: getattr(imported, f.attname) for f in Customer._meta.concrete_fields}
        values.update(id=None, number=f"T{imported.number}")
        twin = Customer(**values)
        twin.save()
        assert stored(Customer, imported.pk) == stored(Customer, twin.pk)
        entry = AuditEntry.objects.get(object_id=str(imported.pk), action="customer.imported")
        reference = audit.record("customer.imported", obj=imported, user=owner, data={"import": job.pk})
        assert {k: v for k, v in stored(AuditEntry, entry.pk).items() if k != "object_id"} == {
            k: v for k, v in stored(AuditEntry, reference.pk).items() if k != "object_id"
        }


def test_the_writer_drafts_new_records_a_piece_at_a_time_in_file_order(
    owner, tmp_path, write_csv, make_job, monkeypatch
):
    """Rows not drafted ahead (PostgreSQL, small files, rows that took in a repeat of them)
    are drafted by the writer between the pieces it streams: numbers still follow the file."""
    from patron.audit.models import AuditEntry

    monkeypatch.setattr(kinds, "_DRAFT_PIECE", 7)
    rows = [["客户名称", "手机", "备注"]] + [[f"客户{i}", f"139{i:08d}", ""] for i in range(60)]
    for at in (41, 20, 5):  # repeats two rows after their first: folded into the record it makes
        rows.insert(at + 3, [f"客户{at}", f"139{at:08d}", "again"])
    job = services.import_run(job=make_job(owner, write_csv(tmp_path / "f.csv", rows)))
    assert (job.rows_created, job.rows_updated) == (60, 3)
    made = list(Customer.objects.order_by("number"))
    assert [c.number for c in made] == [f"C{n:06d}" for n in range(1, 61)]
    assert [c.name for c in made] == [f"客户{i}" for i in range(60)]
    assert all(c.search_text == search_text_of(c)["search_text"] for c in made)
    assert {c.notes for c in made if c.name in ("客户5", "客户20", "客户41")} == {"again"}
    entries = AuditEntry.objects.filter(action="customer.imported").values_list("object_id", flat=True)
    assert sorted(entries) == sorted(str(c.pk) for c in made)
