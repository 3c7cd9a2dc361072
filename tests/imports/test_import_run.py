import csv
import datetime as dt
import io
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from patron.accounts import permissions
from patron.audit.models import AuditEntry
from patron.customers.models import Customer
from patron.imports import readers, services
from patron.imports.kinds import KINDS
from patron.imports.models import ImportJob
from tests.support import lines_out_of_step


@pytest.fixture
def messy_file(tmp_path, write_csv, messy_customers):
    return write_csv(tmp_path / "客户.csv", messy_customers, encoding="gbk")


def test_it_imports_a_messy_gbk_file_standardising_every_field(owner, messy_file, make_job):
    job = services.import_run(job=make_job(owner, messy_file), batch_size=3)
    assert (job.status, job.rows_total, job.rows_done) == ("done", 10, 10)
    # Row 7's birthday (2024-02-30) is no date: the customer comes in without it.
    assert (job.rows_created, job.rows_updated, job.rows_rejected, job.values_left_out) == (6, 1, 3, 1)
    assert Customer.objects.get(name="杨帆").birthday is None
    zhang = Customer.objects.get(phone="+8613800138000")
    assert (zhang.name, zhang.email, zhang.region) == ("张伟", "zhang.wei@example.com", "广东")
    assert zhang.birthday.isoformat() == "1990-01-02" and zhang.notes == "again"
    assert (
        zhang.owner == owner
        and zhang.owner_team_id == owner.team_id
        and zhang.number.startswith("C")
    )
    john = Customer.objects.get(email="john@example.com")
    assert (john.name, john.phone, john.birthday.isoformat()) == (
        "John Smith",
        "+862162345678",
        "2024-03-05",
    )
    assert Customer.objects.get(name="李娜").phone == "+8613900139000"


def test_it_reports_every_rejected_row_with_its_number_column_and_reason(
    owner, messy_file, make_job
):
    job = services.import_run(job=make_job(owner, messy_file), batch_size=3)
    rejected = list(job.rejections.order_by("row").values_list("row", "column", "reason"))
    assert [(row, column) for row, column, _ in rejected] == [
        (5, "手机"),
        (6, "邮箱"),
        (7, "生日"),
        (9, "客户名称"),
    ]
    assert "12345" in rejected[0][2] and "2024-02-30" in rejected[2][2]
    assert rejected[2][2].endswith("The row was imported without it.")
    assert list(job.rejections.filter(kept=True).values_list("row", flat=True)) == [7]


def test_it_offers_the_rejected_rows_as_a_file_that_imports_once_fixed(
    owner, messy_file, make_job, tmp_path
):
    job = services.import_run(job=make_job(owner, messy_file))
    text = services.rejected_rows_file(job=job).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].split(",")[1:5] == ["Imported", "客户名称", "手机", "邮箱"]
    # Row 7 came in without its birthday; the others did not come in.
    assert [row[:2] for row in csv.reader(io.StringIO(text))][1:] == [
        ["5", "no"], ["6", "no"], ["7", "yes, without these values"], ["9", "no"]
    ]
    fixed = text.replace(",12345,", ",13300133000,").replace("not-an-email", "chen@example.com")
    fixed = fixed.replace("2024-02-30", "2024-02-28").replace("\r\n9,no,,", "\r\n9,no,无名氏,")
    path = tmp_path / "fixed.csv"
    path.write_text(fixed, encoding="utf-8-sig")
    again = services.import_run(job=make_job(owner, path))
    assert (again.rows_created, again.rows_updated, again.rows_rejected) == (3, 1, 0)
    assert Customer.objects.count() == 9
    assert Customer.objects.get(name="杨帆").birthday == dt.date(2024, 2, 28)


def test_it_updates_instead_of_duplicating_when_the_same_file_is_imported_again(
    owner, messy_file, make_job
):
    services.import_run(job=make_job(owner, messy_file))
    numbers = set(Customer.objects.values_list("number", flat=True))
    again = services.import_run(job=make_job(owner, messy_file), batch_size=4)
    # The rows that matched change nothing: unchanged, not updated (as the preview says).
    assert (again.rows_created, again.rows_updated, again.rows_unchanged, again.rows_rejected) == (0, 0, 7, 3)
    assert set(Customer.objects.values_list("number", flat=True)) == numbers


