"""Segment conditions: parsing, the filter over customers and current scores, visibility."""

import datetime as dt

import pytest
from django.utils import timezone

from patron.customers import services as customers
from patron.insights import selectors
from patron.insights.models import CustomerScore
from tests.support import current_run


def _score(customer, **values):
    defaults = {
        "rfm_segment": "at_risk",
        "class8": "important_retain",
        "lifecycle": "loyal",
        "value_tier": "high",
        "frequency_tier": "medium",
        "clv": 6000.0,
        "churn_risk": 0.8,
        "p_alive": 0.3,
        "n_purchases": 5,
        "total_spend": 900.0,
        "as_of": dt.date(2026, 1, 1),
    }
    return CustomerScore.objects.create(
        organization_id=customer.organization_id, customer=customer, run=current_run(customer.organization_id),
        **{**defaults, **values}
    )


def _cond(field, op, value):
    return {"field": field, "op": op, "value": value}


@pytest.fixture
def shanghai(owner):
    """Three of the owner's customers: two in Shanghai (one scored high, one low), one in Beijing."""
    made = {}
    for name, region in [("甲", "Shanghai"), ("乙", "Shanghai"), ("丙", "Beijing")]:
        made[name] = customers.customer_create(user=owner, data={"name": name, "region": region})
    _score(made["甲"])
    _score(made["乙"], clv=1200.0, class8="general_retain")
    _score(made["丙"])
    return made


def _names(user, raw):
    found = selectors.segment_customers(user=user, conditions=selectors.parse_conditions(raw))
    return sorted(c.name for c in found)


def test_it_combines_customer_fields_and_current_scores(owner, shanghai):
    raw = [_cond("class8", "eq", "important_retain"), _cond("region", "eq", "shanghai"), _cond("clv", "gt", "5000")]
    assert _names(owner, raw) == ["甲"]
    assert _names(owner, [_cond("region", "eq", "Shanghai")]) == ["乙", "甲"]
    assert _names(owner, [_cond("class8", "ne", "important_retain")]) == ["乙"]


def test_it_reads_only_the_current_snapshot(owner, shanghai):
    old = CustomerScore.objects.get(customer=shanghai["乙"])
    old.replaced = True  # as a triggered rescore leaves it
    old.save()
    _score(shanghai["乙"], clv=9000.0, as_of=dt.date(2026, 2, 1))
    assert _names(owner, [_cond("clv", "gt", "5000")]) == ["丙", "乙", "甲"]
    assert _names(owner, [_cond("clv", "lt", "5000")]) == []
    # The replaced snapshot was general_retain: "is not important_retain" no longer finds 乙.
    assert _names(owner, [_cond("class8", "ne", "important_retain")]) == []
    assert _names(owner, [_cond("class8", "ne", "general_retain")]) == ["丙", "乙", "甲"]


def test_only_the_current_run_decides_and_a_customer_without_its_snapshot_meets_no_score_condition(owner, shanghai):
    from patron.insights.models import ScoreRun

    current = current_run(owner.organization_id)
    earlier = ScoreRun.objects.create(organization_id=owner.organization_id, as_of=dt.date(2025, 12, 1),
                                      status=ScoreRun.Status.DONE, is_current=False)
    # 丙 was churned in the earlier run and is loyal now; 丁 was scored only then.
    CustomerScore.objects.filter(customer=shanghai["丙"]).update(lifecycle="loyal")
    CustomerScore.objects.create(organization_id=owner.organization_id, customer=shanghai["丙"], run=earlier,
                                 lifecycle="churned", clv=0.0, as_of=dt.date(2025, 12, 1))
    late = customers.customer_create(user=owner, data={"name": "丁", "region": "Shanghai"})
    CustomerScore.objects.create(organization_id=owner.organization_id, customer=late, run=earlier,
                                 lifecycle="churned", clv=0.0, as_of=dt.date(2025, 12, 1))
    assert _names(owner, [_cond("lifecycle", "eq", "churned")]) == []
    assert _names(owner, [_cond("lifecycle", "ne", "churned")]) == ["丙", "乙", "甲"]
    assert _names(owner, [_cond("clv", "lt", "100")]) == []
    # "is not" on one class, "is" on another: both about the same current snapshot.
    raw = [_cond("lifecycle", "ne", "churned"), _cond("class8", "eq", "general_retain")]
    assert _names(owner, raw) == ["乙"]
    assert _names(owner, [_cond("region", "eq", "Shanghai")]) == ["丁", "乙", "甲"]
    current.is_current = False  # no current run: nobody meets a score condition
    current.save(update_fields=["is_current"])
    assert _names(owner, [_cond("clv", "gte", "0")]) == []
    assert _names(owner, [_cond("region", "eq", "Shanghai")]) == ["丁", "乙", "甲"]


def test_a_segments_list_shows_the_scores_of_the_snapshot_it_filtered_on(owner, shanghai):
    found = selectors.with_current_score(selectors.segment_customers(
        user=owner, conditions=selectors.parse_conditions([_cond("class8", "eq", "important_retain")])))
    assert sorted((c.name, c.score_clv, c.score_class8) for c in found) == [
        ("丙", 6000.0, "important_retain"), ("甲", 6000.0, "important_retain")]
    assert str(found.query).count("insights_customerscore") == 1  # one join for the filter and the columns


