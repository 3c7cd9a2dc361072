import pytest

from patron.accounts import permissions
from patron.common import masking, tenancy
from patron.customers import selectors, services
from patron.customers.models import Customer

# Who sees the owner's customer: the persona matrix of the house style.
SEES = {"owner": True, "teammate": False, "manager": True, "other_team": False, "viewer": True, "admin": True}


@pytest.mark.parametrize(("persona", "sees"), SEES.items())
def test_it_shows_the_customer_only_to_those_allowed(request, customer, persona, sees):
    user = request.getfixturevalue(persona)
    assert (customer in selectors.customer_list(user=user)) is sees
    assert permissions.can(user, "view", customer) is sees


def test_it_never_shows_another_organisations_customer(customer, outsider):
    with tenancy.scope(outsider.organization):
        assert list(selectors.customer_list(user=outsider)) == []
        assert not Customer.objects.filter(pk=customer.pk).exists()


def test_it_lets_a_manager_see_the_sub_teams_customers(subrep, manager, other_team):
    c = services.customer_create(user=subrep, data={"name": "Li Lei"})
    assert c in selectors.customer_list(user=manager)
    assert c not in selectors.customer_list(user=other_team)


def test_it_refuses_queries_with_no_organisation_in_scope(customer):
    token = tenancy.activate(None)
    try:
        with pytest.raises(tenancy.ScopeError):
            list(Customer.objects.all())
    finally:
        tenancy.deactivate(token)


def test_it_standardises_the_phone_to_e164_and_masks_it(customer, viewer, owner):
    assert customer.phone == "+8613812341016"
    assert masking.present(viewer, customer, "phone", reveal=True) == "+86 138****1016"
    assert masking.present(owner, customer, "phone") == "+86 138****1016"
    assert masking.present(owner, customer, "phone", reveal=True) == "+8613812341016"


def test_it_finds_a_customer_by_part_of_the_phone_or_name(customer, owner):
    assert list(selectors.customer_list(user=owner, filters={"q": "1234 1016"})) == [customer]
    assert list(selectors.customer_list(user=owner, filters={"q": "王"})) == [customer]
    assert list(selectors.customer_list(user=owner, filters={"q": "wang.fang@"})) == [customer]
    assert list(selectors.customer_list(user=owner, filters={"q": "9999"})) == []