def test_a_row_repeating_the_values_of_the_row_above_on_the_same_record_is_unchanged(owner, tmp_path, write_csv,
                                                                                    make_job):
    path = write_csv(tmp_path / "a.csv", [["客户名称", "手机", "城市"], ["甲公司", "13800000001", ""]])
    services.import_run(job=make_job(owner, path))
    again = write_csv(tmp_path / "b.csv", [["客户名称", "手机", "城市"], ["甲公司", "13800000001", "杭州"],
                                           ["甲公司", "13800000001", "杭州"]])
    job = services.import_run(job=make_job(owner, again))
    assert (job.rows_created, job.rows_updated, job.rows_unchanged) == (0, 1, 1)


def test_a_row_that_only_adds_a_tag_or_a_contact_is_an_audited_update(owner, tmp_path, write_csv, make_job):
    header = ["客户名称", "手机", "标签", "联系人"]
    first = write_csv(tmp_path / "a.csv", [header, ["甲公司", "13800000001", "VIP", ""],
                                           ["乙公司", "13800000002", "", ""], ["丙公司", "13800000003", "", ""]])
    services.import_run(job=make_job(owner, first))
    again = write_csv(tmp_path / "b.csv", [header, ["甲公司", "13800000001", "VIP, 华东", ""],
                                           ["乙公司", "13800000002", "", "李经理"], ["丙公司", "13800000003", "", ""]])
    job = services.import_run(job=make_job(owner, again))
    assert (job.rows_created, job.rows_updated, job.rows_unchanged) == (0, 2, 1)
    updated = AuditEntry.objects.filter(action="customer.updated", data__import=str(job.pk))
    assert sorted(updated.values_list("object_repr", flat=True)) == ["乙公司", "甲公司"]
    assert set(Customer.objects.get(name="甲公司").tags.values_list("name", flat=True)) == {"VIP", "华东"}
    # The same file once more adds nothing: every row is unchanged, and nothing is audited.
    third = services.import_run(job=make_job(owner, again))
    assert (third.rows_updated, third.rows_unchanged) == (0, 3)
    assert not AuditEntry.objects.filter(action="customer.updated", data__import=str(third.pk)).exists()


def test_it_matches_rows_to_existing_customers_by_normalised_phone(
    owner, customer, tmp_path, write_csv, make_job
):
    path = write_csv(
        tmp_path / "f.csv", [["姓名", "电话", "城市"], ["王芳", "+86 138-1234-1016", "杭州"]]
    )
    job = services.import_run(job=make_job(owner, path))
    assert (job.rows_created, job.rows_updated) == (0, 1)
    customer.refresh_from_db()
    assert (
        customer.city == "杭州"
        and customer.version == 2
        and customer.email == "wang.fang@example.com"
    )


def test_it_matches_on_the_key_the_user_picks(owner, customer, tmp_path, write_csv, make_job):
    rows = [["name", "email", "phone"], ["Wang Fang", "wang.fang@example.com", "13900001111"]]
    path = write_csv(tmp_path / "f.csv", rows)
    by_phone = services.import_run(job=make_job(owner, path, key_field="phone"))
    assert by_phone.rows_created == 1
    by_email = services.import_run(job=make_job(owner, path, key_field="email"))
    assert by_email.rows_updated == 1
    customer.refresh_from_db()
    assert customer.phone == "+8613900001111"


def test_it_refuses_to_change_a_customer_the_importer_may_not_change(
    teammate, customer, tmp_path, write_csv, make_job
):
    path = write_csv(tmp_path / "f.csv", [["name", "phone"], ["Wang", "13812341016"]])
    job = services.import_run(job=make_job(teammate, path))
    assert (job.rows_created, job.rows_rejected) == (0, 1)
    assert "may not change" in job.rejections.get().reason
    customer.refresh_from_db()
    assert customer.name == "王芳"


