"""A customer list too long to export within a request is written in the background."""

import csv
import datetime as dt
import io

import pytest

from patron.audit.models import AuditEntry
from patron.customers import services as customers
from patron.imports import exports
from patron.imports.models import ExportJob

pytestmark = pytest.mark.urls("imports_test_urls")


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def three(owner):
    return [
        customers.customer_create(
            user=owner, data={"name": name, "phone": phone, "region": "上海"}
        )
        for name, phone in [("张伟", "13800138000"), ("李娜", "13900139000"), ("王强", "13700137000")]
    ]


def test_a_long_list_is_exported_in_the_background_for_its_user_only(
    client, manager, admin, three, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(exports, "DIRECT_MAX_ROWS", 2)
    client.force_login(manager)
    # Asking (a GET, which a prefetch or a link preview may make) writes nothing: a page asks.
    asked = client.get("/imports/export/customers/?region=上海&format=csv&sensitive=on")
    assert asked.status_code == 200 and not ExportJob.objects.exists()
    assert 'name="region" value="上海"' in asked.text and 'name="sensitive" value="on"' in asked.text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/imports/export/customers/", {"region": "上海", "format": "csv", "sensitive": "on"}
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/imports/exports/{job.pk}/"
    page = client.get(response.url)
    assert page.status_code == 200 and "3 customers exported." in page.text
    assert (job.__class__.objects.get().status, job.query) == ("done", {"region": "上海"})
    download = client.get(f"/imports/exports/{job.pk}/file")
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 4 and "+86 138 0013 8000" in text  # the manager may see phones
    entry = AuditEntry.objects.get(action="customer.exported")
    assert entry.actor == manager and entry.data["rows"] == 3 and entry.data["sensitive"]
    # Nobody else gets the file or its page, administrators included.
    client.force_login(admin)
    assert client.get(f"/imports/exports/{job.pk}/").status_code == 404
    assert client.get(f"/imports/exports/{job.pk}/file").status_code == 404


def test_a_short_list_comes_at_once_and_bad_filters_queue_nothing(client, manager, three):
    client.force_login(manager)
    response = client.get("/imports/export/customers/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert client.get("/imports/export/customers/?format=csv&owner=nobody").status_code == 400
    assert not ExportJob.objects.exists()


def test_invalid_export_parameters_are_each_named_with_their_error(client, manager, three):
    client.force_login(manager)
    response = client.get("/imports/export/customers/?format=pdf&team=zzz")
    assert response.status_code == 400
    assert response.text.splitlines() == [
        "The export's filters are not valid:",
        "team: Select a valid choice. That choice is not one of the available choices.",
        "format: Select a valid choice. pdf is not one of the available choices.",
    ]


def test_the_background_export_respects_who_asked(owner, manager, other_team, three):
    """The job reads the list as its user would: a rep without the export capability gets
    nothing queued, and a manager's export holds only the customers of the manager's teams."""
    from patron.accounts.permissions import PermissionDenied

    customers.customer_create(user=other_team, data={"name": "外组客户", "region": "上海"})
    with pytest.raises(PermissionDenied):
        exports.export_queue(user=owner, query={}, format="csv", include_sensitive=False)
    job = exports.export_queue(user=manager, query={"region": "上海"}, format="xlsx", include_sensitive=False)
    # Asked again while queued: the same job, not another.
    assert exports.export_queue(user=manager, query={"region": "上海"}, format="xlsx",
                                include_sensitive=False) == job
    job = exports.export_run(job=job)
    assert (job.status, job.rows) == ("done", 3)
    assert exports.export_run(job=job).rows == 3  # delivered again: left as it is


def test_an_export_fails_clearly_and_its_file_goes_only_to_who_may_still_have_it(
    client, manager, three, monkeypatch
):
    job = exports.export_queue(user=manager, query={}, format="csv", include_sensitive=True)
    monkeypatch.setattr(exports, "export_rows", lambda **kw: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError):
        exports.export_run(job=job)
    job.refresh_from_db()
    assert job.status == "failed" and job.error == exports.EXPORT_ERRORS["internal"]
    monkeypatch.undo()
    done = exports.export_run(job=exports.export_queue(user=manager, query={}, format="csv", include_sensitive=True))
    client.force_login(manager)
    assert client.get(f"/imports/exports/{done.pk}/file").status_code == 200
    # The right to see contact details withdrawn: the file with them is gone from reach.
    monkeypatch.setattr(type(manager), "scope_for",
                        lambda self, cap: 0 if cap == "customers.view_sensitive" else 3)
    assert client.get(f"/imports/exports/{done.pk}/file").status_code == 404


def test_old_exports_and_their_files_are_deleted_when_another_is_asked_for(manager, three):
    import datetime as dt
    import os

    from django.utils import timezone

    old = exports.export_run(job=exports.export_queue(user=manager, query={}, format="csv", include_sensitive=True))
    path = old.file.path
    ExportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    recent = exports.export_queue(user=manager, query={"region": "上海"}, format="csv", include_sensitive=False)
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))  # nor its folder


