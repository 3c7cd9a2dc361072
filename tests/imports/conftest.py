"""Fixtures for the import tests: files with every kind of mess, written to tmp_path."""

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

HEADER_ZH = ["客户名称", "手机", "邮箱", "省份", "生日", "备注"]


def _write_csv(
    path: Path, rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def _write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


@pytest.fixture
def write_csv() -> Callable:
    return _write_csv


@pytest.fixture
def write_xlsx() -> Callable:
    return _write_xlsx


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def make_job(tmp_path) -> Callable:
    """Upload `path` as an import job for `user`."""
    from patron.imports import services

    def make(user, path: Path, kind: str = "customers", **options):
        upload = ContentFile(path.read_bytes(), name=path.name)
        return services.import_create(user=user, file=upload, name=path.name, kind=kind, **options)

    return make


@pytest.fixture
def messy_customers() -> list[list[str]]:
    """Ten rows: mixed phone formats, Chinese and English dates, a bad e-mail, a bad date,
    a row repeating another, a row with no name."""
    return [
        HEADER_ZH,
        ["  张 伟 ", "138 0013 8000", "ZHANG.Wei@Example.COM", "广东", "1990年1月2日", ""],
        ["李娜", "+86-139-0013-9000", "lina@example.com", "粤", "1991/2/3", ""],
        ["王强", "0086 13700137000", "", "上海市", "1992-03-04", "VIP"],
        ["刘洋", "12345", "liu@example.com", "Beijing", "", ""],  # bad phone
        ["陈静", "13600136000", "not-an-email", "浙江省", "", ""],  # bad e-mail
        ["杨帆", "13500135000", "yang@example.com", "江苏", "2024-02-30", ""],  # bad date
        ["张伟", "13800138000", "", "广东省", "", "again"],  # repeats row 2 by phone
        ["", "13400134000", "", "", "", ""],  # no name
        [
            "Ｊｏｈｎ　Ｓｍｉｔｈ",
            "(021) 6234 5678",
            "john@example.com",
            "Shanghai",
            "March 5, 2024",
            "",
        ],
        ["赵敏", "15000150000", "zhao@example.com", "四川", "", ""],
    ]
