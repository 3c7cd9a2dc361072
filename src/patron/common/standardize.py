"""Standardising contact data on the way in: phones to E.164, e-mails, names.

Used by the forms, the API and imports alike, so that a phone typed as "138 1234 5678" and
one imported as "+86-138-1234-5678" are the same string and duplicates can be found.
"""

import datetime as dt
import re
import unicodedata
from decimal import Decimal

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

_SPACES = re.compile(r"\s+")


def clean_name(value: str) -> str:
    """Trim, fold full-width characters to their ASCII forms and collapse inner spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value or "")).strip()


def normalize_phone(value: str, *, region: str = "CN") -> str:
    """Return the E.164 form of `value`, or raise ValidationError naming the problem."""
    raw = clean_name(value)
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("%(value)s is not a phone number."), params={"value": raw}) from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValidationError(_("%(value)s is not a valid phone number."), params={"value": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """A stored E.164 number as people write it ("+86 138 1234 1016"), for files people open:
    spreadsheets read "+8613812341016" as a number and show 8.61381E+12. Anything that is
    not a number comes back as it is."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalize_email(value: str) -> str:
    """Lower-case and validate an e-mail address; raise ValidationError when it is not one."""
    email = clean_name(value).lower()
    if not email:
        return ""
    validate_email(email)
    return email


def phone_digits(value: str) -> str:
    return "".join(ch for ch in value or "" if ch.isdigit())


# --- Dates, amounts and regions (imports, issue 6) -----------------------------------------

_ZH_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?$")
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# A day without its year: "--0415", "04-15", "4月15日".
_NO_YEAR = re.compile(r"^(?:--\d{2}-?\d{2}|\d{1,2}[-/.]\d{1,2}|\d{1,2}\s*月\s*\d{1,2}\s*[日号]?)$")
_TIME = re.compile(r"^(\d{1,2})[:时点](\d{1,2})分?(?::?(\d{1,2})(?:\.\d+)?秒?)?$")
_MONTHS = {
    m: i for i, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")], start=1)
    for m in names
}
_NAMED = re.compile(r"^(\d{1,2})?\s*([a-z]+)\.?\s*(\d{1,2})?,?\s*(\d{4})$")


_TIME_TAIL = re.compile(r"^(.*?)(?:[ T]+|(?<=[日号]))(\d{1,2}(?::|时|点)\S*)$")


def _split_time(raw: str) -> tuple[str, str]:
    """Split "2024-03-05 14:30" into its date and time parts ("" when there is no time)."""
    if m := _TIME_TAIL.match(raw):
        return m.group(1).strip(), m.group(2)
    return raw, ""


def _date_or_error(raw: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValidationError(_("%(value)s is not a valid date."), params={"value": raw}) from None


def parse_date(value: object, *, day_first: bool = False) -> dt.date | None:
    """Read a date as people write them in Chinese and English files; None when blank.

    Accepts 2024-03-05, 2024/3/5, 2024.3.5, 20240305, 2024年3月5日, 5 Mar 2024, March 5, 2024,
    and 05/03/2024, which is month-first (US) unless `day_first` (UK, Europe); a trailing time
    is ignored. Raises ValidationError for anything else, including impossible dates and days
    without a year. (Not Excel's serial days, 32874: any five digits would pass for a date.)
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = clean_name(str(value) if value is not None else "")
    if raw in ("", "-"):
        return None
    text = _split_time(raw)[0]
    if _NO_YEAR.match(text):
        raise ValidationError(_("%(value)s has no year."), params={"value": raw})
    for pattern in (_YMD, _ZH_DATE, _COMPACT):
        if m := pattern.match(text):
            y, mo, d = (int(g) for g in m.groups())
            return _date_or_error(raw, y, mo, d)
    if m := _DMY.match(text):
        a, b, y = (int(g) for g in m.groups())
        day, month = (a, b) if day_first else (b, a)
        return _date_or_error(raw, y, month, day)
    if m := _NAMED.match(text.lower().replace(",", ", ").replace("  ", " ")):
        day_a, name, day_b, year = m.groups()
        if name in _MONTHS and bool(day_a) != bool(day_b):
            return _date_or_error(raw, int(year), _MONTHS[name], int(day_a or day_b))
    raise ValidationError(_("%(value)s is not a date."), params={"value": raw})


# The earliest birthday taken as plausible; anything before is a typing error (1890 for 1990).
EARLIEST_BIRTHDAY = dt.date(1900, 1, 1)


def check_birthday(day: dt.date | None, *, today: dt.date) -> dt.date | None:
    """`day` when it can be a birthday (none is after `today` or before 1900); else raise
    ValidationError naming the problem."""
    if day is None:
        return None
    if day > today:
        raise ValidationError(_("%(value)s is in the future: not a birthday."), params={"value": day.isoformat()})
    if day < EARLIEST_BIRTHDAY:
        raise ValidationError(_("%(value)s is before 1900: not a birthday."), params={"value": day.isoformat()})
    return day


def parse_datetime(
    value: object, *, day_first: bool = False, tz: dt.tzinfo = dt.UTC
) -> dt.datetime | None:
    """Like `parse_date`, keeping a time of day when one is given ("2024-03-05 14:30")."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    day = parse_date(value, day_first=day_first)
    if day is None:
        return None
    raw = clean_name(str(value)) if not isinstance(value, dt.date) else ""
    time_text = _split_time(raw)[1]
    hour = minute = second = 0
    if time_text:
        m = _TIME.match(time_text.rstrip("Z").split("+")[0])
        if not m:
            raise ValidationError(_("%(value)s is not a date and time."), params={"value": raw})
        hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ValidationError(_("%(value)s is not a valid time."), params={"value": raw})
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz)


