"""The opportunity pages: the kanban board, moves (htmx and plain form), list, detail, forms."""

from decimal import Decimal

import pytest
from django.urls import reverse

from patron.sales import services
from patron.sales.models import Opportunity, Pipeline, Stage

SEES = {"owner": True, "teammate": False, "manager": True, "other_team": False, "viewer": True}


@pytest.fixture
def org(db):
    """An English-speaking organisation: its default pipeline's stages are named in English (a
    Chinese one's are in Chinese, see tests/platform/test_default_pipeline.py)."""
    from patron.common import tenancy
    from patron.organizations import services as organization_services

    with tenancy.unscoped():
        return organization_services.organization_create(name="Acme Trading", slug="acme", language="en")


@pytest.fixture
def pipeline(org):
    return Pipeline.objects.get(is_default=True)


@pytest.fixture
def stages(pipeline):
    return {s.name: s for s in pipeline.stages.all()}


@pytest.fixture
def opportunity(owner, customer, pipeline):
    return services.opportunity_create(
        user=owner,
        customer=customer,
        pipeline=pipeline,
        data={"name": "Spring tea order", "amount": Decimal("1500.00")},
    )


def _html(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize(("persona", "sees"), SEES.items())
def test_it_puts_the_deal_on_the_board_only_for_those_who_see_it(
    client, request, opportunity, persona, sees
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("sales:opportunity-board"))
    assert response.status_code == 200
    assert ("Spring tea order" in _html(response)) is sees


def test_it_counts_and_totals_each_column(client, owner, customer, opportunity, stages):
    services.opportunity_create(
        user=owner, customer=customer, data={"name": "Second", "amount": Decimal("500")}
    )
    client.force_login(owner)
    columns = client.get(reverse("sales:opportunity-board")).context["columns"]
    first = columns[0]
    assert first.stage == stages["Qualification"]
    assert first.count == 2 and first.total == Decimal("2000.00")
    assert [c.count for c in columns[1:]] == [0, 0, 0, 0, 0]
    assert [c.stage.name for c in columns] == [
        "Qualification",
        "Needs analysis",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
    ]


def test_it_returns_the_board_fragment_to_htmx(client, owner, opportunity):
    client.force_login(owner)
    response = client.get(reverse("sales:opportunity-board"), headers={"HX-Request": "true"})
    html = _html(response)
    assert 'id="board"' in html and "<html" not in html and "Spring tea order" in html


def test_it_rejects_an_unknown_pipeline(client, owner):
    client.force_login(owner)
    assert client.get(reverse("sales:opportunity-board"), {"pipeline": "x"}).status_code == 400


def test_it_moves_a_card_with_the_accessible_form(client, owner, opportunity, stages):
    client.force_login(owner)
    board = reverse("sales:opportunity-board")
    response = client.post(
        reverse("sales:opportunity-move", args=[opportunity.pk]),
        {
            "stage": stages["Proposal"].pk,
            "expected_version": opportunity.version,
            "next": board,
        },
    )
    opportunity.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == board
    assert opportunity.stage == stages["Proposal"] and opportunity.probability == 50


def test_it_moves_a_card_by_htmx_and_returns_the_new_board(client, owner, opportunity, stages):
    client.force_login(owner)
    response = client.post(
        reverse("sales:opportunity-move", args=[opportunity.pk]),
        {"stage": stages["Negotiation"].pk, "expected_version": opportunity.version},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and 'id="board"' in _html(response)
    negotiation = next(c for c in response.context["columns"] if c.stage == stages["Negotiation"])
    assert negotiation.count == 1 and negotiation.total == Decimal("1500.00")


def test_it_asks_the_reason_before_losing_a_deal(client, owner, opportunity, stages):
    client.force_login(owner)
    url = reverse("sales:opportunity-move", args=[opportunity.pk])
    response = client.post(
        url, {"stage": stages["Lost"].pk, "expected_version": opportunity.version}
    )
    assert response.status_code == 400 and "Say why the deal was lost" in _html(response)
    opportunity.refresh_from_db()
    assert opportunity.outcome == "open"
    client.post(
        url,
        {
            "stage": stages["Lost"].pk,
            "lost_reason": "Price",
            "expected_version": opportunity.version,
        },
    )
    opportunity.refresh_from_db()
    assert (
        opportunity.outcome == "lost"
        and opportunity.lost_reason == "Price"
        and opportunity.closed_at
    )


def test_it_wins_a_deal(client, owner, opportunity, stages):
    client.force_login(owner)
    client.post(
        reverse("sales:opportunity-move", args=[opportunity.pk]),
        {"stage": stages["Won"].pk, "expected_version": opportunity.version},
    )
    opportunity.refresh_from_db()
    assert opportunity.outcome == Stage.Outcome.WON and opportunity.probability == 100


def test_it_refuses_a_stage_of_another_pipeline(client, owner, admin, opportunity):
    from patron.accounts.services import pipeline_create

    other = pipeline_create(by=admin, name="Projects").stages.first()
    client.force_login(owner)
    response = client.post(
        reverse("sales:opportunity-move", args=[opportunity.pk]), {"stage": other.pk}
    )
    assert response.status_code == 400


def test_it_refuses_a_stale_move_with_409(client, owner, manager, opportunity, stages):
    services.opportunity_move(opportunity=opportunity, user=manager, stage=stages["Proposal"])
    client.force_login(owner)
    response = client.post(
        reverse("sales:opportunity-move", args=[opportunity.pk]),
        {"stage": stages["Won"].pk, "expected_version": 1},
    )
    opportunity.refresh_from_db()
    assert response.status_code == 409 and opportunity.stage == stages["Proposal"]


@pytest.mark.parametrize(
    ("persona", "status"), [("viewer", 403), ("teammate", 404), ("manager", 302)]
)
def test_it_lets_only_those_who_may_change_move(
    client, request, opportunity, stages, persona, status
):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(
        reverse("sales:opportunity-move", args=[opportunity.pk]), {"stage": stages["Proposal"].pk}
    )
    assert response.status_code == status


def test_it_shows_the_move_form_page(client, owner, opportunity, stages):
    client.force_login(owner)
    response = client.get(
        reverse("sales:opportunity-move", args=[opportunity.pk]), {"stage": stages["Lost"].pk}
    )
    assert response.status_code == 200 and 'name="lost_reason"' in _html(response)
    assert client.put(reverse("sales:opportunity-move", args=[opportunity.pk])).status_code == 405


@pytest.mark.parametrize(("persona", "sees"), SEES.items())
def test_it_lists_the_deal_only_to_those_who_see_it(client, request, opportunity, persona, sees):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("sales:opportunity-list"))
    assert response.status_code == 200 and ("Spring tea order" in _html(response)) is sees


def test_it_filters_the_list_and_serves_its_fragment(client, owner, opportunity, stages):
    client.force_login(owner)
    html = _html(client.get(reverse("sales:opportunity-list"), {"outcome": "won"}))
    assert "Spring tea order" not in html
    response = client.get(
        reverse("sales:opportunity-list"), {"q": "spring"}, headers={"HX-Request": "true"}
    )
    assert "Spring tea order" in _html(response) and "<html" not in _html(response)
    assert client.get(reverse("sales:opportunity-list"), {"outcome": "maybe"}).status_code == 400
    assert client.post(reverse("sales:opportunity-list")).status_code == 405


@pytest.mark.parametrize(("persona", "sees"), SEES.items())
def test_it_shows_the_detail_or_a_404(client, request, opportunity, persona, sees):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("sales:opportunity-detail", args=[opportunity.pk]))
    assert response.status_code == (200 if sees else 404)