def test_it_refuses_importers_without_the_add_capability(viewer, messy_file, make_job):
    with pytest.raises(permissions.PermissionDenied):
        make_job(viewer, messy_file)


def test_it_refuses_empty_and_oversized_files(owner, tmp_path, make_job, monkeypatch):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ValidationError):
        make_job(owner, empty)
    monkeypatch.setattr(services, "MAX_UPLOAD_BYTES", 10)
    big = tmp_path / "big.csv"
    big.write_text("name\n" + "x\n" * 10)
    with pytest.raises(ValidationError):
        make_job(owner, big)


def test_it_audits_every_imported_and_updated_record(owner, messy_file, make_job):
    job = services.import_run(job=make_job(owner, messy_file))
    imported = AuditEntry.objects.filter(action="customer.imported", data__import=str(job.pk))
    assert imported.count() == 6
    assert set(imported.values_list("object_id", flat=True)) == {
        str(pk) for pk in Customer.objects.values_list("pk", flat=True)
    }
    assert AuditEntry.objects.filter(action="import.finished", object_id=str(job.pk)).exists()


def test_it_assigns_owners_from_a_column_or_leaves_records_in_the_pool(
    manager, teammate, other_team, tmp_path, write_csv, make_job
):
    rows = [
        ["name", "phone", "负责人"],
        ["A", "13800000001", "teammate"],
        ["B", "13800000002", "other_team"],
        ["C", "13800000003", "nobody"],
    ]
    path = write_csv(tmp_path / "f.csv", rows)
    job = services.import_run(job=make_job(manager, path, owner_rule="column"))
    assert Customer.objects.get(name="A").owner == teammate
    reasons = dict(job.rejections.values_list("row", "reason"))
    assert set(reasons) == {3, 4}  # other_team is outside the manager's teams; nobody is no one
    pooled = services.import_run(
        job=make_job(manager, write_csv(tmp_path / "p.csv", [["name"], ["D"]]), owner_rule="pool")
    )
    d = Customer.objects.get(name="D")
    assert pooled.rows_created == 1 and d.owner is None and d.pooled_at is not None


def test_new_records_are_shared_in_turn_among_a_teams_members(
    manager, owner, teammate, other_team, teams, customer, tmp_path, write_csv, make_job
):
    # A manager shares a trade fair's leads among team A (manager, owner, teammate): each new
    # record goes to the next member; a row matching an existing customer keeps its owner.
    rows = [["name", "phone"], *[[f"展会{i}", f"1390000{i:04d}"] for i in range(9)], ["王芳", "13812341016"]]
    path = write_csv(tmp_path / "fair.csv", rows)
    job = make_job(manager, path, owner_rule="team", owner_team=teams["a"])
    assert job.owner_team == teams["a"]
    job = services.import_run(job=job, batch_size=4)  # the turn runs on across batches
    assert (job.rows_created, job.rows_updated, job.rows_unchanged) == (9, 0, 1)
    new = Customer.objects.filter(name__startswith="展会")
    shares = Counter(new.values_list("owner__username", flat=True))
    assert shares == {"manager": 3, "owner": 3, "teammate": 3}
    assert set(new.values_list("owner_team", flat=True)) == {teams["a"].pk}
    customer.refresh_from_db()
    assert customer.owner == owner
    # A rep may not give records away, and a team of nobody the importer may give to is refused.
    with pytest.raises(ValidationError) as refused:
        make_job(owner, path, owner_rule="team", owner_team=teams["a"])
    assert "owner_team" in refused.value.message_dict
    with pytest.raises(ValidationError):
        make_job(manager, path, owner_rule="team", owner_team=teams["b"])
    with pytest.raises(ValidationError):
        make_job(manager, path, owner_rule="team")
    # Set up by an administrator on a rep's job: checked as the rep, who runs it.
    from patron.accounts.services import user_create

    admin = user_create(organization=owner.organization, username="boss", password="x" * 20, roles=["admin"])
    job = make_job(owner, path)
    with pytest.raises(ValidationError):
        services.import_configure(job=job, user=admin, columns=job.mapping, key_field="",
                                  owner_rule="team", day_first=False, owner_team=teams["a"])
    products = write_csv(tmp_path / "p.csv", [["商品编码", "商品名称"], ["TEA-1", "龙井"]])
    with pytest.raises(ValidationError) as ownerless:  # products have no owners to share
        make_job(admin, products, kind="products", owner_rule="team", owner_team=teams["a"])
    assert "owner_rule" in ownerless.value.message_dict