def test_it_accepts_a_class_by_its_chinese_or_english_name(owner, shanghai):
    (cond,) = selectors.parse_conditions([_cond("class8", "eq", "重要挽留客户")])
    assert cond.value == "important_retain"
    (cond,) = selectors.parse_conditions([_cond("rfm_segment", "eq", "At risk")])
    assert cond.value == "at_risk"
    # Whatever the page's language: a Chinese team writes English names and the reverse.
    from django.utils import translation

    for language in ("zh-hans", "en"):
        with translation.override(language):
            for field, name, key in [("rfm_segment", "At risk", "at_risk"), ("rfm_segment", "流失风险客户", "at_risk"),
                                     ("class8", "Important value", "important_value"),
                                     ("class8", "重要价值客户", "important_value")]:
                (cond,) = selectors.parse_conditions([_cond(field, "eq", name)])
                assert cond.value == key, (language, name)


def test_numbers_are_read_as_people_write_them_and_regions_by_any_name(owner, shanghai):
    (cond,) = selectors.parse_conditions([_cond("clv", "gte", "¥5,000")])
    assert cond.value == 5000.0
    (cond,) = selectors.parse_conditions([_cond("region", "contains", "上海市")])
    assert cond.value == "上海"


def test_churn_risk_and_probability_active_are_compared_in_percent_as_the_pages_show_them(owner, shanghai):
    _score(customers.customer_create(user=owner, data={"name": "丁", "region": "Shanghai"}), churn_risk=0.35, p_alive=0.9)
    for written in ("60", "60%", "６０％", " 60 % "):
        (cond,) = selectors.parse_conditions([_cond("churn_risk", "gte", written)])
        assert cond.value == 60.0, written
    assert _names(owner, [_cond("churn_risk", "gte", "60")]) == ["丙", "乙", "甲"]  # the three at 80%
    assert _names(owner, [_cond("churn_risk", "lt", "50%")]) == ["丁"]
    assert _names(owner, [_cond("p_alive", "gt", "50")]) == ["丁"]
    assert str(selectors.FIELDS["churn_risk"][2]) == "Churn risk (%)"


def test_saved_segments_comparing_risk_from_0_to_1_are_migrated_to_percent(org, owner):
    import importlib

    from django.apps import apps

    from patron.insights.models import Segment

    migration = importlib.import_module("patron.insights.migrations.0015_segment_risk_in_percent")
    conditions = [_cond("churn_risk", "gte", 0.6), _cond("p_alive", "lt", 0.25), _cond("clv", "gt", 0.5),
                  _cond("region", "eq", "上海")]
    segment = Segment.objects.create(organization=org, owner=owner, name="risky", conditions=conditions)
    # Someone who wrote 60 for 60% (which matched nobody before) keeps their 60.
    percent = Segment.objects.create(organization=org, owner=owner, name="as shown",
                                     conditions=[_cond("churn_risk", "gte", 60.0)])
    migration.to_percent(apps, None)
    segment.refresh_from_db()
    percent.refresh_from_db()
    assert [c["value"] for c in segment.conditions] == [60.0, 25.0, 0.5, "上海"]
    assert percent.conditions == [_cond("churn_risk", "gte", 60.0)]
    migration.to_fraction(apps, None)
    segment.refresh_from_db()
    assert segment.conditions == conditions


def test_a_segment_whose_condition_no_longer_holds_says_so_instead_of_failing(client, org, owner, shanghai):
    from patron.insights.models import Segment

    broken = Segment.objects.create(organization=org, owner=owner, name="odd",
                                    conditions=[_cond("churn_risk", "gte", 6000.0)])
    client.force_login(owner)
    page = client.get(f"/insights/segments/{broken.pk}/")
    assert page.status_code == 200 and "no longer applies" in page.content.decode()
    assert client.get(f"/insights/segments/{broken.pk}/edit/").status_code == 200


def test_no_contact_for_n_days_includes_customers_never_contacted(owner, shanghai):
    recent = shanghai["甲"]
    recent.last_contacted_at = timezone.now() - dt.timedelta(days=5)
    recent.save(update_fields=["last_contacted_at"])
    long_ago = shanghai["乙"]
    long_ago.last_contacted_at = timezone.now() - dt.timedelta(days=90)
    long_ago.save(update_fields=["last_contacted_at"])
    assert _names(owner, [_cond("days_since_contact", "gte", "60")]) == ["丙", "乙"]
    assert _names(owner, [_cond("days_since_contact", "lt", "60")]) == ["甲"]
    assert _names(owner, [_cond("days_since_contact", "lte", "91")]) == ["乙", "甲"]  # within the last 91 days
    assert _names(owner, [_cond("days_since_contact", "gt", "91")]) == ["丙"]  # never contacted


@pytest.mark.parametrize(
    ("persona", "count"), [("owner", 3), ("teammate", 0), ("manager", 3), ("other_team", 0), ("viewer", 3)]
)
def test_it_counts_only_the_users_visible_customers(request, shanghai, persona, count):
    user = request.getfixturevalue(persona)
    assert len(_names(user, [_cond("clv", "gte", "0")])) == count


@pytest.mark.parametrize(
    "raw",
    [
        [_cond("password", "eq", "x")],
        [_cond("clv", "contains", "5")],
        [_cond("clv", "gt", "lots")],
        [_cond("clv", "gt", "NaN")],
        [_cond("churn_risk", "gt", "150")],
        [_cond("churn_risk", "gt", "-5%")],
        [_cond("p_alive", "gt", "NaN")],
        [_cond("churn_risk", "contains", "5")],
        [_cond("class8", "eq", "best")],
        [_cond("days_since_contact", "gte", "-3")],
        [_cond("days_since_contact", "gt", "800000")],  # before year 1: no date to compare with
        [_cond("days_since_order", "gt", "99999999999999999999")],
        [_cond("region", "eq", "  ")],
        "region=Shanghai",
        [_cond("region", "eq", "x")] * 13,
    ],
)
def test_it_refuses_invalid_conditions(raw):
    with pytest.raises(selectors.ConditionError):
        selectors.parse_conditions(raw)