def test_it_creates_an_opportunity(client, owner, customer, pipeline):
    client.force_login(owner)
    assert (
        client.get(reverse("sales:opportunity-create"), {"customer": customer.pk}).status_code
        == 200
    )
    response = client.post(
        reverse("sales:opportunity-create"),
        {
            "name": "Autumn order",
            "customer": customer.pk,
            "pipeline": pipeline.pk,
            "amount": "300",
            "expected_close": "2026-12-31",
            "source": "other",
        },
    )
    opp = Opportunity.objects.get(name="Autumn order")
    assert response.status_code == 302 and opp.owner == owner and opp.stage.name == "Qualification"


def test_it_will_not_create_for_a_customer_out_of_sight(client, other_team, customer, pipeline):
    client.force_login(other_team)
    response = client.post(
        reverse("sales:opportunity-create"),
        {
            "name": "Poach",
            "customer": customer.pk,
            "pipeline": pipeline.pk,
            "amount": "1",
            "source": "other",
        },
    )
    assert response.status_code == 400 and "customer" in response.context["form"].errors
    assert not Opportunity.objects.filter(name="Poach").exists()


def test_it_rerenders_the_form_on_invalid_input(client, owner, customer, pipeline):
    client.force_login(owner)
    response = client.post(
        reverse("sales:opportunity-create"),
        {
            "name": "",
            "customer": customer.pk,
            "pipeline": pipeline.pk,
            "amount": "-x",
            "source": "other",
        },
    )
    assert response.status_code == 400 and {"name", "amount"} <= set(
        response.context["form"].errors
    )


