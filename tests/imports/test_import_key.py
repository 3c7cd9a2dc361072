"""The field an import matches records on must be a column of the file (QA: "match on
e-mail" with no e-mail column created every customer again at each re-import); a row whose
key cell is empty is matched as with no key chosen."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from patron.customers.models import Customer
from patron.imports import services
from patron.imports.models import ImportJob

UNMAPPED = "Records are matched on E-mail, but no column is mapped to it."


@pytest.fixture
def phones_only(tmp_path, write_csv):
    return write_csv(tmp_path / "key.csv", [["客户名称", "手机"], ["QA键甲", "13800006661"], ["QA键乙", "13800006662"]])


def test_the_mapping_page_refuses_a_key_no_column_is_mapped_to(client, owner, make_job, phones_only):
    job = make_job(owner, phones_only)
    client.force_login(owner)
    form = {"column_0": "name", "column_1": "phone", "key_field": "email", "owner_rule": "importer"}
    response = client.post(f"/imports/{job.pk}/mapping/", form)
    assert response.status_code == 400
    assert response.context["form"].errors["key_field"] == [UNMAPPED]
    job.refresh_from_db()
    assert job.key_field == ""


def test_the_service_refuses_to_start_or_create_with_an_unmapped_key(owner, make_job, phones_only):
    with pytest.raises(ValidationError) as refused:
        make_job(owner, phones_only, key_field="email")
    assert refused.value.message_dict == {"key_field": [UNMAPPED]}
    job = make_job(owner, phones_only)
    ImportJob.objects.filter(pk=job.pk).update(key_field="email")  # as set before this check
    job.refresh_from_db()
    with pytest.raises(ValidationError, match="no column is mapped"):
        services.import_start(job=job, user=owner)
    assert UNMAPPED in services.import_prepare(job=job, user=owner).problems


@pytest.mark.urls("imports_test_urls")
def test_the_api_and_the_command_refuse_an_unmapped_key(api, owner, phones_only):
    response = api(owner).post(
        "/api/imports/",
        {"file": SimpleUploadedFile("k.csv", phones_only.read_bytes()), "kind": "customers", "key_field": "email"},
        format="multipart",
    )
    assert response.status_code == 400 and response.json() == {"key_field": [UNMAPPED]}
    # The command speaks the organisation's language (Chinese here).
    with pytest.raises(CommandError, match="key_field.*没有任何列对应到该字段"):
        call_command("import_file", str(phones_only), "--org", "acme", "--user", "owner", "--key", "email")
    assert not ImportJob.objects.exists() and not Customer.objects.exists()


def test_a_row_without_its_key_matches_on_its_phone_instead_of_making_a_twin(
    owner, customer, tmp_path, write_csv, make_job
):
    path = write_csv(tmp_path / "k.csv", [
        ["客户名称", "手机", "邮箱"],
        ["王芳", "13812341016", ""],  # the fixture's customer, by phone, without an e-mail here
        ["新客户", "13900000001", ""],
    ])
    job = services.import_run(job=make_job(owner, path, key_field="email"))
    assert (job.rows_created, job.rows_unchanged, job.rows_rejected) == (1, 1, 0)
    assert Customer.objects.filter(phone="+8613812341016").count() == 1
    again = services.import_run(job=make_job(owner, path, key_field="email"))
    assert again.rows_created == 0 and Customer.objects.count() == 2


@pytest.mark.parametrize("batch_size", [20_000, 1])  # the two rows in one batch, and in two
def test_a_row_without_its_key_finds_the_customer_an_earlier_row_of_the_file_made(
    owner, tmp_path, write_csv, make_job, batch_size
):
    """Matched on e-mail, a row with no e-mail falls back to its phone: that phone belongs to
    the customer the row above made, which was filed under its e-mail only (a twin before)."""
    path = write_csv(tmp_path / "k.csv", [
        ["客户名称", "手机", "邮箱", "备注"],
        ["赵敏", "13900000021", "zhao@example.com", "first"],
        ["赵敏", "13900000021", "", "second"],
        ["孙立", "", "", ""],  # no phone, no e-mail: filed under its name
        ["孙立", "", "", "again"],
    ])
    job = make_job(owner, path, key_field="email")
    assert [row.action for row in services.import_prepare(job=job, user=owner).rows] == [
        "create", "repeat", "create", "repeat"]
    job = services.import_run(job=job, batch_size=batch_size)
    assert (job.rows_created, job.rows_updated, job.rows_rejected) == (2, 2, 0)
    zhao = Customer.objects.get(phone="+8613900000021")
    assert (zhao.email, zhao.notes) == ("zhao@example.com", "second")
    assert Customer.objects.filter(name="孙立").count() == 1


@pytest.mark.parametrize("batch_size", [20_000, 1])
def test_a_row_without_its_key_finds_the_customer_an_earlier_row_updated(
    owner, tmp_path, write_csv, make_job, batch_size
):
    """The row above gives the matched customer a new phone: the next row, with no e-mail,
    finds it by that phone in the same batch too (it made a twin there)."""
    from patron.customers import services as customers

    customers.customer_create(user=owner, data={"name": "赵敏", "phone": "13900000021", "email": "zhao@example.com"})
    path = write_csv(tmp_path / "k.csv", [
        ["客户名称", "手机", "邮箱", "备注"],
        ["赵敏", "13900000099", "zhao@example.com", "new phone"],
        ["赵敏", "13900000099", "", "second"],
    ])
    job = services.import_run(job=make_job(owner, path, key_field="email"), batch_size=batch_size)
    assert (job.rows_created, job.rows_updated, job.rows_rejected) == (0, 2, 0)
    zhao = Customer.objects.get()
    assert (zhao.phone, zhao.notes) == ("+8613900000099", "second")
