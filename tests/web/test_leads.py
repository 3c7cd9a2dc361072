"""The lead pages: list, detail, create/edit with the duplicate check, qualify, disqualify,
convert, the timeline, for each persona."""

import pytest
from django.urls import reverse

from patron.activities.models import Interaction
from patron.audit.models import AuditEntry
from patron.sales import services
from patron.sales.models import Lead, Opportunity

SEES = {"owner": True, "teammate": False, "manager": True, "other_team": False, "viewer": True}
CHANGES = {"owner": True, "teammate": False, "manager": True, "other_team": False, "viewer": False}


@pytest.fixture
def lead(owner):
    return services.lead_create(
        user=owner,
        data={
            "name": "Zhang Wei",
            "company_name": "Hangzhou Tea Co",
            "phone": "139 0000 1234",
            "email": "zw@example.com",
            "estimated_value": "5000",
        },
    )


def _html(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize(("persona", "sees"), SEES.items())
def test_it_lists_the_lead_only_to_those_who_see_it(client, request, lead, persona, sees):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("sales:lead-list"))
    assert response.status_code == 200
    assert ("Zhang Wei" in _html(response)) is sees


@pytest.mark.parametrize(("persona", "sees"), SEES.items())
def test_it_shows_the_detail_or_a_404(client, request, lead, persona, sees):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("sales:lead-detail", args=[lead.pk]))
    assert response.status_code == (200 if sees else 404)


def test_it_masks_the_phone_on_the_list_and_the_detail(client, viewer, lead):
    client.force_login(viewer)
    for url in (reverse("sales:lead-list"), reverse("sales:lead-detail", args=[lead.pk])):
        html = _html(client.get(url))
        assert "+8613900001234" not in html
        assert "139****1234" in html


