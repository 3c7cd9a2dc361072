"""Where the records sit in a file: title rows above the header, several sheets, and the
sample values the mapping page shows beside each column."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from patron.customers.models import Customer
from patron.imports import readers, services
from patron.imports.models import ImportJob

pytestmark = pytest.mark.urls("imports_test_urls")

TITLED = [
    ["2024年客户名单", "", "", ""],
    ["导出：销售二部", "", "", ""],
    [],
    ["客户名称", "手机", "邮箱", ""],
    ["张伟", "13800138000", "zw@example.com", ""],
    ["李娜", "12345", "", ""],
]


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def _workbook(path, sheets: dict[str, list[list[object]]]):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def test_the_header_is_found_below_title_rows_and_rows_keep_their_spreadsheet_numbers(tmp_path, write_csv):
    table = readers.open_table(write_csv(tmp_path / "f.csv", TITLED, encoding="gbk"))
    assert table.header_row == 4
    assert table.headers == ["客户名称", "手机", "邮箱"]  # the empty column Excel left is cut
    assert table.delimiter == ","
    assert [number for number, _ in table.rows()] == [5, 6]


def test_a_title_line_without_delimiters_does_not_hide_the_delimiter(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("客户名单\r\n客户名称;手机;邮箱\r\n张伟;13800138000;zw@example.com\r\n")
    table = readers.open_table(path)
    assert (table.delimiter, table.header_row, table.headers) == (";", 2, ["客户名称", "手机", "邮箱"])


def test_a_plain_file_still_reads_its_first_row_as_the_header(tmp_path, write_csv):
    # Only the name filled on most rows: the header is still the first row.
    rows = [["客户名称", "手机", "邮箱", "备注"], ["张伟", "", "", ""], ["李娜", "", "", ""]]
    table = readers.open_table(write_csv(tmp_path / "f.csv", rows))
    assert (table.header_row, len(table.headers)) == (1, 4)


def test_a_header_row_given_by_hand_is_read_and_checked(tmp_path, write_csv):
    path = write_csv(tmp_path / "f.csv", TITLED)
    assert readers.open_table(path, header_row=5).headers == ["张伟", "13800138000", "zw@example.com"]
    with pytest.raises(readers.ReaderError, match="Row 3 holds no column names"):
        readers.open_table(path, header_row=3)
    with pytest.raises(readers.ReaderError, match="no row 40"):
        readers.open_table(path, header_row=40)


def test_a_workbook_is_read_from_its_first_sheet_with_data_or_the_sheet_named(tmp_path):
    path = _workbook(
        tmp_path / "book.xlsx",
        {
            "说明": [],
            "客户": [["客户名单"], ["客户名称", "手机"], ["张伟", 13800138000]],
            "订单": [["订单号", "金额"], ["A1", 99.5]],
        },
    )
    table = readers.open_table(path)
    assert (table.sheet, table.header_row, table.headers) == ("客户", 2, ["客户名称", "手机"])
    assert table.sheets == ["说明", "客户", "订单"]
    assert list(table.rows()) == [(3, ["张伟", "13800138000"])]
    orders = readers.open_table(path, sheet="订单")
    assert (orders.headers, list(orders.rows())) == (["订单号", "金额"], [(2, ["A1", "99.5"])])
    with pytest.raises(readers.NoSuchSheet, match="no sheet named “发票”"):
        readers.open_table(path, sheet="发票")


def test_samples_show_a_few_distinct_values_per_column(tmp_path, write_csv):
    rows = [["name", "city", "note"], *[["张伟", "上海", ""], ["李娜", "上海", "x" * 60]] * 3]
    samples = readers.samples(readers.open_table(write_csv(tmp_path / "f.csv", rows)))
    assert samples == [["张伟", "李娜"], ["上海"], ["x" * 39 + "…"]]


def test_the_mapping_page_shows_samples_and_reads_another_header_row(client, owner):
    client.force_login(owner)
    data = "客户资料\r\n备注：内部使用\r\n姓名,电话\r\n张伟,13800138000\r\n李娜,13900139000\r\n"
    client.post("/imports/new/", {"kind": "customers", "file": SimpleUploadedFile("c.csv", data.encode())})
    job = ImportJob.objects.get()
    assert (job.header_row, job.mapping) == (3, ["name", "phone"])
    page = client.get(f"/imports/{job.pk}/mapping/")
    assert page.status_code == 200
    assert "13800138000" in page.text and "李娜" in page.text
    assert "The column names are in row 3" in page.text

    # The person says the names are in row 2: that row has one name (备注…), so the
    # mapping is guessed anew from it.
    response = client.post(f"/imports/{job.pk}/frame/", {"sheet": "", "header_row": "2"})
    assert response.status_code == 302 and response.url == f"/imports/{job.pk}/mapping/"
    job.refresh_from_db()
    assert (job.header_row, job.mapping) == (2, ["notes"])

    bad = client.post(f"/imports/{job.pk}/frame/", {"sheet": "", "header_row": "0"})
    assert bad.status_code == 400 and "greater than or equal to 1" in bad.text
    empty = client.post(f"/imports/{job.pk}/frame/", {"sheet": "", "header_row": "60"})
    assert empty.status_code == 400 and "no row 60" in empty.text
    job.refresh_from_db()
    assert job.header_row == 2  # nothing written by a refused change


def test_the_mapping_page_switches_sheets_and_the_import_reads_that_sheet(
    client, owner, tmp_path, django_capture_on_commit_callbacks
):
    path = _workbook(
        tmp_path / "book.xlsx",
        {
            "说明": [["这本表格有两张表。"], ["制表人：王磊"]],
            "客户": [["2024年第二季度新客户"], [], ["客户名称", "手机"], ["张伟", 13800138000], ["李娜", "12345"]],
        },
    )
    client.force_login(owner)
    client.post(
        "/imports/new/",
        {"kind": "customers", "file": SimpleUploadedFile("book.xlsx", path.read_bytes())},
    )
    job = ImportJob.objects.get()
    # The cover sheet (one column of notes) is passed over for the sheet holding a table.
    assert (job.sheet, job.header_row, job.mapping) == ("客户", 3, ["name", "phone"])
    page = client.get(f"/imports/{job.pk}/mapping/")
    assert '<option value="说明">说明</option>' in page.text
    refused = client.post(f"/imports/{job.pk}/frame/", {"sheet": "发票", "header_row": "3"})
    assert refused.status_code == 400
    client.post(f"/imports/{job.pk}/frame/", {"sheet": "说明", "header_row": "3"})
    job.refresh_from_db()
    assert (job.sheet, job.header_row) == ("说明", 1)  # another sheet: its header is looked for
    client.post(f"/imports/{job.pk}/frame/", {"sheet": "客户", "header_row": "1"})
    job.refresh_from_db()
    assert (job.sheet, job.header_row, job.mapping) == ("客户", 3, ["name", "phone"])
    # A refused header row leaves the page and the job as they were.
    wrong = client.post(f"/imports/{job.pk}/frame/", {"sheet": "客户", "header_row": "50"})
    assert wrong.status_code == 400 and "The column names are in row 50" not in wrong.text
    job.refresh_from_db()
    assert job.header_row == 3
    form = {"column_0": "name", "column_1": "phone", "key_field": "", "owner_rule": "importer"}
    assert client.post(f"/imports/{job.pk}/mapping/", form).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/preview/")
    job.refresh_from_db()
    assert (job.status, job.rows_created, job.rows_rejected) == ("done", 1, 1)
    assert list(job.rejections.values_list("row", "column")) == [(5, "手机")]
    assert Customer.objects.get().name == "张伟"
    # Once started, the frame cannot change.
    assert client.post(f"/imports/{job.pk}/frame/", {"header_row": "1"}).status_code == 302
    with pytest.raises(Exception, match="already started"):
        services.import_reframe(job=job, user=owner, sheet="", header_row=1)


def test_the_api_and_the_command_take_a_sheet_and_a_header_row(api, owner, tmp_path, capsys):
    path = _workbook(
        tmp_path / "book.xlsx",
        {"封面": [["客户名单"]], "数据": [["标题"], ["name", "mobile"], ["Wang", 13700137000]]},
    )
    as_owner = api(owner)
    wrong = as_owner.post(
        "/api/imports/",
        {"file": SimpleUploadedFile("b.xlsx", path.read_bytes()), "kind": "customers", "sheet": "无此表"},
        format="multipart",
    )
    assert wrong.status_code == 400 and "sheet" in wrong.json()
    response = as_owner.post(
        "/api/imports/",
        {
            "file": SimpleUploadedFile("b.xlsx", path.read_bytes()),
            "kind": "customers",
            "sheet": "数据",
            "header_row": 2,
            "start": False,
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["sheet"], body["header_row"], body["mapping"]) == ("数据", 2, ["name", "phone"])

    call_command("import_file", str(path), "--org", "acme", "--user", "owner", "--sheet", "数据")
    assert "1 created" in capsys.readouterr().out
    assert Customer.objects.get().phone == "+8613700137000"
