"""Creating, editing, duplicate check, transfer and delete of customers."""

import datetime as dt

import pytest
from django.urls import reverse

from patron.customers import services
from patron.customers.models import Customer

CREATE = "/customers/new/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hashing each persona's password with the production hasher costs seconds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _url(customer, name):
    return reverse(f"customers:{name}", args=[customer.pk])


def _form_data(**changes):
    data = {
        "kind": "person",
        "name": "Zhou Min",
        "source": "referral",
        "preferred_channel": "phone",
        "consent_phone": "on",
        "phone": "139 0000 2222",
        "email": "Zhou@Example.com",
    }
    data.update(changes)
    return data


def test_it_creates_a_customer_through_the_service(client, owner):
    client.force_login(owner)
    assert client.get(CREATE).status_code == 200
    response = client.post(CREATE, _form_data())
    customer = Customer.objects.get(name="Zhou Min")
    assert response.status_code == 302 and response["Location"] == _url(customer, "customer-detail")
    assert customer.phone == "+8613900002222" and customer.email == "zhou@example.com"
    assert customer.owner == owner and customer.number.startswith("C")


def test_it_puts_errors_on_the_fields(client, owner):
    client.force_login(owner)
    response = client.post(CREATE, _form_data(name="", phone="12", email="not-an-email"))
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) >= {"name", "phone", "email"}
    assert not Customer.objects.exists()
    next_year = dt.date.today().year + 1
    for birthday, said in ((f"{next_year}-01-01", "in the future"), ("1890-05-06", "before 1900")):
        response = client.post(CREATE, _form_data(birthday=birthday))
        assert response.status_code == 400 and said in response.context["form"].errors["birthday"][0]
    assert not Customer.objects.exists()


def test_a_customer_with_an_odd_stored_birthday_stays_editable(client, owner, customer):
    import datetime as dt

    Customer.objects.filter(pk=customer.pk).update(birthday=dt.date(1890, 5, 6))  # imported before the check
    customer.refresh_from_db()
    client.force_login(owner)
    data = _form_data(name="Renamed", birthday="1890-05-06", version=customer.version)
    response = client.post(_url(customer, "customer-edit"), data)
    assert response.status_code == 302 and Customer.objects.get(pk=customer.pk).name == "Renamed"
    data = _form_data(birthday="1880-01-01", version=customer.version + 1)
    response = client.post(_url(customer, "customer-edit"), data)
    assert response.status_code == 400 and "before 1900" in response.context["form"].errors["birthday"][0]


def test_it_refuses_creation_to_a_viewer(client, viewer):
    client.force_login(viewer)
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, _form_data()).status_code == 403