def test_it_reveals_a_field_to_the_owner_and_audits_it(client, owner, lead):
    client.force_login(owner)
    response = client.post(
        reverse("sales:lead-reveal", args=[lead.pk]),
        {"field": "phone"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert _html(response).strip() == "+8613900001234"
    assert AuditEntry.objects.filter(
        action="lead.sensitive_revealed", object_id=str(lead.pk)
    ).exists()


def test_it_refuses_to_reveal_to_a_viewer(client, viewer, lead):
    client.force_login(viewer)
    response = client.post(reverse("sales:lead-reveal", args=[lead.pk]), {"field": "phone"})
    assert response.status_code == 403


def test_it_filters_by_status_and_search(client, owner, lead):
    other = services.lead_create(user=owner, data={"name": "Li Na"})
    services.lead_qualify(lead=other, user=owner)
    client.force_login(owner)
    html = _html(client.get(reverse("sales:lead-list"), {"status": "qualified"}))
    assert "Li Na" in html and "Zhang Wei" not in html
    html = _html(client.get(reverse("sales:lead-list"), {"q": "0000 1234"}))
    assert "Zhang Wei" in html and "Li Na" not in html


def test_it_pages_with_a_keyset_cursor(client, owner):
    for i in range(27):
        services.lead_create(user=owner, data={"name": f"Lead {i:02d}"})
    client.force_login(owner)
    first = client.get(reverse("sales:lead-list"))
    cursor = first.context["page"].next_cursor
    assert len(first.context["page"].items) == 25 and cursor
    second = client.get(reverse("sales:lead-list"), {"cursor": cursor})
    names = {lead.name for lead in first.context["page"].items} | {
        lead.name for lead in second.context["page"].items
    }
    assert len(second.context["page"].items) == 2 and len(names) == 27
    assert second.context["page"].next_cursor is None


def test_it_answers_400_to_a_bad_cursor_or_status(client, owner):
    client.force_login(owner)
    assert client.get(reverse("sales:lead-list"), {"cursor": "not-a-cursor"}).status_code == 400
    assert client.get(reverse("sales:lead-list"), {"status": "nonsense"}).status_code == 400


@pytest.mark.parametrize("url", ["sales:lead-list", "sales:opportunity-list"])
def test_a_forged_cursor_before_the_calendar_in_utc_is_a_400(client, owner, url):
    import base64
    import uuid

    raw = f"0001-01-01T00:00:00+14:00|{uuid.uuid4().hex}"
    token = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    client.force_login(owner)
    assert client.get(reverse(url), {"cursor": token}).status_code == 400


def test_it_returns_only_the_results_fragment_to_htmx(client, owner, lead):
    client.force_login(owner)
    response = client.get(reverse("sales:lead-list"), headers={"HX-Request": "true"})
    html = _html(response)
    assert response.status_code == 200
    assert 'id="results"' in html and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_it_refuses_wrong_methods(client, owner, lead):
    client.force_login(owner)
    assert client.post(reverse("sales:lead-list")).status_code == 405
    assert client.get(reverse("sales:lead-qualify", args=[lead.pk])).status_code == 405
    assert client.get(reverse("sales:lead-disqualify", args=[lead.pk])).status_code == 405
    assert client.delete(reverse("sales:lead-create")).status_code == 405


def test_it_sends_anonymous_visitors_to_sign_in(client, lead):
    response = client.get(reverse("sales:lead-list"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_it_creates_a_lead_and_standardises_the_phone(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("sales:lead-create"),
        {"name": "Chen Jie", "phone": "138 0013 8000", "source": "website"},
    )
    lead = Lead.objects.get(name="Chen Jie")
    assert response.status_code == 302 and response["Location"] == reverse(
        "sales:lead-detail", args=[lead.pk]
    )
    assert lead.phone == "+8613800138000" and lead.owner == owner


def test_it_rerenders_the_form_with_errors_on_invalid_input(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("sales:lead-create"), {"name": "", "phone": "12", "source": "other"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "name" in form.errors and "phone" in form.errors
    assert not Lead.objects.exists()


def test_it_forbids_creating_to_a_viewer(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("sales:lead-create")).status_code == 403
    assert (
        client.post(reverse("sales:lead-create"), {"name": "X", "source": "other"}).status_code
        == 403
    )


def test_it_flags_a_customer_and_a_lead_with_the_same_phone(client, teammate, customer, lead):
    client.force_login(teammate)
    response = client.get(
        reverse("sales:lead-duplicates"), {"phone": "138-1234-1016"}, headers={"HX-Request": "true"}
    )
    html = _html(response)
    assert response.status_code == 200 and customer.number in html and "same phone" in html
    response = client.get(reverse("sales:lead-duplicates"), {"email": "ZW@example.com"})
    assert lead.number in _html(response) and "+8613900001234" not in _html(response)


def test_the_duplicate_hint_names_a_lead_only_to_who_may_see_it(client, other_team, owner, lead):
    client.force_login(other_team)
    html = _html(client.get(reverse("sales:lead-duplicates"), {"email": "zw@example.com"}))
    assert lead.number in html and "Z**" in html and "Zhang Wei" not in html
    client.force_login(owner)
    assert "Zhang Wei" in _html(client.get(reverse("sales:lead-duplicates"), {"email": "zw@example.com"}))


def test_it_shows_no_duplicates_for_a_new_phone(client, owner, customer):
    client.force_login(owner)
    response = client.get(reverse("sales:lead-duplicates"), {"phone": "13700000000"})
    assert "Possible duplicates" not in _html(response)


def test_it_edits_a_lead_and_keeps_a_blank_sensitive_field(client, owner, lead):
    client.force_login(owner)
    form = client.get(reverse("sales:lead-edit", args=[lead.pk]))
    assert "+8613900001234" not in _html(form)
    response = client.post(
        reverse("sales:lead-edit", args=[lead.pk]),
        {
            "name": "Zhang Wei",
            "company_name": "Hangzhou Tea Group",
            "phone": "",
            "email": "",
            "source": "other",
            "expected_version": lead.version,
        },
    )
    lead.refresh_from_db()
    assert response.status_code == 302
    assert lead.company_name == "Hangzhou Tea Group" and lead.phone == "+8613900001234"


def test_it_refuses_a_stale_edit_with_409(client, owner, manager, lead):
    services.lead_update(lead=lead, user=manager, data={"title": "CEO"})
    client.force_login(owner)
    response = client.post(
        reverse("sales:lead-edit", args=[lead.pk]),
        {
            "name": "Overwritten",
            "source": "other",
            "expected_version": 1,
        },
    )
    lead.refresh_from_db()
    assert response.status_code == 409 and "changed by someone else" in _html(response)
    assert lead.name == "Zhang Wei"


@pytest.mark.parametrize(
    ("persona", "status"),
    [("owner", 200), ("manager", 200), ("viewer", 403), ("teammate", 404), ("other_team", 404)],
)
def test_it_lets_only_those_who_may_change_edit(client, request, lead, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("sales:lead-edit", args=[lead.pk])).status_code == status


def test_it_qualifies_a_lead(client, owner, lead):
    client.force_login(owner)
    response = client.post(reverse("sales:lead-qualify", args=[lead.pk]))
    lead.refresh_from_db()
    assert response.status_code == 302 and lead.status == Lead.Status.QUALIFIED


def test_it_refuses_to_qualify_for_a_viewer(client, viewer, lead):
    client.force_login(viewer)
    assert client.post(reverse("sales:lead-qualify", args=[lead.pk])).status_code == 403


def test_it_disqualifies_only_with_a_reason(client, owner, lead):
    client.force_login(owner)
    response = client.post(reverse("sales:lead-disqualify", args=[lead.pk]), {"reason": ""})
    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.status == Lead.Status.NEW
    client.post(reverse("sales:lead-disqualify", args=[lead.pk]), {"reason": "No budget"})
    lead.refresh_from_db()
    assert lead.status == Lead.Status.DISQUALIFIED and lead.disqualify_reason == "No budget"
    again = client.post(reverse("sales:lead-qualify", args=[lead.pk]))
    assert again.status_code == 400 and "already" in _html(again)


def test_it_logs_an_interaction_and_returns_the_timeline_fragment(client, owner, lead):
    client.force_login(owner)
    response = client.post(
        reverse("sales:lead-interaction", args=[lead.pk]),
        {"kind": "call", "direction": "out", "subject": "First call"},
        headers={"HX-Request": "true"},
    )
    html = _html(response)
    assert response.status_code == 200 and 'id="timeline"' in html and "First call" in html
    assert "<html" not in html
    assert Interaction.objects.filter(lead=lead, subject="First call").exists()


def test_it_rejects_an_interaction_of_an_unknown_kind(client, owner, lead):
    client.force_login(owner)
    response = client.post(
        reverse("sales:lead-interaction", args=[lead.pk]),
        {"kind": "telepathy"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400 and not Interaction.objects.exists()


def test_it_converts_a_lead_into_a_customer_and_an_opportunity(client, owner, lead):
    client.force_login(owner)
    page = client.get(reverse("sales:lead-convert", args=[lead.pk]))
    assert page.status_code == 200
    pipeline = page.context["form"].fields["pipeline"].initial
    response = client.post(
        reverse("sales:lead-convert", args=[lead.pk]),
        {
            "create_opportunity": "on",
            "opportunity_name": "Tea for the office",
            "amount": "1200",
            "pipeline": pipeline.pk,
        },
    )
    lead.refresh_from_db()
    assert response.status_code == 302
    assert lead.status == Lead.Status.CONVERTED
    opp = Opportunity.objects.get(lead=lead)
    assert opp.name == "Tea for the office" and opp.customer == lead.converted_customer
    assert str(opp.amount) == "1200.00"


def test_it_offers_the_duplicate_customer_when_converting(client, owner, customer):
    lead = services.lead_create(user=owner, data={"name": "Wang Fang", "phone": "13812341016"})
    client.force_login(owner)
    page = client.get(reverse("sales:lead-convert", args=[lead.pk]))
    assert list(page.context["candidates"]) == [customer]
    pipeline = page.context["form"].fields["pipeline"].initial
    client.post(
        reverse("sales:lead-convert", args=[lead.pk]),
        {"customer": customer.pk, "pipeline": pipeline.pk},
    )
    lead.refresh_from_db()
    assert lead.converted_customer == customer and lead.converted_opportunity is None


def test_it_rejects_a_conversion_without_a_pipeline(client, owner, lead):
    client.force_login(owner)
    response = client.post(reverse("sales:lead-convert", args=[lead.pk]), {"pipeline": "nope"})
    lead.refresh_from_db()
    assert response.status_code == 400 and lead.status == Lead.Status.NEW


@pytest.mark.parametrize(("persona", "status"), [("viewer", 403), ("teammate", 404)])
def test_it_forbids_converting_to_those_who_may_not_change(client, request, lead, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("sales:lead-convert", args=[lead.pk])).status_code == status


def test_a_negative_estimated_value_is_refused_on_its_field(client, owner, lead):
    client.force_login(owner)
    response = client.post(reverse("sales:lead-create"),
                           {"name": "Minus", "source": "other", "estimated_value": "-100"})
    assert response.status_code == 400
    assert response.context["form"].errors["estimated_value"] == ["The estimated value cannot be negative."]
    assert not Lead.objects.filter(name="Minus").exists()


@pytest.mark.parametrize("value", ["-100", -1, "-0.01"])
def test_the_lead_services_refuse_a_negative_estimated_value(owner, lead, value):
    """So that the API, an import and a page agree, whatever the form checked."""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as created:
        services.lead_create(user=owner, data={"name": "Minus", "estimated_value": value})
    assert created.value.message_dict == {"estimated_value": ["The estimated value cannot be negative."]}
    with pytest.raises(ValidationError) as updated:
        services.lead_update(lead=lead, user=owner, data={"estimated_value": value})
    assert "estimated_value" in updated.value.message_dict
    lead.refresh_from_db()
    assert lead.estimated_value == 5000


def test_the_api_refuses_a_negative_estimated_value_on_its_field(client, owner):
    client.force_login(owner)
    response = client.post("/api/leads/", {"name": "Minus", "estimated_value": "-100"},
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json()["estimated_value"] == ["The estimated value cannot be negative."]


def test_a_company_lead_becomes_a_company_customer_with_its_company_name(client, owner, lead):
    from patron.customers.models import Customer

    customer, _opportunity = services.lead_convert(lead=lead, user=owner)
    customer.refresh_from_db()
    assert customer.kind == Customer.Kind.COMPANY
    assert (customer.name, customer.company_name) == ("Hangzhou Tea Co", "Hangzhou Tea Co")
    assert customer.contacts.get().name == "Zhang Wei"
    client.force_login(owner)
    listed = client.get("/customers/", {"q": "Hangzhou"}).content.decode()
    assert listed.count("Hangzhou Tea Co") == 2  # the name and the Company column


def test_a_person_lead_becomes_a_person_without_a_company(owner):
    from patron.customers.models import Customer

    lead = services.lead_create(user=owner, data={"name": "Li Na", "phone": "139 0000 9876"})
    customer, _opportunity = services.lead_convert(lead=lead, user=owner, create_opportunity=False)
    assert (customer.kind, customer.name, customer.company_name) == (Customer.Kind.PERSON, "Li Na", "")


def test_a_converted_lead_links_to_its_customer_instead_of_warning_of_it(client, owner, lead):
    customer, _opportunity = services.lead_convert(lead=lead, user=owner)
    client.force_login(owner)
    response = client.get(reverse("sales:lead-detail", args=[lead.pk]))
    html = _html(response)
    assert response.context["duplicates"] == []
    assert "already exists" not in html
    link = reverse("customers:customer-detail", args=[customer.pk])
    assert f'href="{link}">Converted to {customer.number}</a>' in html


def test_a_converted_leads_customer_out_of_sight_is_not_linked(client, owner, manager, other_team, lead):
    from patron.customers import services as customer_services

    customer, _opportunity = services.lead_convert(lead=lead, user=owner)
    customer_services.customer_transfer(customer=customer, user=manager, new_owner=other_team)
    client.force_login(owner)
    response = client.get(reverse("sales:lead-detail", args=[lead.pk]))
    assert response.status_code == 200 and response.context["converted_customer"] is None
    assert customer.number not in _html(response)


@pytest.mark.parametrize(("status", "message"), [
    ("converted", "This lead has already been converted."),
    ("disqualified", "This lead has already been disqualified."),
])
def test_a_closed_lead_says_so_in_a_sentence(client, owner, lead, status, message):
    Lead.objects.filter(pk=lead.pk).update(status=status)
    client.force_login(owner)
    response = client.post(reverse("sales:lead-qualify", args=[lead.pk]))
    assert response.status_code == 400 and message in _html(response)


def test_the_lead_page_writes_times_as_the_other_pages_do(client, owner, lead):
    import datetime as dt

    Lead.objects.filter(pk=lead.pk).update(last_contacted_at=dt.datetime(2026, 12, 7, 23, 30, tzinfo=dt.UTC))
    services.lead_convert(lead=lead, user=owner)
    Lead.objects.filter(pk=lead.pk).update(converted_at=dt.datetime(2026, 12, 8, 1, 5, tzinfo=dt.UTC))
    client.force_login(owner)
    html = _html(client.get(reverse("sales:lead-detail", args=[lead.pk])))
    assert "2026-12-08 07:30" in html and "2026-12-08 09:05" in html  # Shanghai's clock
    assert "a.m." not in html and "p.m." not in html
