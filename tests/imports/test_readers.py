import codecs
import zipfile

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron.imports import readers

ROWS = [
    ["客户名称", "手机", "邮箱"],
    ["张伟", "13800138000", "zw@example.com"],
    ["李娜", "139 0013 9000", ""],
]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),
        ("gbk", ","),
        ("gb18030", ";"),
        ("utf-8", "\t"),
        ("gbk", "\t"),
    ],
)
def test_it_reads_csv_in_every_usual_encoding_and_delimiter(
    tmp_path, write_csv, encoding, delimiter
):
    path = write_csv(tmp_path / "f.csv", ROWS, encoding=encoding, delimiter=delimiter)
    table = readers.open_table(path)
    assert table.headers == ROWS[0]
    assert table.delimiter == delimiter
    assert [values for _, values in table.rows()] == ROWS[1:]


def test_it_detects_the_bom_and_gb18030():
    assert readers.detect_encoding(codecs.BOM_UTF8 + "名".encode()) == "utf-8-sig"
    assert readers.detect_encoding("客户名称".encode("gbk")) == "gb18030"
    # A sample cut inside a multi-byte character is still UTF-8.
    assert readers.detect_encoding("客户名称".encode()[:-1]) == "utf-8"


def test_it_numbers_rows_as_a_spreadsheet_does_and_skips_blank_lines(tmp_path, write_csv):
    path = write_csv(tmp_path / "f.csv", [ROWS[0], ROWS[1], ["", "", ""], ROWS[2]])
    assert [number for number, _ in readers.open_table(path).rows()] == [2, 4]


def test_it_refuses_an_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "bom.csv").write_bytes(codecs.BOM_UTF8 + b"\r\n")
    for name in ("empty.csv", "bom.csv"):
        with pytest.raises(readers.ReaderError):
            readers.open_table(tmp_path / name)


def test_it_reads_xlsx_with_numbers_and_dates_as_text(tmp_path, write_xlsx):
    import datetime as dt

    path = write_xlsx(
        tmp_path / "f.xlsx",
        [
            ["姓名", "手机", "下单时间", "金额"],
            ["王芳", 13812341016, dt.datetime(2024, 3, 5, 14, 30), 12.5],
        ],
    )
    table = readers.open_table(path)
    assert table.format == "xlsx"
    assert list(table.rows()) == [(2, ["王芳", "13812341016", "2024-03-05 14:30:00", "12.5"])]


def test_it_reports_a_truncated_xlsx_instead_of_crashing(tmp_path, write_xlsx):
    full = write_xlsx(
        tmp_path / "full.xlsx", [["a", "b"], *[[i, i] for i in range(200)]]
    ).read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(readers.ReaderError):
        list(readers.open_table(cut).rows())
    assert not zipfile.is_zipfile(cut)


VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zhang Wei\r\nN:Zhang;Wei;;;\r\n"
    "ORG:Acme Trading;Sales\r\nTITLE:Buyer\r\n"
    "TEL;TYPE=work,voice:+86 21 6234 5678\r\nTEL;TYPE=CELL:138-0013-8000\r\n"
    "EMAIL;TYPE=INTERNET:zhang.wei@example.com\r\n"
    "ADR;TYPE=work:;;88 Century Ave;Shanghai;Shanghai;200120;China\r\n"
    "NOTE:A note folded over\r\n  two lines\r\nX-CUSTOM;FOO=bar:ignored\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E7=8E=8B;=E8=8A=B3\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E7=8E=8B=\r\n=E8=8A=B3\r\n"
    "TEL;CELL:13912341016\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Li Na\r\nTEL;VALUE=uri;TYPE=cell:tel:+86-139-0013-9000\r\n"
    "EMAIL:mailto:li@example.com\r\nEND:VCARD\r\n"
)


def test_it_parses_vcards_with_folding_quoted_printable_and_odd_fields(tmp_path):
    path = tmp_path / "contacts.vcf"
    path.write_text(VCARD, encoding="utf-8")
    table = readers.open_table(path)
    cards = [dict(zip(table.headers, values, strict=True)) for _, values in table.rows()]
    assert len(cards) == 3
    assert cards[0]["FN"] == "Zhang Wei" and cards[0]["ORG"] == "Acme Trading"  # not its unit
    assert cards[0]["TEL.cell"] == "138-0013-8000" and cards[0]["TEL"] == "+86 21 6234 5678"
    assert cards[0]["ADR.city"] == "Shanghai" and cards[0]["NOTE"] == "A note folded over two lines"
    assert (
        cards[1]["FN"] == "王芳"
        and cards[1]["N.family"] == "王"
        and cards[1]["TEL.cell"] == "13912341016"
    )
    assert cards[2]["TEL.cell"] == "+86-139-0013-9000" and cards[2]["EMAIL"] == "li@example.com"


def test_a_vcard_shows_its_columns_by_what_they_hold(tmp_path):
    path = tmp_path / "contacts.vcf"
    path.write_text(VCARD, encoding="utf-8")
    table = readers.open_table(path)
    assert table.headers[:3] == ["FN", "N.family", "N.given"]  # what a mapping names
    assert table.labels[:3] == ["Full name (FN)", "Family name (N.family)", "Given name (N.given)"]
    with translation.override("zh-hans"):
        assert table.labels[5] == "电话（优先手机） (TEL.cell)"


def test_a_vcard_with_only_a_work_phone_gives_it_as_its_phone():
    card = next(readers.parse_vcards("BEGIN:VCARD\nFN:Li Na\nTEL;TYPE=WORK:021-6234 5678\nEND:VCARD\n"))
    assert (card["TEL.cell"], card.get("TEL", "")) == ("021-6234 5678", "")