_CURRENCY = re.compile(r"^(?:CNY|RMB|USD|EUR|HKD|[¥￥$€£])|(?:CNY|RMB|USD|EUR|HKD|元|圆|块)$", re.I)
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+$")


def parse_amount(value: object) -> Decimal | None:
    """Read a money amount: '¥1,234.50', '1.234,50', '1 234', '(12.00)', '1.5万'; None when blank.

    A lone '-' (how spreadsheets show zero or nothing) is blank. When both '.' and ',' appear
    the last one is the decimal mark; a single ',' followed by exactly three digits groups
    thousands, otherwise it is a decimal comma. Raises ValidationError for anything else.
    """
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    raw = clean_name(str(value) if value is not None else "")
    text = raw.replace(" ", "").replace("'", "").replace("\u202f", "")
    if text in ("", "-", "--"):
        return None
    negative = text.startswith("(") and text.endswith(")")
    text = _CURRENCY.sub("", _CURRENCY.sub("", text.strip("()")))
    if text.startswith("-"):
        negative, text = not negative, _CURRENCY.sub("", text[1:])
    multiplier = Decimal(1)
    if text.endswith(("万", "w", "W")):
        multiplier, text = Decimal(10000), text[:-1]
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
    elif "," in text:
        text = text.replace(",", "") if _GROUPED.match(text) else text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    if not re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", text):
        raise ValidationError(_("%(value)s is not an amount."), params={"value": raw})
    amount = Decimal(text) * multiplier
    return -amount if negative else amount


# Provinces, municipalities, autonomous regions and SARs: (English name, full Chinese name,
# one-character abbreviation). The canonical value stored is the short Chinese name (浙江,
# 内蒙古, 香港), as Chinese teams write it and as the demo's customers carry it, so that a
# list filtered on 浙江 finds the customers typed in, imported as 浙江省 or as Zhejiang.
REGIONS: tuple[tuple[str, str, str], ...] = (
    ("Beijing", "北京市", "京"), ("Tianjin", "天津市", "津"), ("Hebei", "河北省", "冀"),
    ("Shanxi", "山西省", "晋"), ("Inner Mongolia", "内蒙古自治区", "蒙"),
    ("Liaoning", "辽宁省", "辽"), ("Jilin", "吉林省", "吉"), ("Heilongjiang", "黑龙江省", "黑"),
    ("Shanghai", "上海市", "沪"), ("Jiangsu", "江苏省", "苏"), ("Zhejiang", "浙江省", "浙"),
    ("Anhui", "安徽省", "皖"), ("Fujian", "福建省", "闽"), ("Jiangxi", "江西省", "赣"),
    ("Shandong", "山东省", "鲁"), ("Henan", "河南省", "豫"), ("Hubei", "湖北省", "鄂"),
    ("Hunan", "湖南省", "湘"), ("Guangdong", "广东省", "粤"),
    ("Guangxi", "广西壮族自治区", "桂"), ("Hainan", "海南省", "琼"),
    ("Chongqing", "重庆市", "渝"), ("Sichuan", "四川省", "川"), ("Guizhou", "贵州省", "黔"),
    ("Yunnan", "云南省", "滇"), ("Tibet", "西藏自治区", "藏"), ("Shaanxi", "陕西省", "陕"),
    ("Gansu", "甘肃省", "甘"), ("Qinghai", "青海省", "青"), ("Ningxia", "宁夏回族自治区", "宁"),
    ("Xinjiang", "新疆维吾尔自治区", "新"), ("Hong Kong", "香港特别行政区", "港"),
    ("Macao", "澳门特别行政区", "澳"), ("Taiwan", "台湾省", "台"),
)
_REGION_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def _short(chinese: str) -> str:
    for suffix in _REGION_SUFFIXES:
        chinese = chinese.removesuffix(suffix)
    return chinese


def _region_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for english, chinese, abbreviation in REGIONS:
        for alias in (english, chinese, _short(chinese), abbreviation):
            index[alias.lower().replace(" ", "")] = _short(chinese)
    extra = {
        "xizang": "西藏", "macau": "澳门", "hongkongsar": "香港", "hk": "香港",
        "nei mongol": "内蒙古", "neimenggu": "内蒙古", "peking": "北京",
    }
    index.update({k.replace(" ", ""): v for k, v in extra.items()})
    return index


def region_english_names() -> dict[str, str]:
    """{English name: canonical name}, for tidying values stored in English."""
    return {english: _short(chinese) for english, chinese, _abbreviation in REGIONS}


_REGION_INDEX = _region_index()


def canonical_region(value: str) -> str:
    """The canonical name of a Chinese province-level region written any usual way.

    "广东", "广东省", "粤", "guangdong", "Guangdong Province" all give "广东". A value
    that names no Chinese region (a foreign state, a typo) comes back trimmed but unchanged,
    so imports keep it and a person can tidy it later.
    """
    text = clean_name(value)
    key = text.lower().replace(" ", "")
    for noise in ("province", "municipality", "autonomousregion", "sar"):
        key = key.removesuffix(noise)
    if key in _REGION_INDEX:
        return _REGION_INDEX[key]
    for suffix in _REGION_SUFFIXES:
        if key.endswith(suffix) and key.removesuffix(suffix) in _REGION_INDEX:
            return _REGION_INDEX[key.removesuffix(suffix)]
    return text
