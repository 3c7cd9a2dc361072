import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from patron.audit.models import AuditEntry
from patron.customers.models import Customer
from patron.imports import services
from patron.imports.models import ImportJob

pytestmark = pytest.mark.urls("imports_test_urls")

CSV = "客户名称,手机,邮箱\r\n张伟,138 0013 8000,zw@example.com\r\n李娜,12345,\r\n".encode("gbk")


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def _upload(client, kind="customers", data=CSV, name="客户.csv"):
    return client.post("/imports/new/", {"kind": kind, "file": SimpleUploadedFile(name, data)})


def test_it_walks_an_import_from_upload_to_the_rejected_rows(
    client, owner, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    response = _upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/imports/{job.pk}/mapping/"
    page = client.get(response.url)
    assert page.status_code == 200 and "客户名称" in page.text
    form = {
        "column_0": "name",
        "column_1": "phone",
        "column_2": "email",
        "key_field": "",
        "owner_rule": "importer",
    }
    response = client.post(f"/imports/{job.pk}/mapping/", form)
    assert response.url == f"/imports/{job.pk}/preview/"
    preview = client.get(response.url)
    assert preview.status_code == 200 and "12345 is not a valid phone number." in preview.text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{job.pk}/preview/")
    assert response.url == f"/imports/{job.pk}/"
    job.refresh_from_db()
    assert (job.status, job.rows_created, job.rows_rejected) == ("done", 1, 1)
    detail = client.get(f"/imports/{job.pk}/")
    assert detail.status_code == 200 and 'value="100"' in detail.text
    rejected = client.get(f"/imports/{job.pk}/rejected.csv")
    assert rejected.status_code == 200 and "12345" in rejected.content.decode("utf-8-sig")
    assert Customer.objects.get().phone == "+8613800138000"


def test_it_serves_the_progress_fragment_to_htmx_polls(
    client, owner, make_job, tmp_path, write_csv
):
    job = make_job(owner, write_csv(tmp_path / "f.csv", [["name"], ["A"]]))
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_total=10, rows_done=4)
    client.force_login(owner)
    response = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.text
    assert 'hx-trigger="every 1s"' in response.text and 'value="40"' in response.text
    assert response["Vary"] and "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("owner", 200),
        ("teammate", 404),
        ("manager", 404),
        ("other_team", 404),
        ("viewer", 404),
        ("admin", 200),
    ],
)
def test_it_shows_an_import_only_to_who_made_it_and_administrators(
    request, client, owner, make_job, tmp_path, write_csv, persona, status
):
    job = make_job(owner, write_csv(tmp_path / "f.csv", [["name"], ["A"]]))
    client.force_login(request.getfixturevalue(persona))
    assert client.get(f"/imports/{job.pk}/").status_code == status
    assert client.get(f"/imports/{job.pk}/rejected.csv").status_code == status


def test_it_refuses_the_upload_page_to_viewers(client, viewer):
    client.force_login(viewer)
    assert client.get("/imports/new/").status_code == 403


def test_it_rerenders_the_upload_form_for_bad_files(client, owner):
    client.force_login(owner)
    assert _upload(client, data=b"").status_code == 400
    response = _upload(client, data=b"PK\x03\x04broken", name="x.xlsx")
    assert response.status_code == 400 and "damaged" in response.text
    assert _upload(client, kind="products").status_code == 400  # reps may not add products
    assert not ImportJob.objects.exists()


def test_it_rejects_a_mapping_without_the_required_fields(
    client, owner, make_job, tmp_path, write_csv
):
    job = make_job(owner, write_csv(tmp_path / "f.csv", [["name", "phone"], ["A", "1"]]))
    client.force_login(owner)
    response = client.post(
        f"/imports/{job.pk}/mapping/",
        {"column_0": "", "column_1": "phone", "owner_rule": "importer"},
    )
    assert response.status_code == 400 and "No column is mapped to" in response.text


