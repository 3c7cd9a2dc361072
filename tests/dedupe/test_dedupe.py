"""Duplicate detection: blocking, scoring and filing pairs in the review queue."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.customers import dedupe
from patron.customers.models import DuplicatePair


def frame(*rows: dict) -> pl.DataFrame:
    base = dict.fromkeys(dedupe.COLUMNS, "")
    return pl.DataFrame([{**base, "id": str(i), **row} for i, row in enumerate(rows, start=1)])


def pairs_of(detection: dedupe.Detection) -> dict[tuple[str, str], list[str]]:
    return {(a, b): reasons for a, b, _s, reasons in detection.pairs.iter_rows()}


def test_it_matches_one_phone_written_three_ways():
    found = dedupe.find_duplicates(
        frame(
            {"name": "Wang Fang", "phone": "+86 138 1234 5678"},
            {"name": "Wang Fang", "phone": "138-1234-5678"},
            {"name": "Wang Fang", "phone": "0086 13812345678"},
            {"name": "Wang Fang", "phone": "13812345679"},
        )
    )
    assert set(pairs_of(found)) == {("1", "2"), ("1", "3"), ("2", "3")}
    assert all(r == ["same_phone"] for r in pairs_of(found).values())


def test_it_matches_an_email_whatever_its_case():
    found = dedupe.find_duplicates(
        frame(
            {"name": "Li Lei", "email": "Li.Lei@Example.com"},
            {"name": "Lei Li", "email": " li.lei@example.com"},
        )
    )
    assert pairs_of(found) == {("1", "2"): ["same_email"]}


def test_it_matches_a_typo_in_a_chinese_name_in_the_same_company():
    found = dedupe.find_duplicates(
        frame(
            {"name": "王小明", "company_name": "上海茶叶有限公司"},
            {"name": "王晓明", "company_name": "上海茶叶公司"},
            {"name": "王晓明", "company_name": "北京茶叶公司"},
        )
    )
    assert pairs_of(found) == {("1", "2"): ["similar_name+same_company"]}
    # one edit in three characters: Indel similarity 2/3, so 0.9 * (0.5 + 0.5 * 2/3) = 0.75
    assert found.pairs["score"][0] == pytest.approx(0.75)


def test_it_finds_a_typo_in_the_first_letter_through_the_other_name_keys():
    found = dedupe.find_duplicates(
        frame(
            {"name": "Jonathan Smith", "region": "London"},
            {"name": "Zonathan Smith", "region": "London"},
        ),
        min_score=0,
    )
    assert pairs_of(found) == {("1", "2"): ["similar_name+same_region"]}
    # a name and a region alone stay below the default queue threshold
    assert (
        dedupe.find_duplicates(
            frame(
                {"name": "Jonathan Smith", "region": "London"},
                {"name": "Zonathan Smith", "region": "London"},
            )
        ).pairs.height
        == 0
    )


def test_it_does_not_pair_unlike_names_in_one_region():
    found = dedupe.find_duplicates(
        frame(
            {"name": "王小明", "region": "上海"},
            {"name": "王大伟", "region": "上海"},
            {"name": "王小明", "region": "北京"},
        ),
        min_score=0,
    )
    assert pairs_of(found) == {}


def test_it_marks_a_shared_phone_with_unalike_names():
    found = dedupe.find_duplicates(
        frame(
            {"name": "王芳", "phone": "+8613812345678"},
            {"name": "李雷", "phone": "+8613812345678"},
        )
    )
    assert pairs_of(found) == {("1", "2"): ["same_phone", "different_name"]}
    assert found.pairs["score"][0] == pytest.approx(0.9 * 0.75)


def test_it_combines_evidence_as_a_noisy_or():
    found = dedupe.find_duplicates(
        frame(
            {"name": "Zhang Wei", "phone": "+8613812345678", "email": "zw@example.com"},
            {"name": "Zhang Wei", "phone": "+8613812345678", "email": "zw@example.com"},
        )
    )
    assert found.pairs["score"][0] == pytest.approx(1 - 0.1 * 0.1)


def test_it_skips_blocks_larger_than_the_limit():
    rows = [{"name": f"Person {i:03d}", "phone": "+862112345678"} for i in range(6)]
    found = dedupe.find_duplicates(frame(*rows), max_block=5)
    assert found.pairs.height == 0 and found.skipped_blocks == 1


def test_it_only_returns_pairs_with_a_new_row_when_asked():
    rows = frame(
        {"name": "A", "email": "a@x.com"},
        {"name": "A", "email": "a@x.com"},
        {"name": "B", "email": "b@x.com"},
        {"name": "B", "email": "b@x.com"},
    )
    assert set(pairs_of(dedupe.find_duplicates(rows, new_ids=["4"]))) == {("3", "4")}


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.sampled_from(["王芳", "王方", "李雷", "Li Lei", "Lee Lei", "张伟"]),
        min_size=2,
        max_size=8,
    ),
    st.lists(
        st.sampled_from(["", "+8613812345678", "13812345678", "+8613900000000"]),
        min_size=8,
        max_size=8,
    ),
)
def test_it_returns_each_pair_once_ordered_and_scored_within_bounds(names, phones):
    rows = frame(*[{"name": n, "phone": phones[i], "region": "上海"} for i, n in enumerate(names)])
    pairs = dedupe.find_duplicates(rows, min_score=0).pairs
    keys = list(zip(pairs["a"], pairs["b"], strict=True))
    assert len(keys) == len(set(keys))
    assert all(a < b for a, b in keys)
    assert pairs["score"].is_between(0, 1).all()


def make(owner, **data):
    from patron.customers import services

    return services.customer_create(user=owner, data={"name": "Someone", **data})


def test_it_files_pairs_in_the_queue_once(org, owner):
    first = make(owner, name="Zhou Jie", phone="13812345678")
    second = make(owner, name="Zhou Jie", phone="+86 138 1234 5678")
    make(owner, name="Unrelated", phone="13900001111")
    created = dedupe.duplicate_scan(organization=org)
    assert len(created) == 1
    pair = DuplicatePair.objects.get()
    assert {pair.a_id, pair.b_id} == {first.pk, second.pk} and str(pair.a_id) < str(pair.b_id)
    assert pair.reasons == ["same_phone"] and pair.status == "open"
    assert dedupe.duplicate_scan(organization=org) == []
    assert DuplicatePair.objects.count() == 1


def test_it_leaves_a_dismissed_pair_dismissed(org, owner):
    make(owner, name="Zhou Jie", email="zj@example.com")
    make(owner, name="Zhou Jie", email="ZJ@example.com")
    dedupe.duplicate_scan(organization=org)
    DuplicatePair.objects.update(status=DuplicatePair.Status.DISMISSED)
    dedupe.duplicate_scan(organization=org)
    assert list(DuplicatePair.objects.values_list("status", flat=True)) == ["dismissed"]


def test_it_matches_incoming_rows_against_existing_customers(org, owner):
    existing = make(owner, name="Zhou Jie", phone="13812345678")
    rows = pl.DataFrame(
        {
            "id": ["7", "8"],
            "name": ["Zhou Jie", "Nobody"],
            "company_name": ["", ""],
            "phone": ["+86 138 1234 5678", ""],
            "email": ["", ""],
            "region": ["", ""],
        }
    )
    found = dedupe.match_incoming(rows, organization=org)
    assert found.select("incoming", "customer").rows() == [("7", str(existing.pk))]


def test_it_stays_inside_the_organisation(org, owner, outsider, other_org):
    from patron.common import tenancy

    make(owner, name="Zhou Jie", phone="13812345678")
    with tenancy.scope(other_org):
        make(outsider, name="Zhou Jie", phone="13812345678")
    assert dedupe.duplicate_scan(organization=org) == []


def test_it_counts_swapped_letters_as_one_typo():
    found = dedupe.find_duplicates(
        frame(
            {"name": "赵贵建", "company_name": "瑞祥贸易有限公司"},
            {"name": "贵赵建", "company_name": "瑞祥贸易公司"},
        )
    )
    assert pairs_of(found) == {("1", "2"): ["similar_name+same_company"]}