def test_the_owner_column_knows_people_by_the_names_a_team_writes(
    manager, teammate, owner, tmp_path, write_csv, make_job
):
    teammate.display_name, teammate.first_name, teammate.last_name = "王磊 Wang Lei", "磊", "王"
    teammate.save()
    owner.display_name = "王磊 Wang Lei (east)"  # a second 王磊: that name is nobody's alone
    owner.save()
    rows = [
        ["name", "负责人"],
        ["A", "Wang Lei"],
        ["B", "teammate"],
        ["C", "王磊 Wang Lei"],
        ["D", "王磊"],
    ]
    job = services.import_run(job=make_job(manager, write_csv(tmp_path / "f.csv", rows), owner_rule="column"))
    assert {c.name: c.owner for c in Customer.objects.all()} == {"A": teammate, "B": teammate, "C": teammate}
    assert list(job.rejections.values_list("row", flat=True)) == [5]


def test_it_resumes_a_killed_import_with_exactly_the_right_rows(
    owner, tmp_path, write_csv, make_job, monkeypatch
):
    rows = (
        [["name", "phone"]]
        + [[f"客户{i}", f"1380000{i:04d}"] for i in range(10)]
        + [["客户3", "13800000003"]]
    )
    path = write_csv(tmp_path / "f.csv", rows)
    kind = KINDS["customers"]
    real_write, calls = kind.write, []

    def crash_in_third_batch(creates, updates, ctx):
        calls.append(1)
        result = real_write(creates, updates, ctx)
        if len(calls) == 3:  # rows of this batch are written, then the process "dies"
            raise ConnectionError("lost the database")
        return result

    monkeypatch.setattr(kind, "write", crash_in_third_batch)
    job = make_job(owner, path)
    with pytest.raises(ConnectionError):
        services.import_run(job=job, batch_size=3)
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.status, job.rows_done, job.checkpoint, Customer.objects.count()) == (
        "failed",
        6,
        7,
        6,
    )
    services.import_run(job=job, batch_size=3)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_created, job.rows_unchanged) == ("done", 11, 10, 1)
    assert Customer.objects.count() == 10
    assert sorted(Customer.objects.values_list("phone", flat=True)) == [
        f"+861380000{i:04d}" for i in range(10)
    ]
    assert AuditEntry.objects.filter(action="customer.imported").count() == 10


def test_it_runs_a_finished_job_again_without_writing_anything(owner, messy_file, make_job):
    job = services.import_run(job=make_job(owner, messy_file))
    before = Customer.objects.count()
    job = services.import_run(job=job)
    assert (job.status, job.rows_created, Customer.objects.count()) == ("done", 6, before)


def test_it_imports_companies_with_their_contacts_and_tags(owner, tmp_path, write_xlsx, make_job):
    path = write_xlsx(
        tmp_path / "companies.xlsx",
        [
            ["公司名称", "联系人", "职位", "联系人电话", "标签"],
            ["杭州茶叶有限公司", "周杰", "采购", "13700001111", "VIP、批发"],
            ["杭州茶叶有限公司", "周杰", "采购", "13700001111", "VIP"],
        ],
    )
    job = make_job(owner, path)
    assert job.mapping == ["company_name", "contact_name", "contact_title", "contact_phone", "tags"]
    job = services.import_run(job=job)
    company = Customer.objects.get()
    assert (company.kind, company.name, job.rows_updated) == ("company", "杭州茶叶有限公司", 1)
    assert [(c.name, c.phone) for c in company.contacts.all()] == [("周杰", "+8613700001111")]
    assert sorted(company.tags.values_list("name", flat=True)) == ["VIP", "批发"]


