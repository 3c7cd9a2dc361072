"""The zh-Hans catalogue: complete, compiled, and in step with the sources.

The catalogue is read with a small parser of our own (the .po subset that makemessages
writes), so that the check needs no extra dependency.
"""

import gettext
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

import patron

PACKAGE = Path(patron.__file__).resolve().parent
CATALOGUE = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = CATALOGUE / "django.po"
MO = CATALOGUE / "django.mo"

_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"$')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
# %(name)s, %(n).1f, %s, %d, %% and {0}/{name}: what must survive translation unchanged.
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifrx%]|\{[^{}]*\}")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), text)


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr ({index: text}), flags.

    Obsolete entries (#~) are left out: they are not shown to anyone.
    """
    entries: list[dict] = []
    entry: dict | None = None
    field: tuple[str, int] | None = None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line or line.startswith("#~"):
            if entry is not None and line == "":
                entries.append(entry)
                entry, field = None, None
            continue
        if entry is None:
            entry = {"msgctxt": None, "msgid": "", "msgid_plural": None, "msgstr": {}, "flags": set()}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif match := _KEYWORD.match(line):
            keyword, index, text = match.groups()
            field = ("msgstr", int(index or 0)) if keyword.startswith("msgstr") else (keyword, 0)
            _append(entry, field, _unescape(text), start=True)
        elif line.startswith('"') and field is not None:
            _append(entry, field, _unescape(line[1:-1]), start=False)
    return [e for e in entries if e["msgid"] or e["msgstr"]]


def _append(entry: dict, field: tuple[str, int], text: str, *, start: bool) -> None:
    name, index = field
    if name == "msgstr":
        entry["msgstr"][index] = ("" if start else entry["msgstr"][index]) + text
    else:
        entry[name] = ("" if start else entry[name] or "") + text


def _key(entry: dict) -> tuple[str | None, str]:
    return entry["msgctxt"], entry["msgid"]


def _messages(entries: list[dict]) -> list[dict]:
    """Every entry but the header (msgid "")."""
    return [e for e in entries if e["msgid"]]


@pytest.fixture(scope="module")
def catalogue() -> list[dict]:
    return _messages(parse_po(PO))


def test_it_reads_entries_plurals_contexts_and_flags(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: zh_Hans\\n"\n\n'
        '#: a.py:1\n#, fuzzy, python-format\nmsgid "Hello, %(name)s"\nmsgstr "您好，%(name)s"\n\n'
        'msgctxt "month"\nmsgid "May"\nmsgstr ""\n\n'
        'msgid "%(n)s deal"\nmsgid_plural "%(n)s deals"\nmsgstr[0] ""\n"%(n)s 个商机"\n\n'
        '#~ msgid "Gone"\n#~ msgstr "已删除"\n',
        encoding="utf-8",
    )
    header, hello, may, deal = parse_po(po)
    assert header["msgstr"] == {0: "Language: zh_Hans\n"}
    assert hello["flags"] == {"fuzzy", "python-format"} and hello["msgstr"] == {0: "您好，%(name)s"}
    assert _key(may) == ("month", "May") and may["msgstr"] == {0: ""}
    assert deal["msgid_plural"] == "%(n)s deals" and deal["msgstr"] == {0: "%(n)s 个商机"}


def test_it_has_a_chinese_header_with_one_plural_form():
    header = parse_po(PO)[0]
    assert header["msgid"] == ""
    assert "fuzzy" not in header["flags"]
    assert "Language: zh_Hans\n" in header["msgstr"][0]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header["msgstr"][0]


def test_it_translates_every_entry(catalogue):
    assert len(catalogue) > 500  # the whole project, not a stub
    untranslated = [e["msgid"] for e in catalogue if not all(e["msgstr"].values()) or not e["msgstr"]]
    fuzzy = [e["msgid"] for e in catalogue if "fuzzy" in e["flags"]]
    assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


def test_it_keeps_every_placeholder_of_the_english(catalogue):
    wrong = [
        (e["msgid"], text)
        for e in catalogue
        for text in e["msgstr"].values()
        if sorted(_PLACEHOLDER.findall(text))
        != sorted(_PLACEHOLDER.findall(e["msgid_plural"] or e["msgid"]))
    ]
    assert not wrong, f"{len(wrong)} translations change placeholders, e.g. {wrong[:3]}"


def test_it_ships_a_compiled_catalogue_in_step_with_the_po(catalogue):
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for e in catalogue:
        if e["msgid_plural"]:
            got = compiled.ngettext(e["msgid"], e["msgid_plural"], 2)
        elif e["msgctxt"]:
            got = compiled.pgettext(e["msgctxt"], e["msgid"])
        else:
            got = compiled.gettext(e["msgid"])
        if got != e["msgstr"][0]:
            stale.append(e["msgid"])
    assert not stale, f"django.mo is stale; run compilemessages ({len(stale)} differ, e.g. {stale[:5]})"


def test_it_speaks_chinese_when_asked():
    with translation.override("zh-hans"):
        assert [_("Customers"), _("Leads"), _("Opportunities"), _("Tasks")] == [
            "客户", "销售线索", "商机", "任务",
        ]
        assert _("Champions") == "冠军客户"
        assert _("Public pool") == "公海"
        assert ngettext("%(n)s customer", "%(n)s customers", 3) % {"n": 3} == "3 位客户"
    with translation.override("en"):
        assert _("Customers") == "Customers"


@pytest.mark.django_db
def test_it_shows_the_sign_in_page_in_the_browser_language(client):
    html = client.get(reverse("accounts:login"), headers={"Accept-Language": "zh-Hans"}).content.decode()
    assert "登录 Patron" in html
    assert "Sign in" not in html


@pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msguniq") is None,
    reason="GNU gettext (xgettext, msguniq) is not installed, so the sources cannot be scanned",
)
def test_it_has_every_source_string_in_the_catalogue(catalogue, tmp_path, monkeypatch, settings):
    # makemessages writes next to the sources it scans, so it scans a copy.
    copy = tmp_path / "patron"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "locale"))
    (copy / "locale").mkdir()
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["zh_Hans"], verbosity=0)
    extracted = _messages(parse_po(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    committed = {_key(e) for e in catalogue}
    missing = sorted({e["msgid"] for e in extracted if _key(e) not in committed})
    assert len(extracted) > 500
    assert not missing, (
        f"{len(missing)} strings are missing from {PO.relative_to(PACKAGE.parents[1])}; run "
        f"makemessages -l zh_Hans from src/patron and translate them, e.g. {missing[:5]}"
    )


def test_djangos_empty_choice_reads_in_chinese():
    from django.db.models.fields import BLANK_CHOICE_LABEL

    with translation.override("zh-hans"):
        assert str(BLANK_CHOICE_LABEL) == "- 请选择 -"


def test_english_lists_write_dates_year_first_as_the_rest_of_the_pages():
    import datetime as dt

    from django.utils import formats

    moment = dt.datetime(2026, 12, 7, 10, 11)
    with translation.override("en"):
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "2026-12-07 10:11"
        assert formats.date_format(moment.date(), "SHORT_DATE_FORMAT") == "2026-12-07"
