"""Insight flows in a real browser: the segment builder's live count, and a dashboard whose
chart numbers open in one click."""

import datetime as dt

import polars as pl
import pytest
from playwright.sync_api import expect

from patron.customers import services as customers
from patron.insights import readers
from patron.insights.models import CustomerScore, ScoreRun

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scored(org, owner):
    """Three of the owner's customers with current scores of CLV 1,000, 6,000 and 9,000."""
    run = ScoreRun.objects.create(organization=org, as_of=dt.date(2026, 2, 1), status=ScoreRun.Status.DONE,
                                  is_current=True)
    for name, clv, segment in [("甲", 1000.0, "hibernating"), ("乙", 6000.0, "at_risk"), ("丙", 9000.0, "champions")]:
        c = customers.customer_create(user=owner, data={"name": name, "region": "Shanghai"})
        CustomerScore.objects.create(
            organization=org,
            run=run,
            customer=c,
            as_of=dt.date(2026, 2, 1),
            rfm_segment=segment,
            class8="important_retain",
            lifecycle="loyal",
            value_tier="high",
            clv=clv,
            churn_risk=0.7,
        )
    run.report = {
        "rollups": readers.rollups(
            organization_id=org.pk,
            as_of=run.as_of,
            tz=org.time_zone,
            run_id=run.pk,
            previous_run_id=None,
            threshold=0.6,
            purchases=readers.read_purchases(organization_id=org.pk, as_of=run.as_of, tz=org.time_zone),
            snapshots=pl.DataFrame(list(CustomerScore.objects.values(
                "rfm_segment", "class8", "lifecycle", "value_tier", "clv", "churn_risk", "total_spend"))),
        )
    }
    run.save()
    return run


@pytest.fixture(autouse=True)
def _warm(page, live_server):
    """The live server's first response can take tens of seconds on a loaded machine."""
    page.goto(f"{live_server.url}/login/", timeout=120_000)


def test_the_segment_builder_counts_as_you_type(page, live_server, sign_in, screenshot, owner, scored):
    sign_in(owner)
    page.goto(f"{live_server.url}/insights/segments/new/")
    page.select_option("#id_cond-0-field", "clv")
    page.select_option("#id_cond-0-op", "gt")
    page.locator("#id_cond-0-value").press_sequentially("5000", delay=30)
    expect(page.locator("#preview-count")).to_have_text("2")
    page.locator("#id_cond-0-value").fill("8000")
    page.locator("#id_cond-0-value").dispatch_event("input")
    expect(page.locator("#preview-count")).to_have_text("1")
    page.fill("#id_name", "Most valuable")
    screenshot("segment-builder")
    page.click("button.btn-primary:has-text('Save segment')")
    expect(page.locator("h1")).to_have_text("Most valuable")
    expect(page.locator("#segment-customers")).to_contain_text("丙")


def test_the_dashboard_shows_charts_and_their_numbers(page, live_server, sign_in, screenshot, manager, scored):
    sign_in(manager)
    page.goto(f"{live_server.url}/insights/")
    chart = page.locator("#chart-segments")
    expect(chart.locator("svg[role=img] title")).to_have_text("Customers by RFM segment")
    table = chart.locator("details table")
    expect(table).to_be_hidden()
    chart.locator("details summary").click()
    expect(table).to_be_visible()
    expect(table).to_contain_text("At risk")
    screenshot("insights-dashboard", docs=True)


def test_the_segment_builder_offers_the_comparisons_and_classes_that_fit_the_field(
    page, live_server, sign_in, owner, scored
):
    sign_in(owner)
    page.goto(f"{live_server.url}/insights/segments/new/")
    page.select_option("#id_cond-0-field", "region")
    page.select_option("#id_cond-0-op", "contains")
    # A number has no "contains": the comparison moves to the first that fits.
    page.select_option("#id_cond-0-field", "clv")
    expect(page.locator("#id_cond-0-op")).to_have_value("gt")
    expect(page.locator("#id_cond-0-op option[value=contains]")).to_be_disabled()
    expect(page.locator("#id_cond-0-op option[value=lte]")).to_be_enabled()
    # A class takes is / is not, and offers its classes by name.
    page.select_option("#id_cond-0-field", "rfm_segment")
    expect(page.locator("#id_cond-0-op")).to_have_value("eq")
    expect(page.locator("#id_cond-0-op option[value=gt]")).to_be_disabled()
    expect(page.locator("#id_cond-0-value")).to_have_attribute("list", "segment-values-rfm_segment")
    names = page.locator("#segment-values-rfm_segment option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert "At risk" in names
    page.locator("#id_cond-0-value").fill("At risk")
    page.locator("#id_cond-0-value").dispatch_event("input")
    expect(page.locator("#preview-count")).to_have_text("1")
