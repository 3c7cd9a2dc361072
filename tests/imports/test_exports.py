import csv
import io

import pytest
from openpyxl import load_workbook

from patron.accounts import permissions
from patron.audit.models import AuditEntry
from patron.customers import services as customers
from patron.customers.models import Customer
from patron.imports import exports

FIELDS = ["number", "name", "phone", "email", "owner"]


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def marketer(org):
    from patron.accounts.services import user_create

    return user_create(organization=org, username="marketer", password="x" * 20, roles=["marketer"])


def test_it_exports_what_the_manager_sees_with_sensitive_fields_masked(
    manager, customer, other_team
):
    customers.customer_create(user=other_team, data={"name": "Hidden"})
    data, count = exports.export_rows(
        user=manager, queryset=Customer.objects.all(), fields=FIELDS, format="csv"
    )
    rows = _csv(data)
    assert count == 1 and rows[0] == ["Number", "Name", "Phone", "E-mail", "Owner"]
    # A phone number, masked or not, is left as it is: nothing can hide in "+", digits and *.
    assert rows[1][1:] == ["王芳", "+86 138****1016", "w***@example.com", "Owner"]


def test_it_shows_sensitive_fields_only_to_users_allowed_who_ask(manager, marketer, customer):
    data, _ = exports.export_rows(
        user=manager,
        queryset=Customer.objects.all(),
        fields=FIELDS,
        format="csv",
        include_sensitive=True,
    )
    # Written as people write it, which a spreadsheet keeps as text (not 8.61381E+12).
    assert _csv(data)[1][2:4] == ["+86 138 1234 1016", "wang.fang@example.com"]
    data, _ = exports.export_rows(
        user=marketer,
        queryset=Customer.objects.all(),
        fields=FIELDS,
        format="csv",
        include_sensitive=True,
    )
    assert _csv(data)[1][2] == "+86 138****1016"


def test_it_refuses_users_without_the_export_capability(owner, viewer, customer):
    for user in (owner, viewer):
        with pytest.raises(permissions.PermissionDenied):
            exports.export_rows(
                user=user, queryset=Customer.objects.all(), fields=FIELDS, format="csv"
            )


@pytest.mark.parametrize("evil", ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)"])
def test_it_neutralises_formula_injection_in_csv_and_xlsx(admin, evil):
    customers.customer_create(user=admin, data={"name": evil, "company_name": "=1+1"})
    data, _ = exports.export_rows(
        user=admin, queryset=Customer.objects.all(), fields=["name", "company_name"], format="csv"
    )
    assert _csv(data)[1] == ["'" + evil, "'=1+1"]
    data, _ = exports.export_rows(
        user=admin, queryset=Customer.objects.all(), fields=["name", "company_name"], format="xlsx"
    )
    # In Excel a string cell is never run: the text stays the user's, with no apostrophe.
    sheet = load_workbook(io.BytesIO(data)).active
    assert [(c.value, c.data_type) for c in sheet[2]] == [(evil, "s"), ("=1+1", "s")]


def test_it_audits_every_export_with_its_row_count(admin, customer):
    exports.export_rows(
        user=admin,
        queryset=Customer.objects.all(),
        fields=FIELDS,
        format="xlsx",
        filters={"region": "Shanghai"},
    )
    entry = AuditEntry.objects.get(action="customer.exported")
    assert entry.actor == admin
    assert (
        entry.data["rows"] == 1
        and entry.data["format"] == "xlsx"
        and entry.data["filters"] == {"region": "Shanghai"}
    )