def test_the_mapping_page_shares_new_records_among_a_team_it_may_give_to(
    client, manager, owner, teammate, teams, make_job, tmp_path, write_csv
):
    job = make_job(manager, write_csv(tmp_path / "f.csv", [["name", "phone"], ["A", "13900000001"]]))
    client.force_login(manager)
    page = client.get(f"/imports/{job.pk}/mapping/")
    assert "Team to share them among" in page.text and "North" in page.text
    form = {"column_0": "name", "column_1": "phone", "key_field": "", "owner_rule": "team"}
    missing = client.post(f"/imports/{job.pk}/mapping/", form)
    assert missing.status_code == 400 and "Choose the team whose members get the new records." in missing.text
    other = client.post(f"/imports/{job.pk}/mapping/", form | {"owner_team": str(teams["b"].pk)})
    assert other.status_code == 400 and "Nobody in North may own these records." in other.text
    done = client.post(f"/imports/{job.pk}/mapping/", form | {"owner_team": str(teams["a"].pk)})
    assert done.status_code == 302
    job.refresh_from_db()
    assert (job.owner_rule, job.owner_team) == ("team", teams["a"])


@pytest.mark.parametrize("url", ["/imports/new/", "/imports/"])
def test_it_answers_wrong_methods_with_405(client, owner, url):
    client.force_login(owner)
    assert client.delete(url).status_code == 405


def test_it_lists_the_users_imports(client, owner, make_job, tmp_path, write_csv):
    make_job(owner, write_csv(tmp_path / "list.csv", [["name"], ["A"]]))
    client.force_login(owner)
    response = client.get("/imports/")
    assert response.status_code == 200 and "list.csv" in response.text


@pytest.mark.parametrize(
    ("persona", "status", "rows"),
    [
        ("owner", 403, 0),
        ("teammate", 403, 0),
        ("viewer", 403, 0),
        ("manager", 200, 1),
        ("admin", 200, 1),
    ],
)
def test_it_exports_the_filtered_customer_list(request, client, customer, persona, status, rows):
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/imports/export/customers/?q=王&format=csv")
    assert response.status_code == status
    if status == 200:
        lines = response.content.decode("utf-8-sig").strip().splitlines()
        assert len(lines) - 1 == rows and "attachment" in response["Content-Disposition"]
        assert AuditEntry.objects.get(action="customer.exported").data["rows"] == rows


def test_it_exports_xlsx_and_refuses_bad_filters(client, admin, customer):
    client.force_login(admin)
    response = client.get("/imports/export/customers/?format=xlsx")
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert client.get("/imports/export/customers/?format=pdf").status_code == 400
    assert client.get("/imports/export/customers/?purchased_from=notadate").status_code == 400


def test_it_resumes_a_failed_import(
    client, owner, make_job, tmp_path, write_csv, django_capture_on_commit_callbacks
):
    job = make_job(owner, write_csv(tmp_path / "f.csv", [["name"], ["A"], ["B"]]))
    ImportJob.objects.filter(pk=job.pk).update(status="failed")
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{job.pk}/retry/")
    assert response.status_code == 302
    assert ImportJob.objects.get(pk=job.pk).status == "done" and Customer.objects.count() == 2
    assert services.rejected_rows_file(job=job).decode("utf-8-sig").count("\n") == 1


def test_a_file_of_headers_only_says_so_and_offers_no_import(client, owner):
    client.force_login(owner)
    _upload(client, data="客户名称,手机,邮箱\r\n".encode("gbk"))
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.pk}/mapping/", {"column_0": "name", "column_1": "phone", "column_2": "email",
                                                "key_field": "", "owner_rule": "importer"})
    preview = client.get(f"/imports/{job.pk}/preview/")
    assert preview.status_code == 200 and "no rows to import" in preview.text
    assert 'class="btn btn-primary" disabled' in preview.text


def test_the_preview_page_names_the_fields_an_update_would_overwrite(client, owner, customer):
    client.force_login(owner)
    _upload(client, data=f"客户名称,手机,备注\r\n{customer.name},{customer.phone},新备注\r\n".encode("gbk"))
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.pk}/mapping/", {"column_0": "name", "column_1": "phone", "column_2": "notes",
                                                "key_field": "", "owner_rule": "importer"})
    preview = client.get(f"/imports/{job.pk}/preview/", headers={"Accept-Language": "zh-hans"})
    assert preview.status_code == 200 and "更改：备注" in preview.text


def test_the_job_page_counts_a_re_import_that_changes_nothing_as_unchanged(
    client, owner, tmp_path, write_csv, make_job
):
    from patron.imports import services

    path = write_csv(tmp_path / "same.csv", [["name", "phone"], ["A", "13800000001"], ["B", "13800000002"]])
    services.import_run(job=make_job(owner, path))
    again = services.import_run(job=make_job(owner, path))
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 2)
    client.force_login(owner)
    page = client.get(f"/imports/{again.pk}/").content.decode()
    assert "0 updated" in page and "2 unchanged" in page