def test_it_imports_a_vcard_file(owner, tmp_path, make_job):
    path = tmp_path / "phone.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:周;杰;;;\r\nFN:周杰\r\nTEL;TYPE=CELL:137 0000 2222\r\n"
        "EMAIL:zhou@example.com\r\nADR:;;西湖路1号;杭州;浙江省;;中国\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    job = services.import_run(job=make_job(owner, path))
    zhou = Customer.objects.get()
    assert (job.rows_created, zhou.name, zhou.phone, zhou.region, zhou.city) == (
        1,
        "周杰",
        "+8613700002222",
        "浙江",
        "杭州",
    )


def test_a_vcard_keeps_a_birthday_without_year_and_the_job_title_of_a_person(
    owner, tmp_path, make_job
):
    # Phones store a birthday without its year ("--0415"); a person's card has a job title
    # but no contact person. Neither may cost the contact, nor be dropped.
    path = tmp_path / "phone.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:孙丽\r\nORG:杭州茶叶有限公司\r\nTITLE:采购经理\r\n"
        "TEL;TYPE=cell:13700003333\r\nBDAY:--0415\r\nNOTE:老客户介绍\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    job = make_job(owner, path)
    assert job.mapping[readers.VCARD_COLUMNS.index("TITLE")] == "title"
    job = services.import_run(job=job)
    sun = Customer.objects.get()
    assert (job.rows_created, job.rows_rejected) == (1, 0)
    assert (sun.kind, sun.company_name, sun.title, sun.birthday) == (
        "person", "杭州茶叶有限公司", "采购经理", None
    )
    assert sun.notes.splitlines() == ["老客户介绍", "Birthday 04-15 (no year given)"]
    assert not sun.contacts.exists()


def test_a_job_title_mapped_to_a_contact_with_no_contact_person_is_the_customers_own(
    owner, tmp_path, write_csv, make_job
):
    path = write_csv(tmp_path / "t.csv", [["姓名", "手机", "职位"], ["赵雷", "13900002222", "店长"]])
    job = make_job(
        owner, path, mapping_names={"姓名": "name", "手机": "phone", "职位": "contact_title"}
    )
    services.import_run(job=job)
    assert Customer.objects.values_list("name", "title").get() == ("赵雷", "店长")


