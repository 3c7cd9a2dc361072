"""The review queue pages: list, compare, merge, dismiss, undo; persona matrix and htmx."""

import uuid

import pytest
from django.urls import reverse

from patron.customers import merge, services
from patron.customers.models import Customer, DuplicatePair, MergeRecord

PERSONAS_SEEING = {
    "owner": True,
    "teammate": False,
    "manager": True,
    "other_team": False,
    "viewer": True,
}


@pytest.fixture
def pair(org, owner, customer):
    other = services.customer_create(
        user=owner, data={"name": "王芳", "phone": "13912345678", "city": "Suzhou"}
    )
    a, b = sorted([customer, other], key=lambda c: str(c.pk))
    return DuplicatePair.objects.create(
        organization=org, a=a, b=b, score=0.9, reasons=["same_email"]
    )


def versions(pair):
    return {"a_version": pair.a.version, "b_version": pair.b.version}


@pytest.mark.parametrize(("persona", "sees"), PERSONAS_SEEING.items())
def test_it_lists_the_pairs_a_persona_may_see(request, client, pair, persona, sees):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("dedupe:duplicate-list"))
    assert response.status_code == 200
    assert (reverse("dedupe:duplicate-detail", args=[pair.pk]) in response.content.decode()) is sees
    detail = client.get(reverse("dedupe:duplicate-detail", args=[pair.pk]))
    assert detail.status_code == (200 if sees else 404)


def test_it_shows_the_reason_and_masks_sensitive_fields(client, pair, viewer):
    client.force_login(viewer)
    page = client.get(reverse("dedupe:duplicate-detail", args=[pair.pk])).content.decode()
    assert "Same e-mail" in page
    assert "13912345678" not in page and "+8613912345678" not in page
    assert 'name="survivor"' not in page  # a viewer may not merge


def test_it_serves_the_htmx_fragment(client, pair, owner):
    client.force_login(owner)
    response = client.get(reverse("dedupe:duplicate-list"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and "duplicate-table" in body
    assert "HX-Request" in response["Vary"]
    detail = client.get(
        reverse("dedupe:duplicate-detail", args=[pair.pk]), headers={"HX-Request": "true"}
    )
    assert "<html" not in detail.content.decode() and "compare-table" in detail.content.decode()


def test_it_rejects_invalid_filters_and_wrong_methods(client, pair, owner):
    client.force_login(owner)
    assert client.get(reverse("dedupe:duplicate-list"), {"min_score": "2"}).status_code == 400
    assert client.get(reverse("dedupe:duplicate-list"), {"reason": "bogus"}).status_code == 400
    assert client.post(reverse("dedupe:duplicate-list")).status_code == 405
    assert client.get(reverse("dedupe:duplicate-merge", args=[pair.pk])).status_code == 405
    assert client.get(reverse("dedupe:duplicate-dismiss", args=[pair.pk])).status_code == 405
    assert client.get(reverse("dedupe:duplicate-detail", args=[uuid.uuid4()])).status_code == 404


def test_it_filters_by_reason_and_status(client, pair, owner):
    client.force_login(owner)
    url = reverse("dedupe:duplicate-detail", args=[pair.pk])
    assert (
        url
        in client.get(reverse("dedupe:duplicate-list"), {"reason": "same_email"}).content.decode()
    )
    assert (
        url
        not in client.get(
            reverse("dedupe:duplicate-list"), {"reason": "same_phone"}
        ).content.decode()
    )
    assert (
        url
        not in client.get(
            reverse("dedupe:duplicate-list"), {"status": "dismissed"}
        ).content.decode()
    )


def test_it_merges_and_undoes_from_the_page(client, pair, owner):
    client.force_login(owner)
    a_pk, b_pk = pair.a_id, pair.b_id
    response = client.post(
        reverse("dedupe:duplicate-merge", args=[pair.pk]), {"survivor": "b", **versions(pair)}
    )
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=a_pk).exists()
    page = client.get(response["Location"]).content.decode()
    record = MergeRecord.objects.get()
    assert reverse("dedupe:merge-undo", args=[record.pk]) in page
    response = client.post(reverse("dedupe:merge-undo", args=[record.pk]))
    assert response.status_code == 302
    assert Customer.objects.filter(pk=a_pk).exists() and Customer.objects.filter(pk=b_pk).exists()
    assert DuplicatePair.objects.get().status == "open"


def test_it_reports_a_conflict_instead_of_merging(client, pair, owner):
    client.force_login(owner)
    stale = versions(pair)
    services.customer_update(customer=pair.a, user=owner, data={"city": "Ningbo"})
    response = client.post(
        reverse("dedupe:duplicate-merge", args=[pair.pk]), {"survivor": "a", **stale}
    )
    assert response.status_code == 409
    assert MergeRecord.objects.count() == 0


def test_it_rerenders_an_invalid_merge_form(client, pair, owner):
    client.force_login(owner)
    response = client.post(reverse("dedupe:duplicate-merge", args=[pair.pk]), {"survivor": "c"})
    assert response.status_code == 400 and MergeRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("persona", "status"), [("viewer", 403), ("teammate", 404), ("other_team", 404)]
)
def test_it_refuses_merge_and_dismiss_to_those_who_may_not_change(
    request, client, pair, persona, status
):
    client.force_login(request.getfixturevalue(persona))
    merge_url = reverse("dedupe:duplicate-merge", args=[pair.pk])
    assert client.post(merge_url, {"survivor": "a", **versions(pair)}).status_code == status
    assert client.post(reverse("dedupe:duplicate-dismiss", args=[pair.pk])).status_code == status
    assert DuplicatePair.objects.get().status == "open"


