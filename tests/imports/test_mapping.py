from hypothesis import given
from hypothesis import strategies as st

from patron.imports import mapping


def test_it_guesses_chinese_headers():
    headers = ["客户名称", "手机", "邮箱", "省份", "下单时间", "备注", "无关列"]
    assert mapping.guess_mapping(headers, "customers") == [
        "name",
        "phone",
        "email",
        "region",
        "",
        "notes",
        "",
    ]


def test_it_guesses_english_headers_whatever_their_case_and_punctuation():
    headers = [
        "Customer Name",
        "Mobile Phone",
        "E-Mail Address",
        "Province",
        "Date of Birth",
        "Company (required)",
    ]
    assert mapping.guess_mapping(headers, "customers") == [
        "name",
        "phone",
        "email",
        "region",
        "birthday",
        "company_name",
    ]


def test_it_guesses_order_headers_and_headers_holding_a_synonym():
    headers = ["订单编号", "客户手机", "下单时间", "实付金额（元）", "商品编码"]
    assert mapping.guess_mapping(headers, "orders") == [
        "external_ref",
        "customer_phone",
        "ordered_at",
        "total",
        "sku",
    ]


def test_it_maps_each_field_once():
    assert mapping.guess_mapping(["手机", "电话", "Mobile"], "customers") == ["phone", "", ""]


def test_it_validates_mappings():
    assert mapping.validate_mapping(["name", "phone"], "customers") == []
    assert mapping.validate_mapping(["family_name"], "customers") == []
    problems = mapping.validate_mapping(["phone", "phone", "shoe"], "customers")
    assert len(problems) == 3  # unknown field, repeated field, no name
    assert len(mapping.validate_mapping(["total"], "orders")) == 2  # no date, no customer


def test_it_merges_an_explicit_mapping_with_the_guess():
    headers = ["who", "手机", "邮箱"]
    assert mapping.mapping_from_names(headers, {"who": "name", "邮箱": ""}, "customers") == [
        "name",
        "phone",
        "",
    ]


@given(st.lists(st.text(max_size=20), max_size=12), st.sampled_from(mapping.KINDS))
def test_it_guesses_a_known_field_or_nothing_for_any_header_and_never_twice(headers, kind):
    guessed = mapping.guess_mapping(headers, kind)
    assert len(guessed) == len(headers)
    chosen = [g for g in guessed if g]
    assert set(chosen) <= set(mapping.TARGETS[kind]) and len(chosen) == len(set(chosen))