def test_it_forbids_creating_to_a_viewer(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("sales:opportunity-create")).status_code == 403


def test_it_edits_and_refuses_stale_edits(client, owner, manager, opportunity):
    client.force_login(owner)
    data = {
        "name": "Spring tea order (large)",
        "amount": "2500",
        "source": "other",
        "expected_version": opportunity.version,
    }
    assert (
        client.post(reverse("sales:opportunity-edit", args=[opportunity.pk]), data).status_code
        == 302
    )
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("2500.00")
    response = client.post(
        reverse("sales:opportunity-edit", args=[opportunity.pk]), {**data, "name": "Old"}
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("persona", "status"), [("viewer", 403), ("teammate", 404), ("manager", 200)]
)
def test_it_lets_only_those_who_may_change_edit(client, request, opportunity, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert (
        client.get(reverse("sales:opportunity-edit", args=[opportunity.pk])).status_code == status
    )


def test_a_negative_amount_is_refused_on_its_field(client, owner, customer, pipeline, opportunity):
    client.force_login(owner)
    response = client.post(reverse("sales:opportunity-create"), {
        "name": "Minus", "customer": customer.pk, "pipeline": pipeline.pk, "amount": "-5", "source": "other"})
    assert response.status_code == 400
    assert response.context["form"].errors["amount"] == ["The amount cannot be negative."]
    response = client.post(reverse("sales:opportunity-edit", args=[opportunity.pk]), {
        "name": opportunity.name, "amount": "-5", "source": "other", "expected_version": opportunity.version})
    assert response.status_code == 400 and "amount" in response.context["form"].errors


def test_the_opportunity_services_refuse_a_negative_amount(owner, customer, pipeline, opportunity):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as created:
        services.opportunity_create(user=owner, customer=customer, pipeline=pipeline,
                                    data={"name": "Minus", "amount": Decimal("-5")})
    assert created.value.message_dict == {"amount": ["The amount cannot be negative."]}
    with pytest.raises(ValidationError):
        services.opportunity_update(opportunity=opportunity, user=owner, data={"amount": "-5"})


def test_the_opportunity_page_writes_dates_and_times_as_the_other_pages_do(client, owner, opportunity):
    import datetime as dt

    Opportunity.objects.filter(pk=opportunity.pk).update(
        expected_close=dt.date(2026, 12, 31), stage_changed_at=dt.datetime(2026, 12, 7, 23, 30, tzinfo=dt.UTC),
        closed_at=dt.datetime(2026, 12, 8, 1, 5, tzinfo=dt.UTC))
    client.force_login(owner)
    html = client.get(reverse("sales:opportunity-detail", args=[opportunity.pk])).content.decode()
    assert "2026-12-31" in html and "2026-12-08 07:30" in html and "2026-12-08 09:05" in html
    assert "a.m." not in html and "Dec. 31" not in html