def test_it_neutralises_only_text():
    assert exports.neutralise("-5") == "'-5"
    assert exports.neutralise("\tcmd") == "'\tcmd" and exports.neutralise("\rcmd") == "'\rcmd"
    assert exports.neutralise(-5) == -5
    assert exports.neutralise("王芳") == "王芳"
    assert exports.neutralise("+86 (21) 5555-0101") == "+86 (21) 5555-0101"
    assert exports.neutralise("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"


def test_an_exported_file_imports_back_onto_the_same_customers(
    manager, owner, customer, tmp_path, make_job
):
    from patron.imports import services

    data, _ = exports.export_rows(
        user=manager,
        queryset=Customer.objects.all(),
        fields=exports.CUSTOMER_FIELDS,
        format="csv",
        include_sensitive=True,
    )
    path = tmp_path / "customers.csv"
    path.write_bytes(data)
    job = services.import_run(job=make_job(owner, path, key_field="phone"))
    assert (job.rows_created, job.rows_unchanged, job.rows_rejected) == (0, 1, 0), list(
        job.rejections.values_list("row", "column", "reason")
    )
    assert Customer.objects.get().phone == "+8613812341016"


def test_a_masked_export_imported_back_overwrites_nothing_with_asterisks(
    marketer, owner, customer, tmp_path, make_job
):
    """A marketer's export masks contact details. Imported back, matched on the number with
    the phone column left out, it updated every customer's e-mail to "w***@example.com"."""
    from patron.imports import services

    customer.wechat = "wxid_wangfang88"
    customer.save()
    data, _ = exports.export_rows(
        user=marketer,
        queryset=Customer.objects.all(),
        fields=["number", "name", "phone", "email", "wechat"],
        format="csv",
        include_sensitive=True,
    )
    path = tmp_path / "masked.csv"
    path.write_bytes(data)
    assert "w***@example.com" in data.decode("utf-8-sig")
    job = make_job(owner, path, key_field="number", mapping_names={
        "Number": "number", "Name": "name", "E-mail": "email", "WeChat ID": "wechat"})
    job = services.import_run(job=job)
    assert (job.rows_updated, job.rows_rejected) == (0, 1)
    rejections = {r.column: r.reason for r in job.rejections.all()}
    assert set(rejections) == {"Phone", "E-mail", "WeChat ID"}
    assert all("is masked" in reason for reason in rejections.values())
    customer.refresh_from_db()
    assert (customer.email, customer.wechat) == ("wang.fang@example.com", "wxid_wangfang88")


def test_dates_are_dates_in_excel_and_local_text_in_csv(admin, customer):
    import datetime as dt

    from django.utils import timezone

    fields = ["name", "birthday", "created_at"]
    sheet = load_workbook(io.BytesIO(exports.export_rows(
        user=admin, queryset=Customer.objects.all(), fields=fields, format="xlsx", include_sensitive=True
    )[0])).active
    name, birthday, created = next(sheet.iter_rows(min_row=2, values_only=True))
    local = timezone.localtime(customer.created_at).replace(tzinfo=None, second=0, microsecond=0)
    assert (name, birthday, created) == ("王芳", dt.datetime(1988, 5, 12), local)
    rows = _csv(exports.export_rows(
        user=admin, queryset=Customer.objects.all(), fields=fields, format="csv", include_sensitive=True
    )[0])
    assert rows[1] == ["王芳", "1988-05-12", local.strftime("%Y-%m-%d %H:%M")]


def test_a_customer_export_reads_its_rows_in_a_fixed_number_of_queries_in_the_askers_language(
        manager, owner, django_assert_max_num_queries):
    """The export loads only the columns it writes (and those that decide who sees a record):
    a column it needed and did not load would cost one query a row. Labels and yes/no are
    translated once an export, in the language of who asked."""
    from django.utils import translation

    from patron.customers.models import Source

    for i in range(30):
        customers.customer_create(user=owner, data={"name": f"客户{i}", "phone": f"1380013{i:04d}",
                                                    "source": Source.REFERRAL, "kind": "company"})
    query = {"format": "csv"}
    with translation.override("zh-hans"), django_assert_max_num_queries(8):
        data, count = exports.customer_export(
            user=manager, queryset=exports.customer_queryset(user=manager, query=query), query=query,
            format="csv", include_sensitive=True)
    rows = _csv(data)
    assert count == 30 and rows[0][:3] == ["编号", "名称", "类型"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert (first["类型"], first["来源"], first["负责人"], first["团队"]) == ("公司", "转介绍", "Owner", "East")
    assert first["电话"] == "+86 138 0013 0029" and first["客户终身价值（12 个月）"] == ""


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_written_into_a_file_is_the_file_given_at_once(admin, customer, fmt):
    """A background export writes a temporary file (a million rows in memory would not do):
    the same file, byte for byte in CSV and cell for cell in Excel."""
    import tempfile

    at_once, count = exports.export_rows(user=admin, queryset=Customer.objects.all(), fields=FIELDS, format=fmt)
    with tempfile.TemporaryFile() as out:
        empty, written = exports.export_rows(user=admin, queryset=Customer.objects.all(), fields=FIELDS,
                                             format=fmt, into=out)
        out.seek(0)
        data = out.read()
    assert (empty, written, count) == (b"", 1, 1)
    if fmt == "csv":
        assert data == at_once and data.startswith(b"\xef\xbb\xbf")
    else:
        cells = [[[c.value for c in row] for row in load_workbook(io.BytesIO(d)).active.iter_rows()]
                 for d in (at_once, data)]
        assert cells[0] == cells[1] and cells[0][1][1] == "王芳"


def test_an_excel_file_holds_text_as_text_and_no_character_xml_refuses(admin):
    customers.customer_create(user=admin, data={"name": "王\x07芳", "company_name": "0012345", "title": "http://x.cn"})
    data, count = exports.export_rows(
        user=admin, queryset=Customer.objects.all(), fields=["name", "company_name", "title", "created_at"],
        format="xlsx",
    )
    sheet = load_workbook(io.BytesIO(data)).active
    name, company, title, created = (sheet.cell(2, c) for c in range(1, 5))
    assert count == 1 and name.value == "王芳"  # a control character would make the file unreadable
    assert (company.value, company.data_type) == ("0012345", "s")  # not the number 12345
    assert (title.value, title.hyperlink) == ("http://x.cn", None)
    assert created.is_date and created.number_format == "yyyy-mm-dd hh:mm"
