"""Reading import files into header + rows: CSV (any usual encoding and delimiter), XLSX, vCard.

Every reader yields `(row_number, values)` where `row_number` is what a person sees in a
spreadsheet (the header's row, often 1, then the records below it; for vCard, the card's
position), so a rejected row can be found and fixed in the original file. Readers stream: a million-row file
is never held in memory, and a resumed import re-reads the file and skips what has landed.
"""

import codecs
import csv
import datetime as dt
import io
import itertools
import quopri
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SAMPLE_BYTES = 64 * 1024
# Spreadsheets exported by hand often open with a title ("2024年客户名单") or a note above
# the column names; the header is looked for among this many first rows.
HEADER_SCAN_ROWS = 10
# How far down a person may put the header by hand.
MAX_HEADER_ROW = 100
DELIMITERS = (",", ";", "\t", "|")
VCARD_COLUMNS = [
    "FN",
    "N.family",
    "N.given",
    "ORG",
    "TITLE",
    "TEL.cell",
    "TEL",
    "EMAIL",
    "ADR.region",
    "ADR.city",
    "ADR",
    "BDAY",
    "NOTE",
]
# What each vCard column holds, for the person mapping them (the codes stay the headers).
VCARD_LABELS = {
    "FN": gettext_lazy("Full name"),
    "N.family": gettext_lazy("Family name"),
    "N.given": gettext_lazy("Given name"),
    "ORG": gettext_lazy("Company"),
    "TITLE": gettext_lazy("Job title"),
    "TEL.cell": gettext_lazy("Phone (the mobile if any)"),
    "TEL": gettext_lazy("Other phone"),
    "EMAIL": gettext_lazy("E-mail"),
    "ADR.region": gettext_lazy("Province or state"),
    "ADR.city": gettext_lazy("City"),
    "ADR": gettext_lazy("Address"),
    "BDAY": gettext_lazy("Birthday"),
    "NOTE": gettext_lazy("Note"),
}
csv.field_size_limit(16 * 1024 * 1024)


class ReaderError(Exception):
    """The file cannot be read at all (empty, truncated, not the format it claims)."""


class NoSuchSheet(ReaderError):
    """The workbook has no sheet of the name asked for."""


@dataclass
class Table:
    """An opened import file: its format, how it was decoded, its header, and its rows."""

    path: Path
    format: str  # "csv", "xlsx" or "vcard"
    headers: list[str]
    encoding: str = ""
    delimiter: str = ""
    # The spreadsheet row (1-based) holding the column names; records follow it.
    header_row: int = 1
    # XLSX: the sheet read, and every sheet of the workbook to choose from.
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """The headers as shown to people: a vCard's codes with what they hold."""
        if self.format != "vcard":
            return self.headers
        return [f"{VCARD_LABELS[h]} ({h})" if h in VCARD_LABELS else h for h in self.headers]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        if self.format == "csv":
            return _csv_rows(self.path, self.encoding, self.delimiter, self.header_row)
        if self.format == "xlsx":
            return _xlsx_rows(self.path, self.sheet, self.header_row)
        return _vcard_rows(self.path, self.encoding)


