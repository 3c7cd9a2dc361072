import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from patron.common import standardize
from patron.imports import cleaning


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-05",
        "2024/3/5",
        "2024.3.5",
        "20240305",
        "2024年3月5日",
        "2024年03月05号",
        "03/05/2024",
        "5 Mar 2024",
        "March 5, 2024",
        "2024-03-05 14:30",
        "2024-03-05T14:30:00Z",
    ],
)
def test_it_reads_the_usual_date_formats(text):
    assert standardize.parse_date(text) == dt.date(2024, 3, 5)


def test_it_reads_day_first_dates_when_asked():
    assert standardize.parse_date("05/03/2024", day_first=True) == dt.date(2024, 3, 5)
    assert standardize.parse_date("05/03/2024") == dt.date(2024, 5, 3)


@pytest.mark.parametrize("text", ["2024-02-30", "13/13/2024", "yesterday", "2024-3", "32 Mar 2024"])
def test_it_rejects_what_is_not_a_date(text):
    with pytest.raises(ValidationError):
        standardize.parse_date(text)


def test_it_keeps_the_time_of_day_and_the_time_zone():
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert standardize.parse_datetime("2024年3月5日 14:30", tz=shanghai) == dt.datetime(
        2024, 3, 5, 14, 30, tzinfo=shanghai
    )
    assert standardize.parse_datetime("2024-03-05 14时30分") == dt.datetime(
        2024, 3, 5, 14, 30, tzinfo=dt.UTC
    )
    with pytest.raises(ValidationError):
        standardize.parse_datetime("2024-03-05 25:00")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("¥1,234.50", "1234.50"),
        ("￥1,234.50", "1234.50"),
        ("1.234,50", "1234.50"),
        ("1 234", "1234"),
        ("RMB 99", "99"),
        ("99元", "99"),
        ("(12.00)", "-12.00"),
        ("-¥5", "-5"),
        ("1,5", "1.5"),
        ("12,345", "12345"),
        ("1.234.567", "1234567"),
        ("1.5万", "15000"),
        ("$3.20", "3.20"),
    ],
)
def test_it_reads_amounts_written_the_usual_ways(text, amount):
    assert standardize.parse_amount(text) == Decimal(amount)


def test_it_reads_a_dash_or_nothing_as_no_amount():
    assert standardize.parse_amount("-") is None
    assert standardize.parse_amount("  ") is None


@pytest.mark.parametrize("text", ["abc", "1,2,3.4.5", "12-3"])
def test_it_rejects_what_is_not_an_amount(text):
    with pytest.raises(ValidationError):
        standardize.parse_amount(text)


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_it_reads_back_any_amount_it_formats(value):
    grouped = f"{value:,.2f}"
    european = grouped.replace(",", " ").replace(".", ",")
    assert standardize.parse_amount("¥" + grouped if value >= 0 else grouped) == value
    assert standardize.parse_amount(european) == value


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_it_reads_back_any_date_in_every_format(day):
    for text in (
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%d %b %Y"),
        day.strftime("%m/%d/%Y"),
    ):
        assert standardize.parse_date(text) == day
    assert standardize.parse_date(day.strftime("%d/%m/%Y"), day_first=True) == day


@given(st.text(max_size=30))
def test_it_never_fails_on_arbitrary_text_except_with_a_validation_error(text):
    for parse in (standardize.parse_date, standardize.parse_amount, standardize.canonical_region):
        try:
            parse(text)
        except ValidationError:
            pass


@pytest.mark.parametrize(
    "text", ["广东", "广东省", "粤", "guangdong", "Guangdong Province", " GUANGDONG "]
)
def test_it_canonicalises_a_province_however_it_is_written(text):
    assert standardize.canonical_region(text) == "广东"


def test_it_canonicalises_autonomous_regions_and_municipalities():
    assert standardize.canonical_region("内蒙古自治区") == standardize.canonical_region("Inner Mongolia") == "内蒙古"
    assert standardize.canonical_region("广西壮族自治区") == "广西"
    assert standardize.canonical_region("上海市") == standardize.canonical_region("沪") == "上海"
    assert standardize.canonical_region("Texas") == "Texas"


