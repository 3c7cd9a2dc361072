"""The dashboard rollups stored by the value refresh, checked against the ORM row by row."""

import datetime as dt
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from patron.insights import readers, services
from patron.insights.models import CustomerScore, ScoreRun, ScoreRunDigest
from patron.orders.models import Order

COUNTED = ["placed", "paid"]


@pytest.fixture
def two_runs(demo_org):
    """A refresh 100 days ago, then one today: the second compares with the first."""
    today = timezone.localdate()
    first = services.value_refresh(organization=demo_org, as_of=today - dt.timedelta(days=100))
    second = services.value_refresh(organization=demo_org, as_of=today)
    assert first.status == second.status == ScoreRun.Status.DONE, second.error
    return first, second


def _local_month(when: dt.datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m")


def test_it_rolls_up_revenue_orders_and_active_customers_by_month(two_runs, demo_org):
    _first, run = two_runs
    months = run.report["rollups"]["monthly"]
    assert len(months) == 24 and months[-1]["month"] == run.as_of.strftime("%Y-%m")
    revenue, orders, active = defaultdict(float), Counter(), defaultdict(set)
    for o in Order.objects.filter(status__in=COUNTED, ordered_at__date__lte=run.as_of):
        key = _local_month(o.ordered_at, demo_org.time_zone)
        revenue[key] += float(o.total)
        orders[key] += 1
        active[key].add(o.customer_id)
    for m in months:
        assert m["revenue"] == pytest.approx(revenue[m["month"]], abs=0.05)
        assert (m["orders"], m["active"]) == (orders[m["month"]], len(active[m["month"]]))
    assert sum(m["orders"] for m in months) > 0


def test_it_builds_the_cohort_matrix_from_first_purchases(two_runs, demo_org):
    _first, run = two_runs
    cohorts = run.report["rollups"]["cohorts"]["cohorts"]
    firsts: dict = {}
    buys = defaultdict(set)
    for o in Order.objects.filter(status__in=COUNTED, ordered_at__date__lte=run.as_of).order_by("ordered_at"):
        firsts.setdefault(o.customer_id, _local_month(o.ordered_at, demo_org.time_zone))
        buys[o.customer_id].add(_local_month(o.ordered_at, demo_org.time_zone))
    sizes = Counter(firsts.values())
    months = [c["month"] for c in cohorts]
    for i, c in enumerate(cohorts):
        assert c["size"] == sizes[c["month"]] == c["active"][0]
        for k, n in enumerate(c["active"]):
            expected = sum(1 for cid, m in firsts.items() if m == c["month"] and months[i + k] in buys[cid])
            assert n == expected
    assert sum(c["size"] for c in cohorts) > 0


def test_it_counts_and_values_the_current_segments(two_runs):
    _first, run = two_runs
    scores = run.report["rollups"]["scores"]
    current = CustomerScore.objects.current()
    by_segment = {r["key"]: r for r in scores["rfm_segment"]}
    for key, n in Counter(current.values_list("rfm_segment", flat=True)).items():
        assert by_segment[key]["n"] == n
        clv = sum(s.clv or 0 for s in current.filter(rfm_segment=key))
        assert by_segment[key]["clv"] == pytest.approx(clv, abs=0.05)
    assert sum(r["n"] for r in scores["class8"]) == current.count() == scores["totals"]["customers"]
    assert sum(b["n"] for b in scores["clv_bands"]) == current.filter(clv__isnull=False).count()
    assert scores["totals"]["at_risk_n"] == current.filter(churn_risk__gte=0.6).exclude(lifecycle="churned").count()
    assert 0 < scores["totals"]["at_risk_n"] < current.filter(churn_risk__gte=0.6).count()  # churned ones left out


def test_it_records_the_movement_between_segments(two_runs):
    first, run = two_runs
    movement = run.report["rollups"]["movement"]
    assert movement["previous_run"] == str(first.pk)
    before = dict(CustomerScore.objects.filter(run=first).values_list("customer_id", "rfm_segment"))
    now = CustomerScore.objects.current().filter(customer_id__in=list(before))
    expected = Counter((before[s.customer_id], s.rfm_segment) for s in now)
    assert {(c["from"], c["to"]): c["n"] for c in movement["cells"]} == dict(expected)
    assert first.report["rollups"]["movement"]["previous_run"] is None


def test_it_compares_last_periods_forecast_with_what_happened(two_runs, demo_org):
    first, run = two_runs
    forecast = run.report["rollups"]["forecast"]
    assert forecast["run"] == str(first.pk) and forecast["days"] == 90
    start = dt.datetime.combine(first.as_of + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(demo_org.time_zone))
    scored = set(CustomerScore.objects.filter(run=first).values_list("customer_id", flat=True))
    orders = Order.objects.filter(
        status__in=COUNTED, ordered_at__gte=start, ordered_at__lt=start + dt.timedelta(days=90), customer_id__in=scored
    )
    assert sum(r["actual_orders"] for r in forecast["rows"]) == orders.count()
    predicted = sum(s.expected_purchases or 0 for s in CustomerScore.objects.filter(run=first))
    assert sum(r["predicted_purchases"] for r in forecast["rows"]) == pytest.approx(predicted, rel=0.01)


def test_it_rolls_up_the_funnel_by_source(two_runs):
    from patron.sales.models import Lead

    _first, run = two_runs
    funnel = run.report["rollups"]["funnel"]
    recent = Lead.objects.filter(created_at__date__gt=run.as_of - dt.timedelta(days=366))
    assert sum(v["leads"] for v in funnel["by_source"].values()) == recent.count()
    assert sum(v["leads"] for v in funnel["by_rep"].values()) == recent.count()
    # A funnel: each stage counts the leads of the one before that went on.
    converted = recent.filter(status="converted")
    won = converted.filter(converted_opportunity__outcome="won")
    for rows in (funnel["by_source"], funnel["by_rep"]):
        assert all(v["leads"] >= v["converted"] >= v["opportunities"] >= v["won"] for v in rows.values())
        assert sum(v["converted"] for v in rows.values()) == converted.count() > 0
        assert sum(v["opportunities"] for v in rows.values()) == converted.exclude(converted_opportunity=None).count()
        assert sum(v["won"] for v in rows.values()) == won.count() > 0
        assert sum(v["won_amount"] for v in rows.values()) == pytest.approx(
            float(sum(lead.converted_opportunity.amount for lead in won.select_related("converted_opportunity"))))


def _run_rows(run: ScoreRun) -> set[tuple]:
    return {(str(c), *rest) for c, *rest in CustomerScore.objects.filter(run=run, replaced=False)
            .values_list("customer_id", *readers.DIGEST_COLUMNS)}


def test_an_earlier_run_is_read_from_its_digest_as_rescores_left_it(demo_org):
    """Movement and the forecast check read an earlier run from its digest, which the refresh
    wrote, and the customers rescored since from their rows: together, what the run's rows say."""
    today = timezone.localdate()
    first = services.value_refresh(organization=demo_org, as_of=today - dt.timedelta(days=100))
    rescored = CustomerScore.objects.filter(run=first).order_by("-expected_purchases").first()
    again = services.customer_rescore(customer_id=rescored.customer_id, organization=demo_org)
    assert again.run_id == first.pk and again.expected_purchases != rescored.expected_purchases

    def read() -> set[tuple]:
        frame = readers.read_run_digest(organization_id=demo_org.pk, run_id=first.pk,
                                        columns=list(readers.DIGEST_COLUMNS))
        assert frame["customer_id"].n_unique() == frame.height
        return set(frame.iter_rows())

    assert read() == _run_rows(first) and len(_run_rows(first)) == first.n_customers
    assert (str(rescored.customer_id), rescored.rfm_segment, rescored.expected_purchases,
            rescored.expected_spend) not in read()
    ScoreRunDigest.objects.filter(run=first).delete()  # a run from before digests
    assert read() == _run_rows(first)


def test_the_forecast_check_leaves_out_customers_merged_away_since(demo_org):
    from patron.accounts.models import User
    from patron.customers import merge

    today = timezone.localdate()
    first = services.value_refresh(organization=demo_org, as_of=today - dt.timedelta(days=100))
    survivor, duplicate = (s.customer for s in CustomerScore.objects.filter(run=first)
                           .order_by("-expected_purchases").select_related("customer")[:2])
    merge.customer_merge(survivor=survivor, duplicate=duplicate, user=User.objects.get(username="admin"))
    digest = readers.read_run_digest(organization_id=demo_org.pk, run_id=first.pk, columns=["rfm_segment"])
    assert str(duplicate.pk) in set(digest["customer_id"])  # the digest still has it; the check must not
    run = services.value_refresh(organization=demo_org, as_of=today)
    predicted = sum(s.expected_purchases or 0 for s in CustomerScore.objects.filter(run=first))
    forecast = run.report["rollups"]["forecast"]
    assert sum(r["predicted_purchases"] for r in forecast["rows"]) == pytest.approx(predicted, rel=0.01)