def test_it_imports_leads_products_and_orders(
    owner, customer, product, tmp_path, write_csv, make_job
):
    from patron.catalog.models import Product
    from patron.orders.models import Order
    from patron.sales.models import Lead

    leads = write_csv(
        tmp_path / "l.csv", [["姓名", "手机", "预计金额"], ["赵雷", "13900001111", "¥5,000"]]
    )
    assert services.import_run(job=make_job(owner, leads, kind="leads")).rows_created == 1
    assert Lead.objects.get().estimated_value == 5000
    products = write_csv(
        tmp_path / "p.csv",
        [
            ["商品编码", "商品名称", "单价"],
            ["TEA-001", "龙井", "98"],
            ["TEA-002", "碧螺春", "1.234,50"],
        ],
    )
    with pytest.raises(permissions.PermissionDenied):
        make_job(owner, products, kind="products")  # reps cannot add products
    orders = write_csv(
        tmp_path / "o.csv",
        [
            ["订单号", "手机", "下单时间", "金额", "商品编码", "数量"],
            ["A-1", "13812341016", "2024年3月5日 14:30", "¥176.00", "TEA-001", "2"],
            ["A-2", "13812341016", "2024/3/6", "88", "", ""],
            ["A-3", "13999999999", "2024/3/6", "88", "", ""],
        ],
    )
    job = services.import_run(job=make_job(owner, orders, kind="orders", key_field="external_ref"))
    assert (job.rows_created, job.rows_rejected) == (2, 1)
    first = Order.objects.get(external_ref="A-1")
    assert first.total == 176 and first.lines.get().quantity == 2 and first.customer == customer
    customer.refresh_from_db()
    assert customer.last_ordered_at == dt.datetime(2024, 3, 6, tzinfo=ZoneInfo("Asia/Shanghai"))
    again = services.import_run(
        job=make_job(owner, orders, kind="orders", key_field="external_ref")
    )
    assert (again.rows_created, again.rows_updated, again.rows_unchanged, Order.objects.count()) == (0, 0, 2, 2)
    assert Product.objects.count() == 1
    # A corrected time in a re-import moves the order and its lines' copy of it.
    moved = write_csv(tmp_path / "o2.csv", [["订单号", "手机", "下单时间", "金额"],
                                            ["A-1", "13812341016", "2024/3/9", "176"]])
    services.import_run(job=make_job(owner, moved, kind="orders", key_field="external_ref"))
    line = Order.objects.get(external_ref="A-1").lines.get()
    assert line.ordered_at == dt.datetime(2024, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai")) and line.customer == customer
    assert lines_out_of_step() == []


def test_a_lead_with_a_negative_estimated_value_is_rejected_as_the_lead_service_would(
    owner, tmp_path, write_csv, make_job
):
    from patron.sales.models import Lead

    leads = write_csv(tmp_path / "l.csv", [["姓名", "手机", "预计金额"], ["赵雷", "13900001111", "-100"],
                                           ["钱多", "13900002222", "100"]])
    job = services.import_run(job=make_job(owner, leads, kind="leads"))
    assert (job.rows_created, job.rows_rejected) == (1, 1)
    assert list(job.rejections.values_list("row", "column", "reason")) == [
        (2, "预计金额", "The estimated value cannot be negative.")]
    assert list(Lead.objects.values_list("name", flat=True)) == ["钱多"]


def test_it_previews_the_first_rows_with_their_problems(owner, customer, messy_file, make_job):
    job = make_job(owner, messy_file)
    preview = services.import_prepare(job=job, user=owner, limit=7)
    assert [r.row for r in preview.rows] == [2, 3, 4, 5, 6, 7, 8]
    # Row 8 repeats row 2's phone, so it is merged into the customer row 2 creates (it
    # updates no record that exists now).
    assert [r.action for r in preview.rows] == ["create", "create", "create", "", "", "create", "repeat"]
    assert preview.rows[3].problems[0][0] == "手机"
    assert preview.rows[5].problems[0][0] == "生日"  # imported without its birthday
    assert preview.problems == []
    assert job.rows_done == 0 and Customer.objects.count() == 1


def test_it_stores_the_upload_where_the_job_can_read_it_again(owner, make_job, messy_file):
    job = make_job(owner, messy_file)
    assert job.source.read() == ContentFile(messy_file.read_bytes()).read()
    assert (job.encoding, job.delimiter, job.kind) == ("gb18030", ",", "customers")


@pytest.mark.parametrize(("threshold", "analysed"), [(7, True), (8, False)])
def test_a_large_import_refreshes_the_planners_statistics_of_its_tables(
    monkeypatch, owner, messy_file, make_job, threshold, analysed
):
    from patron.common import bulk
    from patron.customers.models import Contact

    asked = []
    monkeypatch.setattr(services, "ANALYZE_MIN_ROWS", threshold)
    monkeypatch.setattr(bulk, "analyze", lambda *tables: asked.append(tables))
    services.import_run(job=make_job(owner, messy_file), batch_size=3)  # 6 created, 1 updated
    assert asked == ([(Customer, Contact)] if analysed else [])


def test_analysing_a_table_gives_the_planner_its_size(owner, customer):
    from django.db import connection

    from patron.common import bulk

    bulk.analyze(Customer)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # -1 (never analysed) before
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'customers_customer'")
            assert cursor.fetchone()[0] == 1
        else:  # SQLite: none before; then its indexes' entries, the organisation's key first
            cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'customers_customer'")
            stats = dict(cursor.fetchall())
            assert stats["customer_recent_idx"] == "1 1 1 1"
    if connection.vendor != "sqlite":
        return

    def counted():
        with connection.cursor() as cursor:
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 'customer_recent_idx'")
            return cursor.fetchone()[0]

    def add(count):
        for _ in range(count):
            Customer.objects.create(organization=owner.organization, owner=owner, name="n", number=f"x{add.made}")
            add.made += 1

    add.made = 0
    add(9)
    bulk.analyze(Customer)  # it had counted 1: read again
    assert counted() == "10 10 1 1"
    add(1)
    bulk.analyze(Customer)  # grown by a tenth, no more: the statistics still tell its shape
    assert counted() == "10 10 1 1"
    add(1)
    bulk.analyze(Customer)
    assert counted() == "12 12 1 1"


def test_an_import_is_done_even_when_the_statistics_cannot_be_refreshed(
    monkeypatch, owner, messy_file, make_job
):
    from django.db import OperationalError

    from patron.common import bulk

    def locked(*tables):
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "ANALYZE_MIN_ROWS", 1)
    monkeypatch.setattr(bulk, "analyze", locked)
    job = services.import_run(job=make_job(owner, messy_file), batch_size=3)
    assert job.status == ImportJob.Status.DONE and job.rows_created == 6
    assert AuditEntry.objects.filter(action="import.finished", object_id=str(job.pk)).count() == 1