def find_header(rows: list[list[str]]) -> int:
    """The row number (1-based) of the column names among a file's first rows: the first row
    filled at least half as wide as the widest, and with three names at least (two when the
    file has two columns). A title or a note above the header ("导出人, 王磊") fills one or
    two cells."""
    counts = [sum(1 for v in row if v.strip()) for row in rows]
    widest = max(counts, default=0)
    need = max(min(widest, 3), (widest + 1) // 2)
    for number, count in enumerate(counts, start=1):
        if count and count >= need:
            return number
    return 1


def detect_encoding(head: bytes) -> str:
    """'utf-8-sig' when there is a BOM, 'utf-8' when the bytes decode as UTF-8, else GB18030.

    GB18030 is a superset of GBK and GB2312, which is what Excel writes on Chinese Windows.
    The sample may end inside a multi-byte character, so decoding is incremental.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def detect_file_encoding(path: Path) -> str:
    """`detect_encoding` over the whole file: a GBK file whose first 64 KB are ASCII (English
    headers, numbers) would otherwise read as UTF-8, and its Chinese rows as garbage. The file
    is GBK when the first byte that is not UTF-8 comes before any Chinese written in UTF-8;
    a stray byte in a file already seen to be UTF-8 stays one replaced character. (A quarter
    of a second per 100 MB, at upload.)"""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return detect_encoding(head)
        decoder = codecs.getincrementaldecoder("utf-8")()
        seen_utf8 = False
        chunk = head
        while chunk:
            try:
                seen_utf8 = seen_utf8 or not decoder.decode(chunk).isascii()
            except UnicodeDecodeError as exc:
                before = chunk[: max(exc.start, 0)]
                return "utf-8" if seen_utf8 or not before.isascii() else "gb18030"
            chunk = handle.read(2**20)
    return "utf-8"  # a character cut short at the very end is not a reason to read it otherwise


def detect_delimiter(sample: str) -> str:
    """The delimiter that splits the first lines into the same, largest number of fields."""
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line short
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        # The most usual width of two fields or more: a title line above the header is one.
        counts = Counter(n for n in (len(r) for r in csv.reader(lines, delimiter=delimiter)) if n > 1)
        if not counts:
            continue
        width, lines_of_width = counts.most_common(1)[0]
        score = (lines_of_width, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_rows(path: Path, encoding: str, delimiter: str, header_row: int = 1) -> Iterator[tuple[int, list[str]]]:
    # Row numbers count records as a spreadsheet shows them (a quoted field with line breaks
    # stays one row), so they match what the person opening the file sees.
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        for _skipped in itertools.islice(reader, header_row):
            pass
        for number, row in enumerate(reader, start=header_row + 1):
            if "".join(row).strip():  # skip blank rows; one C call rather than one per cell
                yield number, row


def _header(first_rows: list[list[str]], header_row: int) -> tuple[int, list[str]]:
    """The header row (found when `header_row` is 0) and its names, or a clear error."""
    header_row = header_row or find_header(first_rows)
    if header_row > len(first_rows):
        raise ReaderError(_("The file has no row %(n)s to read the column names from.") % {"n": header_row})
    names = [h.strip() for h in first_rows[header_row - 1]]
    if not any(names):
        if header_row == 1:
            raise ReaderError(_("The first row holds no column names."))
        raise ReaderError(_("Row %(n)s holds no column names.") % {"n": header_row})
    while names and not names[-1]:
        names.pop()  # the empty cells Excel leaves right of the last column
    return header_row, names


def open_csv(path: Path, *, encoding: str = "", delimiter: str = "", header_row: int = 0) -> Table:
    """`header_row` 0 finds the header among the first rows."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if not head.strip(b"\xef\xbb\xbf \r\n\t"):
        raise ReaderError(_("The file is empty."))
    encoding = encoding or detect_file_encoding(path)
    sample = head.decode(encoding, errors="ignore")
    delimiter = delimiter or detect_delimiter(sample)
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        first = list(itertools.islice(reader, max(header_row, HEADER_SCAN_ROWS)))
    header_row, headers = _header(first, header_row)
    return Table(path, "csv", headers, encoding, delimiter, header_row=header_row)


def _cell(value: object) -> str:
    """A spreadsheet cell as text; whole floats lose their '.0' (phones stored as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time(0) else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _damaged(exc: BaseException) -> ReaderError:
    # The library's own words ("File is not a zip file") would mean nothing to the reader.
    return ReaderError(
        _("The spreadsheet is damaged or truncated; open it in Excel or WPS, save it again and upload that.")
    )


def _load_workbook(path: Path):
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise _damaged(exc) from None


def _first_rows(sheet, count: int) -> list[list[str]]:
    try:
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True, max_row=count)]
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise _damaged(exc) from None


def _sheet_names(workbook) -> list[str]:
    """The sheets that hold cells (a chart sheet has none)."""
    return [sheet.title for sheet in workbook.worksheets]


def _sheet(workbook, name: str):
    if name not in _sheet_names(workbook):
        raise NoSuchSheet(_("The workbook has no sheet named “%(name)s”.") % {"name": name})
    return workbook[name]


def _xlsx_rows(path: Path, sheet_name: str, header_row: int) -> Iterator[tuple[int, list[str]]]:
    workbook = _load_workbook(path)
    try:
        sheet = _sheet(workbook, sheet_name) if sheet_name else workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True, min_row=header_row + 1)
        for number, row in enumerate(rows, start=header_row + 1):
            values = [_cell(v) for v in row]
            if any(v.strip() for v in values):
                yield number, values
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise _damaged(exc) from None
    finally:
        workbook.close()


def _table_sheet(workbook, rows: int) -> tuple[str, list[list[str]]]:
    """The first sheet that holds a table (a header of three names or more, else two) and
    its first rows; else the first that holds anything. A workbook often opens on a cover or
    a sheet of notes."""
    filled: list[tuple[str, list[list[str]], int]] = []
    for name in _sheet_names(workbook):
        first = _first_rows(workbook[name], rows)
        if any(v.strip() for row in first for v in row):
            header = first[find_header(first) - 1]
            filled.append((name, first, sum(1 for v in header if v.strip())))
    if not filled:
        raise ReaderError(_("The spreadsheet is empty."))
    # Three names make a table; two may be a cover of labels and values.
    for least in (3, 2, 0):
        for name, first, names in filled:
            if names >= least:
                return name, first
    return filled[0][:2]


def open_xlsx(path: Path, *, sheet: str = "", header_row: int = 0) -> Table:
    """The named sheet, or else the first that holds a table (`_table_sheet`); `header_row`
    0 finds the header among the first rows."""
    workbook = _load_workbook(path)
    try:
        names = _sheet_names(workbook)
        if sheet:
            first = _first_rows(_sheet(workbook, sheet), max(header_row, HEADER_SCAN_ROWS))
        else:
            sheet, first = _table_sheet(workbook, max(header_row, HEADER_SCAN_ROWS))
    finally:
        workbook.close()
    header_row, headers = _header(first, header_row)
    return Table(path, "xlsx", headers, header_row=header_row, sheet=sheet, sheets=names)


# --- vCard 3.0 / 4.0 (RFC 2426, RFC 6350) -----------------------------------------------

_CONTENT_LINE = re.compile(r"^(?:[\w-]+\.)?([A-Za-z][\w-]*)((?:;[^:]*)?):(.*)$", re.S)


def unfold(text: str) -> list[str]:
    """Join folded lines (a CRLF followed by a space or tab continues the previous line) and
    QUOTED-PRINTABLE soft breaks (a line ending in '=' continues on the next)."""
    lines: list[str] = []
    for raw in re.split(r"\r\n|\r|\n", text):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif lines and lines[-1].endswith("=") and "QUOTED-PRINTABLE" in lines[-1].upper().split(":")[0]:
            lines[-1] = lines[-1][:-1] + raw
        else:
            lines.append(raw)
    return [line for line in lines if line.strip()]


def _params(raw: str) -> dict[str, list[str]]:
    """';TYPE=cell,voice;CHARSET=GBK;ENCODING=QUOTED-PRINTABLE' -> {'TYPE': [...], ...}.
    vCard 2.1 bare parameters (';CELL;PREF') count as TYPE values."""
    params: dict[str, list[str]] = {}
    for part in filter(None, raw.split(";")):
        name, sep, value = part.partition("=")
        key, values = (name.upper(), value) if sep else ("TYPE", name)
        params.setdefault(key, []).extend(v.strip('"').lower() for v in values.split(","))
    return params


def _decode_value(value: str, params: dict[str, list[str]]) -> str:
    encoding = [e.upper() for e in params.get("ENCODING", [])]
    charset = (params.get("CHARSET") or ["utf-8"])[0]
    if "QUOTED-PRINTABLE" in encoding:
        data = quopri.decodestring(value.encode("ascii", errors="ignore"))
        try:
            return data.decode(charset, errors="replace")
        except LookupError:
            return data.decode("utf-8", errors="replace")
    return value.replace("\\n", "\n").replace("\\N", "\n").replace("\\,", ",").replace("\\;", ";")


def _components(value: str) -> list[str]:
    """Split a structured value (N, ADR) on unescaped semicolons."""
    return [p.replace("\\;", ";") for p in re.split(r"(?<!\\);", value)]


def parse_vcards(text: str) -> Iterator[dict[str, str]]:
    """Each card as a flat dict keyed by VCARD_COLUMNS; unknown properties are skipped."""
    card: dict[str, str] | None = None
    for line in unfold(text):
        match = _CONTENT_LINE.match(line)
        if not match:
            continue
        name, raw_params, value = match.group(1).upper(), match.group(2), match.group(3)
        if name == "BEGIN" and value.strip().upper() == "VCARD":
            card = {}
        elif name == "END" and card is not None:
            yield _finish_card(card)
            card = None
        elif card is not None:
            params = _params(raw_params)
            _apply(card, name, params, _decode_value(value, params).strip())


def _apply(card: dict[str, str], name: str, params: dict[str, list[str]], value: str) -> None:
    types = set(params.get("TYPE", []))
    if name == "N":
        parts = [*_components(value), "", ""]
        card.setdefault("N.family", parts[0].strip())
        card.setdefault("N.given", parts[1].strip())
    elif name == "ADR":
        parts = [*_components(value), "", "", "", "", "", "", ""]
        card.setdefault("ADR.city", parts[3].strip())
        card.setdefault("ADR.region", parts[4].strip())
        card.setdefault("ADR", " ".join(p.strip() for p in parts[:6] if p.strip()))
    elif name == "TEL":
        value = value.removeprefix("tel:")
        card.setdefault("TEL.cell" if "cell" in types else "TEL", value)
    elif name == "ORG":  # "Acme Trading;Sales": the organisation, then its units
        card.setdefault("ORG", _components(value)[0].strip())
    elif name == "BDAY" and params.get("X-APPLE-OMIT-YEAR"):
        # Apple writes a birthday without its year as that year: "1604-04-15".
        year = params["X-APPLE-OMIT-YEAR"][0]
        card.setdefault(name, "--" + value[len(year) :].lstrip("-") if value.startswith(year) else value)
    elif name in ("FN", "EMAIL", "TITLE", "BDAY", "NOTE"):
        card.setdefault(name, value.removeprefix("mailto:"))


# A birthday without its year, as phones store it: "--0415" (vCard 4), "--04-15" (vCard 3).
_YEARLESS = re.compile(r"^--(\d{2})-?(\d{2})$")


def _finish_card(card: dict[str, str]) -> dict[str, str]:
    """A card without a mobile gives its first other phone as its phone. A birthday without
    a year cannot be a date: it is kept in the note rather than refuse the contact for it."""
    if not card.get("TEL.cell") and card.get("TEL"):
        card["TEL.cell"] = card.pop("TEL")
    match = _YEARLESS.match(card.get("BDAY", ""))
    if match:
        month, day = match.groups()
        kept = _("Birthday %(date)s (no year given)") % {"date": f"{month}-{day}"}
        card["NOTE"] = "\n".join(filter(None, [card.get("NOTE", ""), kept]))
        card["BDAY"] = ""
    return card


def _vcard_rows(path: Path, encoding: str) -> Iterator[tuple[int, list[str]]]:
    text = path.read_text(encoding=encoding, errors="replace")
    for number, card in enumerate(parse_vcards(text), start=1):
        yield number, [card.get(column, "") for column in VCARD_COLUMNS]


def open_vcard(path: Path, *, encoding: str = "") -> Table:
    head = path.read_bytes()[:SAMPLE_BYTES]
    if not head.strip():
        raise ReaderError(_("The file is empty."))
    encoding = encoding or detect_file_encoding(path)
    if "BEGIN:VCARD" not in head.decode(encoding, errors="ignore").upper():
        raise ReaderError(_("The file holds no vCard."))
    return Table(path, "vcard", list(VCARD_COLUMNS), encoding)


def open_table(
    path: Path,
    *,
    name: str = "",
    encoding: str = "",
    delimiter: str = "",
    sheet: str = "",
    header_row: int = 0,
) -> Table:
    """Open an import file, choosing the reader by the name's extension, then by content.
    `header_row` 0 finds the column names among the first rows (CSV and XLSX)."""
    suffix = Path(name or path.name).suffix.lower()
    if path.stat().st_size == 0:
        raise ReaderError(_("The file is empty."))
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == b"\xd0\xcf\x11\xe0":  # by content: the old binary formats, or encrypted
        raise ReaderError(
            _(
                "This is an old Excel (.xls) or WPS file, or one protected by a password; "
                "save it as .xlsx or CSV without a password and upload that."
            )
        )
    # A file named .xls that is neither is usually a system's text export: read as CSV.
    if magic == b"PK\x03\x04" or suffix in (".xlsx", ".xlsm"):
        return open_xlsx(path, sheet=sheet, header_row=header_row)
    if suffix in (".vcf", ".vcard"):
        return open_vcard(path, encoding=encoding)
    return open_csv(path, encoding=encoding, delimiter=delimiter, header_row=header_row)


def read_all(table: Table, limit: int | None = None) -> list[tuple[int, list[str]]]:
    """The first `limit` rows (all when None), for previews and tests."""
    rows = []
    for item in table.rows():
        if limit is not None and len(rows) >= limit:
            break
        rows.append(item)
    return rows


def samples(table: Table, *, per_column: int = 3, rows: int = 50) -> list[list[str]]:
    """A few distinct values of each column from the first rows, to show beside its name
    while mapping; long values are cut."""
    found: list[list[str]] = [[] for _ in table.headers]
    for _number, values in read_all(table, rows):
        for column, value in zip(found, values, strict=False):
            value = " ".join(value.split())
            if len(value) > 40:
                value = value[:39] + "…"
            if value and value not in column and len(column) < per_column:
                column.append(value)
    return found


def sniff_text(data: bytes) -> str:
    """Decode a small byte string the way the CSV reader would (used by tests and the API)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=detect_encoding(data[:SAMPLE_BYTES])).read()