@pytest.mark.parametrize("birthday", ["--0415", "--04-15", ";X-APPLE-OMIT-YEAR=1604:1604-04-15"])
def test_a_vcard_birthday_without_year_goes_to_the_note(birthday):
    birthday = birthday if birthday.startswith(";") else ":" + birthday
    card = f"BEGIN:VCARD\nFN:Li Na\nBDAY{birthday}\nEND:VCARD\n"
    parsed = next(readers.parse_vcards(card))
    assert (parsed["BDAY"], parsed["NOTE"]) == ("", "Birthday 04-15 (no year given)")
    full = next(readers.parse_vcards("BEGIN:VCARD\nFN:Li Na\nBDAY:1990-04-15\nEND:VCARD\n"))
    assert (full["BDAY"], full.get("NOTE", "")) == ("1990-04-15", "")


def test_it_decodes_a_gbk_charset_parameter():
    card = "BEGIN:VCARD\nFN;CHARSET=GBK;ENCODING=QUOTED-PRINTABLE:=D5=C5=CE=B0\nEND:VCARD\n"
    assert next(readers.parse_vcards(card))["FN"] == "张伟"


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_it_round_trips_any_table_through_csv(
    tmp_path_factory, write_csv, rows, encoding, delimiter
):
    header = ["名称", "phone", "邮箱"]
    path = write_csv(
        tmp_path_factory.mktemp("p") / "f.csv",
        [header, *rows],
        encoding=encoding,
        delimiter=delimiter,
    )
    table = readers.open_csv(path, encoding=encoding, delimiter=delimiter)
    expected = [r for r in rows if any(c.strip() for c in r)]
    assert [v for _, v in table.rows()] == expected


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200
        ),
        max_size=5,
    )
)
def test_it_never_crashes_on_arbitrary_vcard_text(lines):
    text = "BEGIN:VCARD\r\n" + "\r\n".join(lines) + "\r\nEND:VCARD\r\n"
    cards = list(readers.parse_vcards(text))
    assert len(cards) <= 1 + sum(line.upper().startswith("BEGIN:VCARD") for line in lines)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcdefghij 张伟", min_size=1, max_size=300))
def test_it_unfolds_whatever_it_folded(value):
    folded = "NOTE:" + "".join(
        value[i : i + 20] + "\r\n " for i in range(0, len(value), 20)
    ).rstrip(" ").rstrip("\r\n")
    unfolded = readers.unfold(f"BEGIN:VCARD\r\n{folded}\r\nEND:VCARD")
    assert unfolded[1] == "NOTE:" + value


def test_a_gbk_file_whose_chinese_comes_after_the_first_64_kb_is_read_as_gbk(tmp_path, write_csv):
    rows = [["name", "city"], *[[f"Customer {i}", "Shanghai"] for i in range(4000)], ["上海贸易公司", "上海"]]
    path = write_csv(tmp_path / "late.csv", rows, encoding="gbk")
    assert path.stat().st_size > readers.SAMPLE_BYTES
    table = readers.open_table(path)
    assert table.encoding == "gb18030"
    assert list(table.rows())[-1][1] == ["上海贸易公司", "上海"]
    # A UTF-8 file stays UTF-8 however late its Chinese comes.
    utf8 = write_csv(tmp_path / "late-utf8.csv", rows)
    assert readers.open_table(utf8).encoding == "utf-8"


def test_an_old_binary_excel_file_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "客户.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(readers.ReaderError, match=r"save it as \.xlsx or CSV"):
        readers.open_table(path)
    # Even under another name: the content says what it is.
    renamed = tmp_path / "customers.csv"
    renamed.write_bytes(path.read_bytes())
    with pytest.raises(readers.ReaderError, match="old Excel"):
        readers.open_table(renamed)


def test_a_text_export_named_xls_is_read_as_text_and_a_stray_byte_keeps_utf8(tmp_path):
    tsv = tmp_path / "系统导出.xls"
    tsv.write_bytes("客户名称\t手机\t城市\r\n张伟\t13800138000\t上海\r\n".encode("gbk"))
    table = readers.open_table(tsv)
    assert (table.format, table.delimiter, table.headers) == ("csv", "\t", ["客户名称", "手机", "城市"])
    stray = tmp_path / "utf8.csv"
    stray.write_bytes("姓名,城市\r\n张伟,上海\r\n".encode() + b"Li Na,Shanghai\xa0\r\n")
    assert readers.open_table(stray).headers == ["姓名", "城市"]


def test_a_two_cell_note_above_a_wider_header_is_not_the_header(tmp_path, write_csv):
    rows = [["导出人", "王磊", "", ""], ["姓名", "电话", "邮箱", "地址"], ["张伟", "13800138000", "", ""]]
    table = readers.open_table(write_csv(tmp_path / "f.csv", rows))
    assert (table.header_row, table.headers) == (2, ["姓名", "电话", "邮箱", "地址"])


def test_a_workbook_with_a_chart_sheet_is_read_from_its_data(tmp_path):
    from openpyxl import Workbook
    from openpyxl.chart import BarChart

    workbook = Workbook()
    data = workbook.active
    data.title = "数据"
    for row in [["客户名称", "手机", "城市"], ["张伟", "13800138000", "上海"]]:
        data.append(row)
    chart = workbook.create_chartsheet("图表", 0)
    chart.add_chart(BarChart())
    path = tmp_path / "chart.xlsx"
    workbook.save(path)
    table = readers.open_table(path)
    assert (table.sheet, table.sheets) == ("数据", ["数据"])
    with pytest.raises(readers.NoSuchSheet):
        readers.open_table(path, sheet="图表")
