"""Turning one mapped row of text into clean field values, or the problems that stop it.

The cleaners are plain functions over strings so they stay fast (a million rows a minute)
and testable without a database. Each raises ValidationError with a message for the person
who will fix the file.
"""

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from patron.common import bounds, standardize
from patron.customers.models import Customer, Source
from patron.orders.models import Order, OrderLine

_SEPARATORS = re.compile(r"[\s\-().·]+")
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$"
)


def _mobile_pattern(region: str) -> "re.Pattern[str] | None":
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    pattern = getattr(getattr(metadata, "mobile", None), "national_number_pattern", None)
    return re.compile(pattern) if pattern else None


# libphonenumber's own pattern for Chinese mobiles: a number of 11 digits that matches it is
# valid, so the common case skips a 70 µs parse. Anything else takes the general path.
_CN_MOBILE = _mobile_pattern("CN")


def clean_phone(value: str, region: str) -> str:
    """E.164 via `standardize.normalize_phone`, with a fast path for Chinese mobiles."""
    raw = _SEPARATORS.sub("", value.strip())
    if not raw:
        return ""
    if region == "CN" and _CN_MOBILE is not None:
        digits = raw.removeprefix("+86").removeprefix("0086") if raw[0] in "+0" else raw
        # ASCII digits only: isdigit() and the pattern's \d also take full-width ones ("３"),
        # which `normalize_phone` folds.
        if len(digits) == 11 and digits.isascii() and digits.isdigit() and _CN_MOBILE.fullmatch(digits):
            return "+86" + digits
    return standardize.normalize_phone(value, region=region)


def clean_email(value: str) -> str:
    email = value.strip().lower()
    if not email:
        return ""
    if _EMAIL.match(email) and len(email) <= 254:  # the common case without Django's validator
        return email
    if not email.isascii():
        email = standardize.clean_name(email).lower()
    return standardize.normalize_email(email)


def clean_text(value: str, max_length: int) -> str:
    text = standardize.clean_name(value) if not value.isascii() or "  " in value else value.strip()
    if len(text) > max_length:
        raise ValidationError(_("Longer than %(n)s characters."), params={"n": max_length})
    return text


_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


def clean_person_name(value: str, max_length: int = 200) -> str:
    """`clean_text`, and spaces between Chinese characters dropped: "张 伟" is "张伟"."""
    return _CJK_GAP.sub("", clean_text(value, max_length))


_KIND_WORDS = {
    Customer.Kind.COMPANY: (
        "company",
        "business",
        "organisation",
        "organization",
        "corporate",
        "b2b",
        "公司",
        "企业",
        "单位",
        "机构",
    ),
    Customer.Kind.PERSON: ("person", "individual", "private", "consumer", "b2c", "个人", "自然人"),
}
_SOURCE_WORDS = {
    Source.REFERRAL: ("referral", "转介绍", "介绍", "推荐", "老客户介绍"),
    Source.WEBSITE: ("website", "web", "官网", "网站"),
    Source.EVENT: ("event", "trade show", "展会", "活动", "会议"),
    Source.COLD_CALL: ("cold call", "cold_call", "电话", "陌拜", "电销"),
    Source.ADVERTISING: ("advertising", "ads", "广告", "投放"),
    Source.SOCIAL: ("social", "social media", "社交媒体", "微信", "微博", "抖音", "小红书"),
    Source.PARTNER: ("partner", "合作伙伴", "渠道"),
    Source.IMPORT: ("import", "导入"),
    Source.OTHER: ("other", "其他"),
}
_CHANNEL_WORDS = {
    Order.SalesChannel.DIRECT: ("direct", "direct sales", "直销", "直营", "线下"),
    Order.SalesChannel.ONLINE: ("online", "web", "shop", "online shop", "e-commerce", "线上", "网店", "网上商城",
                                "商城", "电商", "小程序", "天猫", "京东", "淘宝", "拼多多", "抖音"),
    Order.SalesChannel.STORE: ("store", "门店", "店铺", "实体店"),
    Order.SalesChannel.PHONE: ("phone", "telesales", "电话", "电销"),
    Order.SalesChannel.PARTNER: ("partner", "reseller", "distributor", "经销商", "代理", "代理商", "分销",
                                 "合作伙伴"),
}
_STATUS_WORDS = {
    Order.Status.PLACED: ("placed", "pending", "unpaid", "待付款", "已下单"),
    Order.Status.PAID: ("paid", "completed", "complete", "done", "已付款", "已完成", "完成"),
    Order.Status.CANCELLED: ("cancelled", "canceled", "已取消", "取消"),
    Order.Status.REFUNDED: ("refunded", "退款", "已退款"),
}


