"""Sales flows in a real browser: the duplicate check while typing a lead, converting a lead,
and moving a deal on the kanban board by drag and drop and by the accessible stage picker."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from patron.sales import services
from patron.sales.models import Lead, Opportunity, Pipeline

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stages(org):
    """The default stages by their English names (`org` speaks Chinese, so they are stored in Chinese)."""
    from patron.organizations.services import DEFAULT_STAGES

    pipeline = Pipeline.objects.get(is_default=True)
    return {name: s for (name, *_), s in zip(DEFAULT_STAGES, pipeline.stages.order_by("position"), strict=True)}


@pytest.fixture
def deal(owner, customer, stages):
    return services.opportunity_create(
        user=owner,
        customer=customer,
        stage=stages["Qualification"],
        pipeline=stages["Qualification"].pipeline,
        data={"name": "Spring tea order", "amount": Decimal("1500")},
    )


def test_it_flags_a_customer_with_the_same_phone_while_typing(
    page, live_server, sign_in, screenshot, teammate, customer
):
    sign_in(teammate)
    page.goto(f"{live_server.url}/sales/leads/new/")
    page.fill("input[name=name]", "Wang F.")
    page.locator("input[name=phone]").press_sequentially("138 1234 1016", delay=20)
    warning = page.locator("#duplicates")
    expect(warning).to_contain_text(customer.number)
    expect(warning).to_contain_text("same phone")
    screenshot("lead-duplicate-check")
    page.click("button[type=submit]:has-text('Save')")
    expect(page).to_have_url(re.compile(r"/sales/leads/[0-9a-f-]+/$"))
    lead = Lead.objects.get(name="Wang F.")
    assert lead.phone == customer.phone and lead.owner == teammate
    expect(page.locator(".alert-warning")).to_contain_text(customer.number)


def test_it_converts_a_lead(page, live_server, sign_in, owner):
    lead = services.lead_create(
        user=owner, data={"name": "Zhang Wei", "company_name": "West Lake Tea"}
    )
    sign_in(owner)
    page.goto(f"{live_server.url}/sales/leads/{lead.pk}/")
    page.click("a:has-text('Convert')")
    page.fill("input[name=opportunity_name]", "Office tea supply")
    page.fill("input[name=amount]", "8800")
    page.click("button[type=submit]:has-text('Convert')")
    page.wait_for_load_state()
    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED
    opp = Opportunity.objects.get(lead=lead)
    assert opp.name == "Office tea supply" and opp.amount == Decimal("8800.00")
    assert lead.converted_customer.name == "West Lake Tea"


def _column(page, stage):
    return page.locator(f".board-column[data-stage='{stage.pk}']")


def test_it_moves_a_deal_by_drag_and_drop(
    page, live_server, sign_in, screenshot, owner, deal, stages
):
    sign_in(owner)
    page.goto(f"{live_server.url}/sales/opportunities/")
    expect(_column(page, stages["Qualification"])).to_contain_text("Spring tea order")
    screenshot("opportunity-board", docs=True)
    page.drag_and_drop(f"#card-{deal.pk}", f".board-column[data-stage='{stages['Proposal'].pk}']")
    expect(_column(page, stages["Proposal"]).locator(f"#card-{deal.pk}")).to_be_visible()
    expect(_column(page, stages["Proposal"]).locator(".count")).to_have_text("1 deal")
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal"]
    # Dropping on Lost asks why before moving.
    page.drag_and_drop(f"#card-{deal.pk}", f".board-column[data-stage='{stages['Lost'].pk}']")
    expect(page.locator("#lost-dialog")).to_be_visible()
    page.fill("#lost-reason", "Chose a cheaper supplier")
    page.click("#lost-dialog button:has-text('Mark as lost')")
    expect(_column(page, stages["Lost"]).locator(f"#card-{deal.pk}")).to_be_visible()
    deal.refresh_from_db()
    assert deal.outcome == "lost" and deal.lost_reason == "Chose a cheaper supplier"


def test_it_moves_a_deal_with_the_stage_picker(page, live_server, sign_in, owner, deal, stages):
    sign_in(owner)
    page.goto(f"{live_server.url}/sales/opportunities/")
    card = page.locator(f"#card-{deal.pk}")
    card.get_by_label("Stage of Spring tea order").select_option(str(stages["Negotiation"].pk))
    card.get_by_role("button", name="Move").click()
    expect(_column(page, stages["Negotiation"]).locator(f"#card-{deal.pk}")).to_be_visible()
    deal.refresh_from_db()
    assert deal.stage == stages["Negotiation"]
