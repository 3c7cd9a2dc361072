import pytest
from django.core.management import CommandError, call_command

from patron.customers.models import Customer
from patron.imports.models import ImportJob


def test_it_imports_a_file_and_writes_the_rejected_rows(owner, tmp_path, write_csv, capsys):
    path = write_csv(
        tmp_path / "c.csv",
        [["姓名", "电话"], ["张伟", "13800138000"], ["李娜", "abc"]],
        encoding="gbk",
    )
    rejected = tmp_path / "rejected.csv"
    call_command(
        "import_file",
        str(path),
        "--kind",
        "customers",
        "--org",
        "acme",
        "--user",
        "owner",
        "--rejected",
        str(rejected),
    )
    out = capsys.readouterr().out
    assert "1 created, 0 updated, 0 unchanged, 1 rejected of 2 rows" in out and str(rejected) in out
    assert "李娜" in rejected.read_text(encoding="utf-8-sig")
    assert Customer.objects.get().owner == owner


def test_it_takes_a_key_and_a_mapping(owner, customer, tmp_path, write_csv, capsys):
    path = write_csv(tmp_path / "c.csv", [["who", "mail"], ["Wang", "wang.fang@example.com"]])
    call_command(
        "import_file",
        str(path),
        "--org",
        "acme",
        "--user",
        "owner",
        "--key",
        "email",
        "--mapping",
        '{"who": "name", "mail": "email"}',
    )
    assert "0 created, 1 updated" in capsys.readouterr().out
    assert Customer.objects.get().name == "Wang"


def test_it_resumes_an_interrupted_import(owner, tmp_path, write_csv, make_job, capsys):
    job = make_job(owner, write_csv(tmp_path / "c.csv", [["name"], ["A"], ["B"]]))
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    call_command("import_file", "--org", "acme", "--user", "owner", "--resume", str(job.pk))
    assert "2 created" in capsys.readouterr().out


def test_it_fails_clearly(owner, tmp_path, write_csv):
    with pytest.raises(CommandError, match="no such organisation"):
        call_command("import_file", "x.csv", "--org", "nope", "--user", "owner")
    path = write_csv(tmp_path / "c.csv", [["phone"], ["13800138000"]])
    # In the organisation's language, as its import reports are.
    with pytest.raises(CommandError, match="没有列映射到"):
        call_command("import_file", str(path), "--org", "acme", "--user", "owner")
    with pytest.raises(CommandError, match=r"mapping.*未知字段：x"):  # the field "x" of the mapping
        call_command(
            "import_file",
            str(path),
            "--org",
            "acme",
            "--user",
            "owner",
            "--mapping",
            '{"phone": "x"}',
        )