def test_it_dismisses_from_the_page(client, pair, manager):
    client.force_login(manager)
    response = client.post(reverse("dedupe:duplicate-dismiss", args=[pair.pk]))
    assert response.status_code == 302 and DuplicatePair.objects.get().status == "dismissed"


def test_it_hides_an_undo_from_another_owner(client, pair, owner, teammate):
    record = merge.customer_merge(survivor=pair.a, duplicate=pair.b, user=owner)
    client.force_login(teammate)
    assert client.post(reverse("dedupe:merge-undo", args=[record.pk])).status_code == 404
    assert MergeRecord.objects.get().undone_at is None


def test_it_needs_a_login(client, pair):
    response = client.get(reverse("dedupe:duplicate-list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_an_empty_queue_says_so_and_how_pairs_get_there(client, manager):
    client.force_login(manager)
    page = client.get(reverse("dedupe:duplicate-list")).content.decode()
    assert "No possible duplicates here." in page and "duplicate-table" not in page
    assert reverse("dedupe:duplicate-scan") in page  # a manager may look for them now


def test_a_manager_looks_for_duplicates_now_and_finds_them(client, org, owner, manager, customer,
                                                          django_capture_on_commit_callbacks):
    services.customer_create(user=owner, data={"name": "王芳", "email": "wang.fang@example.com"})
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dedupe:duplicate-scan"))
    assert response.status_code == 302
    [found] = DuplicatePair.objects.all()
    assert {found.a_id, found.b_id} >= {customer.pk} and "same_email" in found.reasons
    listed = client.get(reverse("dedupe:duplicate-list")).content.decode()
    assert reverse("dedupe:duplicate-detail", args=[found.pk]) in listed


@pytest.mark.parametrize("persona", ["owner", "viewer"])
def test_only_managers_start_a_scan(client, request, persona, django_capture_on_commit_callbacks):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert reverse("dedupe:duplicate-scan") not in client.get(reverse("dedupe:duplicate-list")).content.decode()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert client.post(reverse("dedupe:duplicate-scan")).status_code == 403
    assert not callbacks


def test_the_comparison_names_choices_by_their_label(client, pair, owner):
    client.force_login(owner)
    page = client.get(reverse("dedupe:duplicate-detail", args=[pair.pk])).content.decode()
    assert "<td>Person</td>" in page and "<td>person</td>" not in page


def test_a_merged_customers_old_address_leads_to_the_one_it_was_merged_into(client, pair, owner, teammate):
    survivor, gone = pair.a, pair.b
    merge.customer_merge(survivor=survivor, duplicate=gone, user=owner)
    client.force_login(owner)
    response = client.get(reverse("customers:customer-detail", args=[gone.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("customers:customer-detail",
                                                                            args=[survivor.pk])
    client.force_login(teammate)  # sees neither
    assert client.get(reverse("customers:customer-detail", args=[gone.pk])).status_code == 404


def test_one_scan_at_a_time_and_an_abandoned_one_does_not_block(client, org, manager,
                                                                 django_capture_on_commit_callbacks):
    from patron.customers import dedupe
    from patron.organizations.models import Counter

    assert dedupe.scan_claim(organization_id=org.pk)  # a scan under way
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("dedupe:duplicate-scan"), follow=True)
    assert not callbacks and "already under way" in response.content.decode()
    Counter.objects.filter(organization=org, key=dedupe.SCAN_CLAIM_KEY).update(value=1)  # its worker died long ago
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(reverse("dedupe:duplicate-scan"))
    assert len(callbacks) == 1
    assert Counter.objects.get(organization=org, key=dedupe.SCAN_CLAIM_KEY).value == 0  # released when done


def test_the_redirect_says_nothing_to_who_could_not_see_the_customer_merged_away(client, owner, other_team):
    mine = services.customer_create(user=owner, data={"name": "A"})
    gone = services.customer_create(user=owner, data={"name": "B"})
    record = merge.customer_merge(survivor=mine, duplicate=gone, user=owner)
    # As if the customer merged away had been the other team's when it was merged.
    record.snapshot["fields"].update(owner_id=str(other_team.pk), owner_team_id=str(other_team.team_id))
    record.save(update_fields=["snapshot"])
    client.force_login(owner)  # sees the survivor, could not see the one merged away
    assert client.get(reverse("customers:customer-detail", args=[gone.pk])).status_code == 404


def test_it_suggests_keeping_the_customer_with_more_history(client, org, pair, owner):
    from patron.customers.models import Contact

    client.force_login(owner)
    url = reverse("dedupe:duplicate-detail", args=[pair.pk])
    # No history on either side: the one with more fields filled (the fixture's customer).
    fuller = "a" if pair.a.email else "b"
    assert client.get(url).context["form"].initial["survivor"] == fuller
    thinner = pair.b if fuller == "a" else pair.a
    for name in ("Li", "Zhao"):
        Contact.objects.create(organization=org, customer=thinner, name=name)
    response = client.get(url)
    assert response.context["form"].initial["survivor"] == ("b" if fuller == "a" else "a")
    assert 'value="%s" checked' % ("b" if fuller == "a" else "a") in response.content.decode()


def test_a_differing_value_is_picked_on_the_page_and_a_form_sent_back_keeps_the_pick(client, pair, owner, customer):
    client.force_login(owner)
    keep = "a" if pair.a_id == customer.pk else "b"
    other = "b" if keep == "a" else "a"
    page = client.get(reverse("dedupe:duplicate-detail", args=[pair.pk])).content.decode()
    assert 'name="take-phone"' in page and 'name="take-city"' not in page  # the city is blank on one side
    stale = versions(pair)
    services.customer_update(customer=customer, user=owner, data={"industry": "Tea"})
    sent = {"survivor": keep, "take-phone": other, **stale}
    response = client.post(reverse("dedupe:duplicate-merge", args=[pair.pk]), sent)
    assert response.status_code == 409  # changed meanwhile: shown again, the pick kept
    assert f'name="take-phone" value="{other}" checked' in response.content.decode()
    response = client.post(reverse("dedupe:duplicate-merge", args=[pair.pk]), {**sent, **versions(pair)})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.phone == "+8613912345678" and customer.region == "上海"


@pytest.fixture
def clerk(org, teams):
    """Who may change the team's customers but not see their sensitive fields in clear (a role
    an administrator made)."""
    from patron.accounts.models import Role
    from patron.accounts.services import user_create

    Role.objects.create(organization=org, key="clerk", name="Clerk", capabilities={
        "customers.view": 2, "customers.change": 2,
    })
    return user_create(organization=org, username="clerk", password=None, roles=["clerk"], team=teams["a"])


def _alike_masked(org, owner, customer):
    """A pair whose birthdays and e-mails differ but read alike masked (****-**-**, w***@example.com)."""
    other = services.customer_create(user=owner, data={
        "name": "王芳", "birthday": "1990-01-01", "phone": "13912345678", "email": "wendy@example.com",
    })
    return DuplicatePair.objects.create(organization=org, a=customer, b=other, score=0.9, reasons=["same_email"])


def test_who_may_see_them_in_clear_compares_the_differing_values_in_clear(client, org, manager, owner, customer):
    from patron.audit.models import AuditEntry

    pair = _alike_masked(org, owner, customer)
    client.force_login(manager)
    page = client.get(reverse("dedupe:duplicate-detail", args=[pair.pk])).content.decode()
    for clear in ("wang.fang@example.com", "wendy@example.com", "1988-05-12", "1990-01-01", "+8613912345678"):
        assert clear in page.lower()
    assert 'name="take-email"' in page and 'name="take-birthday"' in page
    assert 'name="take-region"' not in page  # one side blank: no choice
    # Shown through the reveal service, so audited like a reveal on the customer page.
    revealed = AuditEntry.objects.filter(action="customer.sensitive_revealed", actor=manager)
    assert {(e.object_id, e.data["field"]) for e in revealed} >= {
        (str(customer.pk), "email"), (str(customer.pk), "birthday"),
    }


def test_who_may_not_see_them_in_clear_learns_nothing_of_masked_values(client, org, owner, customer, clerk):
    """Whether two masked ID numbers, birthdays or e-mails are the same is no more theirs to
    learn than the values: no row is marked as differing where the masked forms read alike."""
    pair = _alike_masked(org, owner, customer)
    client.force_login(clerk)
    response = client.get(reverse("dedupe:duplicate-detail", args=[pair.pk]))
    page = response.content.decode()
    assert response.context["can_merge"]
    assert "wendy@example.com" not in page and "1990-01-01" not in page and "1988-05-12" not in page
    assert page.count("w***@example.com") == 2 and page.count("****-**-**") == 2
    rows = {row[0]: row for row in response.context["rows"]}
    assert not rows["email"][-1] and not rows["birthday"][-1]
    # Nothing to pick between values the user cannot read, nor taken when sent anyway.
    assert 'name="take-birthday"' not in page and 'name="take-email"' not in page
    client.post(reverse("dedupe:duplicate-merge", args=[pair.pk]),
                {"survivor": "a" if pair.a_id == customer.pk else "b", "take-birthday": "b", **versions(pair)})
    customer.refresh_from_db()
    assert customer.birthday.isoformat() == "1988-05-12"


def test_only_fields_on_the_compare_page_can_be_picked():
    from patron.customers import dedupe_views

    assert set(merge.CHOOSABLE) <= set(dedupe_views.COMPARED)