def test_after_a_large_import_sqlite_finds_phones_and_emails_through_their_indexes(
    monkeypatch, owner, tmp_path, write_csv, make_job
):
    """The phone and e-mail indexes are keyed by the value alone (customers' migration 0010).
    SQLite's planner, guessing without statistics, read such a lookup through an index that
    starts with the organisation, that is every customer of it; the statistics a large
    import leaves make it take the value's index."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the plan's wording is SQLite's; PostgreSQL keeps statistics itself")
    rows = [["客户名称", "手机", "邮箱"]] + [
        [f"客户{i}", f"139{i:08d}", f"c{i}@example.com"] for i in range(300)
    ]
    monkeypatch.setattr(services, "ANALYZE_MIN_ROWS", 100)
    job = services.import_run(job=make_job(owner, write_csv(tmp_path / "many.csv", rows)))
    assert job.rows_created == 300
    lookups = {
        "customer_phone_idx": Customer.objects.filter(phone="+8613900000007"),
        "customer_email_idx": Customer.objects.filter(email="c7@example.com"),
    }
    for index, queryset in lookups.items():
        sql, params = queryset.query.sql_with_params()
        assert "organization_id" in sql  # still scoped to the organisation
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(row[-1] for row in cursor.fetchall())
        assert f"INDEX {index} (" in plan, plan
    assert Customer.objects.get(email="c7@example.com").phone == "+8613900000007"


def test_a_birthday_that_is_no_date_costs_the_birthday_not_the_customer(
    owner, tmp_path, write_csv, make_job
):
    rows = [
        ["姓名", "手机", "生日"],
        ["甲", "13900000001", "--0415"],  # as a phone exports it
        ["乙", "13900000002", "4月15日"],
        ["丙", "13900000003", "1990/1/1"],
        ["丁", "13900000004", "1990-13-01"],
    ]
    job = services.import_run(job=make_job(owner, write_csv(tmp_path / "b.csv", rows)))
    assert (job.rows_created, job.rows_rejected, job.values_left_out) == (4, 0, 3)
    birthdays = dict(Customer.objects.values_list("name", "birthday"))
    assert birthdays == {"甲": None, "乙": None, "丙": dt.date(1990, 1, 1), "丁": None}
    reasons = dict(job.rejections.values_list("row", "reason"))
    assert reasons[2] == "--0415 has no year. The row was imported without it."
    assert reasons[3] == "4月15日 has no year. The row was imported without it."
    # The rows to fix come as a file: fixed and imported again, they update the customers.
    text = services.rejected_rows_file(job=job).decode("utf-8-sig")
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["2", "3", "5"]


def test_a_row_named_like_a_company_is_a_company(owner, tmp_path, write_csv, make_job):
    rows = [["客户名称", "手机"], ["北京远航科技有限公司", "13900000011"], ["Acme Trading Ltd.", "13900000012"],
            ["小王便利店", "13900000013"], ["王店", "13900000014"], ["张伟", "13900000015"]]
    services.import_run(job=make_job(owner, write_csv(tmp_path / "k.csv", rows)))
    kinds = dict(Customer.objects.values_list("name", "kind"))
    assert kinds == {"北京远航科技有限公司": "company", "Acme Trading Ltd.": "company", "小王便利店": "company",
                     "王店": "person", "张伟": "person"}  # 王店 may be a person: two characters are a name


def test_full_width_digits_are_folded_and_impossible_birthdays_left_out(owner, tmp_path, write_csv, make_job):
    next_year = dt.date.today().year + 1
    path = write_csv(tmp_path / "f.csv", [
        ["客户名称", "手机", "生日"],
        ["辛东", "1390000333３", f"{next_year}-01-01"],  # one full-width digit, as a phone keyboard may type
        ["宋文", "１３８ ００１３ ８０００", "1890-05-06"],
        ["李杰", "13700137000", "1990-05-06"],
    ])
    job = services.import_run(job=make_job(owner, path))
    assert (job.rows_created, job.rows_rejected, job.values_left_out) == (3, 0, 2)
    phones = dict(Customer.objects.values_list("name", "phone"))
    assert phones == {"辛东": "+8613900003333", "宋文": "+8613800138000", "李杰": "+8613700137000"}
    assert dict(Customer.objects.values_list("name", "birthday")) == {
        "辛东": None, "宋文": None, "李杰": dt.date(1990, 5, 6)}
    reasons = list(job.rejections.order_by("row").values_list("row", "column", "reason"))
    assert [(row, column) for row, column, _ in reasons] == [(2, "生日"), (3, "生日")]
    assert "in the future" in reasons[0][2] and "before 1900" in reasons[1][2]


def test_the_preview_says_what_an_update_would_change(owner, messy_file, make_job, write_csv, tmp_path):
    services.import_run(job=make_job(owner, messy_file))
    again = write_csv(tmp_path / "again.csv", [
        ["客户名称", "手机", "邮箱", "省份", "备注"],
        ["张伟", "13800138000", "", "广东", "大客户，月结"],  # new notes: overwritten if imported
        ["李娜", "13900139000", "lina@example.com", "广东", ""],  # what the record holds already
    ])
    preview = services.import_prepare(job=make_job(owner, again), user=owner)
    assert [(r.action, r.changes) for r in preview.rows] == [("update", ["备注"]), ("update", [])]
    assert Customer.objects.get(phone="+8613800138000").notes == "again"  # a preview writes nothing


def test_the_rejected_rows_file_neutralises_formulas_from_the_users_file(owner, tmp_path, write_csv, make_job):
    path = write_csv(tmp_path / "formula.csv", [
        ["客户名称", "手机", "邮箱", "公司", "=cmd|' /C calc'!A0"],
        ['=HYPERLINK("http://evil.example","fix me")', "13800004441", "bad-email", "@SUM(1+1)", "-2+3"],
        ["QA公式", "13800004442", "qa-formula@example.com", "-2+3", ""],
    ])
    job = services.import_run(job=make_job(owner, path))
    assert job.rows_rejected == 1
    header, row = list(csv.reader(io.StringIO(services.rejected_rows_file(job=job).decode("utf-8-sig"))))
    assert header[-2] == "'=cmd|' /C calc'!A0"
    assert row[:7] == [
        "2", "no", "'=HYPERLINK(\"http://evil.example\",\"fix me\")", "13800004441", "bad-email", "'@SUM(1+1)",
        "'-2+3",
    ]
    assert row[7].startswith("邮箱: ")