def test_the_periodic_cleaning_deletes_old_exports_too(manager, org, three):
    import datetime as dt
    import io

    from django.core.management import call_command
    from django.utils import timezone

    old = exports.export_run(job=exports.export_queue(user=manager, query={}, format="csv", include_sensitive=True))
    ExportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    out = io.StringIO()
    call_command("clean_customers", "--org", org.slug, stdout=out)
    assert "old exports deleted 1" in out.getvalue() and not ExportJob.objects.exists()


def test_the_export_holds_the_value_scores_and_a_segment_is_exported_by_its_name(
    client, manager, three
):
    from patron.insights.models import CustomerScore, ScoreRun, Segment

    org = manager.organization
    run = ScoreRun.objects.create(organization=org, as_of=dt.date(2026, 1, 1), status="done", is_current=True)
    CustomerScore.objects.create(
        organization=org, run=run, customer=three[0], as_of=run.as_of, class8="important_retain",
        clv=6543.219, churn_risk=0.8123,
    )
    segment = Segment.objects.create(
        organization=org, name="重要挽留", owner=manager,
        conditions=[{"field": "class8", "op": "eq", "value": "important_retain"}],
    )
    client.force_login(manager)
    response = client.get(f"/imports/export/customers/?segment={segment.pk}&format=csv")
    assert response.status_code == 200
    assert "filename*=UTF-8''%E9%87%8D%E8%A6%81%E6%8C%BD%E7%95%99-" in response["Content-Disposition"]
    # The whole list in Chinese is named in Chinese: 客户-<day>.csv.
    whole = client.get("/imports/export/customers/?format=csv", headers={"Accept-Language": "zh-hans"})
    assert "filename*=UTF-8''%E5%AE%A2%E6%88%B7-" in whole["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][-4:] == ["RFM segment", "Value class", "Lifetime value (12 months)", "Churn risk"]
    assert len(rows) == 2 and rows[1][1] == "张伟"
    assert rows[1][-3:] == ["Important to win back", "6543.22", "0.812"]
    # In Excel the risk is the number, shown as a percentage, as the pages show it.
    from openpyxl import load_workbook

    response = client.get(f"/imports/export/customers/?segment={segment.pk}&format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    risk = list(sheet.iter_rows(min_row=2, max_row=2))[0][-1]
    assert risk.value == pytest.approx(0.812) and risk.number_format == "0%"
    # Without scores the columns are blank.
    response = client.get("/imports/export/customers/?format=csv")
    everyone = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sorted(r[-2] for r in everyone[1:]) == ["", "", "6543.22"]


def test_background_work_speaks_the_language_of_who_asked_for_it(
    client, manager, org, three, tmp_path, write_csv, make_job, django_capture_on_commit_callbacks
):
    # A Chinese organisation, a manager who reads English: the import's reasons and rejected
    # rows file, and a background export's headings, are in English, as the pages were.
    from patron.imports import services, tasks

    org.language = "zh-hans"
    org.save()
    job = make_job(manager, write_csv(tmp_path / "f.csv", [["name", "phone"], ["A", "12345"]]))
    assert job.language == "en"
    tasks.import_job_run.call(str(job.pk), str(org.pk))
    job.refresh_from_db()
    assert job.rejections.get().reason == "12345 is not a valid phone number."
    assert services.rejected_rows_file(job=job).decode("utf-8-sig").startswith("Row,Imported,name,phone,Problems")
    export = exports.export_queue(user=manager, query={}, format="csv", include_sensitive=False)
    tasks.export_job_run.call(str(export.pk), str(org.pk))
    export.refresh_from_db()
    assert export.file.read().decode("utf-8-sig").startswith("Number,Name,Kind,Company,Job title")