@pytest.mark.parametrize(
    ("persona", "status"),
    [("owner", 200), ("teammate", 404), ("manager", 200), ("other_team", 404), ("viewer", 403)],
)
def test_it_lets_only_those_allowed_edit(client, request, customer, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(_url(customer, "customer-edit")).status_code == status


def test_it_saves_an_edit_with_the_version_it_read(client, owner, customer):
    client.force_login(owner)
    form = client.get(_url(customer, "customer-edit")).context["form"]
    assert form.initial["version"] == customer.version
    data = _form_data(name="王芳", city="Hangzhou", version=customer.version)
    response = client.post(_url(customer, "customer-edit"), data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.city == "Hangzhou" and customer.version == 2


def test_it_refuses_a_stale_edit_with_a_conflict(client, owner, manager, customer):
    stale_version = customer.version
    services.customer_update(customer=customer, user=manager, data={"city": "Ningbo"})
    client.force_login(owner)
    response = client.post(
        _url(customer, "customer-edit"), _form_data(city="Hangzhou", version=stale_version)
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    customer.refresh_from_db()
    assert customer.city == "Ningbo"


def test_a_tampered_version_says_the_form_is_out_of_date(client, owner, customer):
    client.force_login(owner)
    response = client.post(_url(customer, "customer-edit"), _form_data(city="Hangzhou", version="abc"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "This form&#x27;s version is not valid" in page and "Reload the latest version" in page
    customer.refresh_from_db()
    assert customer.city != "Hangzhou"


def test_it_updates_tags_and_audits_the_change(client, owner, customer):
    tag = services.tag_get_or_create(user=owner, name="VIP")
    client.force_login(owner)
    client.post(
        _url(customer, "customer-edit"), _form_data(version=customer.version, tags=[tag.pk])
    )
    assert list(customer.tags.all()) == [tag]
    from patron.audit.models import AuditEntry

    assert AuditEntry.objects.get(action="customer.tags_changed").changes == {"tags": [[], ["VIP"]]}


def test_it_finds_likely_duplicates_while_typing(client, teammate, customer):
    client.force_login(teammate)
    url = reverse("customers:customer-duplicates")
    response = client.get(url, {"phone": "138-1234-1016"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "C000001" in html and "Owner" in html and "same phone" in html
    assert "13812341016" not in html
    assert "C000001" not in client.get(url, {"phone": "139 9999 0000"}).content.decode()
    excluded = client.get(
        url, {"phone": "13812341016", "exclude": str(customer.pk)}
    ).content.decode()
    assert "C000001" not in excluded
    assert client.post(url).status_code == 405


def test_the_duplicate_hint_names_a_customer_only_to_who_may_see_it(client, manager, other_team, customer):
    """A rep of another team learns that the customer exists and whom to ask, not whose phone
    number they typed."""
    url = reverse("customers:customer-duplicates")
    client.force_login(other_team)
    html = client.get(url, {"phone": "13812341016"}, headers={"HX-Request": "true"}).content.decode()
    assert "C000001" in html and "王**" in html and "王芳" not in html and "same phone" in html
    client.force_login(manager)
    assert "王芳" in client.get(url, {"phone": "13812341016"}, headers={"HX-Request": "true"}).content.decode()


def test_it_transfers_a_customer_for_a_manager_only(client, manager, owner, teammate, customer):
    client.force_login(owner)
    assert client.get(_url(customer, "customer-transfer")).status_code == 403
    client.force_login(manager)
    assert client.get(_url(customer, "customer-transfer")).status_code == 200
    assert (
        client.post(_url(customer, "customer-transfer"), {"new_owner": "nobody"}).status_code == 400
    )
    response = client.post(_url(customer, "customer-transfer"), {"new_owner": teammate.pk})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.owner == teammate and customer.owner_team_id == teammate.team_id


def test_it_deletes_after_a_confirm_page(client, manager, owner, customer):
    client.force_login(owner)
    assert client.get(_url(customer, "customer-delete")).status_code == 403
    client.force_login(manager)
    confirm = client.get(_url(customer, "customer-delete"))
    assert confirm.status_code == 200 and b'method="post"' in confirm.content
    assert Customer.objects.filter(pk=customer.pk).exists()
    response = client.post(_url(customer, "customer-delete"))
    assert response.status_code == 302 and response["Location"] == reverse(
        "customers:customer-list"
    )
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_it_explains_why_a_customer_with_orders_cannot_be_deleted(
    client, manager, owner, customer, product
):
    import datetime as dt

    from django.utils import timezone

    from patron.orders import services as orders

    orders.order_create(
        user=owner,
        customer=customer,
        ordered_at=timezone.now() - dt.timedelta(days=1),
        lines=[{"product": product, "quantity": 1}],
    )
    client.force_login(manager)
    response = client.post(_url(customer, "customer-delete"))
    assert response.status_code == 409
    assert b"cannot be deleted" in response.content
    assert Customer.objects.filter(pk=customer.pk).exists()


@pytest.fixture
def clerk(org, teams):
    """Who may change the team's customers but not see their sensitive fields in clear."""
    from patron.accounts.models import Role
    from patron.accounts.services import user_create

    Role.objects.create(organization=org, key="clerk", name="Clerk", capabilities={
        "customers.view": 2, "customers.change": 2,
    })
    return user_create(organization=org, username="clerk", password=None, roles=["clerk"], team=teams["a"])


@pytest.mark.parametrize("persona", ["clerk", "owner"])
def test_the_edit_form_never_shows_sensitive_fields_in_clear(client, request, customer, persona):
    """Pre-filled, they were a reveal nobody audited, to someone who may not reveal them at all;
    left blank they keep their values."""
    from patron.audit.models import AuditEntry

    client.force_login(request.getfixturevalue(persona))
    page = client.get(_url(customer, "customer-edit")).content.decode()
    for clear in ("13812341016", "wang.fang@example.com", "310101198805120021", "1988-05-12"):
        assert clear not in page, clear
    assert 'placeholder="+86 138****1016"' in page and "Leave blank to keep the current value." in page
    data = {**_form_data(name="王芳芳", version=customer.version), "phone": "", "email": ""}
    assert client.post(_url(customer, "customer-edit"), data).status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.email) == ("王芳芳", "+8613812341016", "wang.fang@example.com")
    assert (customer.id_number, customer.birthday) == ("310101198805120021", dt.date(1988, 5, 12))
    assert not AuditEntry.objects.filter(action="customer.sensitive_revealed").exists()