@given(
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.sampled_from(["", "+86", "0086", "+86 "]),
    st.sampled_from(["", " ", "-"]),
)
def test_it_standardises_mobiles_exactly_as_the_general_rule(tail, prefix, sep):
    digits = "138" + tail
    written = prefix + sep.join([digits[:3], digits[3:7], digits[7:]])
    assert cleaning.clean_phone(written, "CN") == standardize.normalize_phone(written, region="CN")


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_it_agrees_with_libphonenumber_on_any_eleven_digit_mobile(tail):
    digits = "1" + tail
    try:
        expected = standardize.normalize_phone(digits, region="CN")
    except ValidationError:
        expected = None
    try:
        got = cleaning.clean_phone(digits, "CN")
    except ValidationError:
        got = None
    assert got == expected


def test_a_region_typed_imported_or_filtered_any_usual_way_is_one_region(owner):
    """The form, the importer, the list filter and the segment builder agree on 浙江."""
    from patron.customers import selectors, services
    from patron.insights.selectors import parse_conditions

    typed = services.customer_create(user=owner, data={"name": "周杰", "region": "浙江省"})
    english = services.customer_create(user=owner, data={"name": "Zhou Jie", "region": "Zhejiang"})
    foreign = services.customer_create(user=owner, data={"name": "Joe", "region": "Texas"})
    assert (typed.region, english.region, foreign.region) == ("浙江", "浙江", "Texas")
    for asked in ("浙江", "Zhejiang", "浙"):
        found = selectors.customer_list(user=owner, filters={"region": asked})
        assert set(found.values_list("pk", flat=True)) == {typed.pk, english.pk}
    [condition] = parse_conditions([{"field": "region", "op": "eq", "value": "Zhejiang Province"}])
    assert condition.value == "浙江"


@pytest.mark.parametrize(("written", "channel"), [
    ("线上商城", "online"), ("京东自营店", "online"), ("Online shop", "online"), ("门店", "store"),
    ("电销", "phone"), ("区域代理商", "partner"), ("", "direct"),
])
def test_an_order_channel_is_read_as_teams_write_it(written, channel):
    from patron.imports import cleaning

    assert cleaning.clean_channel(written) == channel


def test_a_channel_naming_two_kinds_or_none_is_refused():
    from patron.imports import cleaning

    for written in ("线上门店", "carrier pigeon"):
        with pytest.raises(ValidationError):
            cleaning.clean_channel(written)


def test_a_column_mapped_twice_is_named_as_the_mapping_page_names_it():
    from django.utils import translation

    from patron.imports.mapping import validate_mapping

    with translation.override("zh-hans"):
        [problem] = validate_mapping(["name", "phone", "phone"], "customers")
    assert "phone" not in problem and "电话" in problem, problem


def test_the_migration_brings_every_stored_region_to_its_canonical_name(owner):
    import importlib

    from django.apps import apps

    from patron.customers import services
    from patron.customers.models import Customer

    migration = importlib.import_module("patron.customers.migrations.0005_regions_in_chinese")
    made = [services.customer_create(user=owner, data={"name": f"c{i}"}) for i in range(4)]
    for customer, stored in zip(made, ["Zhejiang", "浙江省", "zhejiang", "Texas"], strict=True):
        Customer.objects.filter(pk=customer.pk).update(region=stored)  # as older versions stored them
    migration.to_canonical(apps, None)
    assert [Customer.objects.get(pk=c.pk).region for c in made] == ["浙江", "浙江", "浙江", "Texas"]


def test_the_migration_folds_full_width_digits_in_stored_phones(owner):
    import importlib

    from django.apps import apps

    from patron.customers import services
    from patron.customers.models import Customer

    migration = importlib.import_module("patron.customers.migrations.0007_phones_with_full_width_digits")
    odd = services.customer_create(user=owner, data={"name": "辛东", "phone": "13900003333"})
    fine = services.customer_create(user=owner, data={"name": "宋文", "phone": "13800138000"})
    # As the importer's fast path stored it before it was fixed.
    Customer.objects.filter(pk=odd.pk).update(phone="+861390000333３", search_text="c000001 辛东 861390000333３")
    migration.fold(apps, None)
    odd.refresh_from_db()
    assert (odd.phone, odd.search_text) == ("+8613900003333", "c000001 辛东 8613900003333")
    assert Customer.objects.get(pk=fine.pk).phone == "+8613800138000"