def _choice(words: dict[Any, tuple[str, ...]], value: str, default: Any) -> Any:
    key = standardize.clean_name(value).lower()
    if not key:
        return default
    for choice, synonyms in words.items():
        if key == str(choice) or key in synonyms:
            return choice
    # "线上商城", "京东自营店", "Online (app)": a known word inside the value, if it names one choice.
    within = {choice for choice, synonyms in words.items() if any(len(w) > 1 and w in key for w in synonyms)}
    if len(within) == 1:
        return within.pop()
    raise ValidationError(_("%(value)s is not one of the known values."), params={"value": value})


def clean_kind(value: str) -> str:
    return _choice(_KIND_WORDS, value, "")


def clean_source(value: str) -> str:
    try:
        return _choice(_SOURCE_WORDS, value, Source.IMPORT)
    except ValidationError:
        return Source.OTHER  # a source we do not know is still a source, not a reason to reject


def clean_channel(value: str) -> str:
    return _choice(_CHANNEL_WORDS, value, Order.SalesChannel.DIRECT)


def clean_status(value: str) -> str:
    return _choice(_STATUS_WORDS, value, Order.Status.PAID)


def _in_cents(amount: Decimal, limit: Decimal, value: str) -> Decimal:
    """`amount` rounded to the two decimals its column keeps, or refused as too large for it:
    rounded only when it may fit (quantize fails past 28 digits), and checked again after
    (999999999999.999 rounds up to 1e12)."""
    if amount.is_finite() and abs(amount) < limit:
        amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if not amount.is_finite() or abs(amount) >= limit:
        raise ValidationError(_("%(value)s is too large."), params={"value": value})
    return amount


def clean_amount(value: str) -> Decimal | None:
    amount = standardize.parse_amount(value)
    return None if amount is None else _in_cents(amount, bounds.decimal_limit(Order, "total"), value)


def clean_quantity(value: str) -> Decimal:
    amount = standardize.parse_amount(value)
    if amount is None:
        return Decimal(1)
    # As the column keeps it: 0.001 would be stored as a line of nothing (and a total divided
    # by it, a unit price no column holds).
    amount = _in_cents(amount, bounds.decimal_limit(OrderLine, "quantity"), value)
    if amount <= 0:
        raise ValidationError(_("The quantity must be positive."))
    return amount


# Fields an export masks for those who may not see them (common.masking: "p***@139.com",
# "+86 138****1016", "wxid_0****"). Such a file imported back would overwrite the real values
# with asterisks (an e-mail address may contain them), so a masked value is refused.
MASKABLE = frozenset(
    {"phone", "email", "wechat", "id_number", "address", "birthday", "contact_phone", "contact_email"}
)
# Short values are masked with fewer stars ("E123*5678"); these never hold a star of their own.
_NO_STARS = frozenset({"phone", "id_number", "contact_phone"})


def clean_row(
    values: dict[str, str], cleaners: dict[str, Callable[[str], Any]]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Apply each field's cleaner; collect (field, message) for those that fail."""
    data: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, raw in values.items():
        if name in MASKABLE and ("***" in raw or ("*" in raw and name in _NO_STARS)):
            problems.append((name, _masked_message(raw)))
            continue
        cleaner = cleaners.get(name)
        if cleaner is None:
            data[name] = raw.strip()
            continue
        try:
            data[name] = cleaner(raw)
        except ValidationError as exc:
            problems.append((name, " ".join(exc.messages)))
    return data, problems


def _masked_message(raw: str) -> str:
    return _(
        "%(value)s is masked, as exported for someone who may not see it: leave this column "
        "out, or import a file exported with contact details in clear."
    ) % {"value": raw.strip()}


class RowCleaner:
    """Cleans the rows of one file: picks each mapped column's value and applies its cleaner.

    Holds no database state, so a large import runs it in its read-ahead process.
    """

    def __init__(self, columns: list[str], cleaners: dict[str, Callable[[str], Any]]) -> None:
        self.positions = [(i, name) for i, name in enumerate(columns) if name]
        self.cleaners = cleaners

    def __call__(self, values: list[str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        width = len(values)
        mapped = {name: values[i] for i, name in self.positions if i < width}
        return clean_row(mapped, self.cleaners)
