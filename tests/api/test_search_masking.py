"""Search never spells out a masked phone or e-mail: whoever sees them masked finds a record by
a part of its number, name or company, and by its phone or e-mail only given whole (a security
probe rebuilt a masked phone in 8 searches, one digit more each time)."""

import pytest

from patron.sales import services as sales


@pytest.fixture
def lead(owner):
    return sales.lead_create(user=owner, data={"name": "赵磊", "phone": "13900001111", "email": "zhao.lei@example.com"})


def _names(response):
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize("path", ["/api/customers/", "/api/leads/"])
def test_a_viewer_finds_by_a_whole_phone_or_e_mail_never_by_a_part(api, viewer, customer, lead, path):
    name, phone, email = ("王芳", "13812341016", "wang.fang@example.com") if "customers" in path else (
        "赵磊", "13900001111", "zhao.lei@example.com")
    client = api(viewer)
    for part in (phone[:7], phone[3:], "wang.fang@" if "customers" in path else "zhao.lei@", "example.com"):
        assert _names(client.get(path, {"q": part})) == [], part
    for whole in (phone, f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"+86{phone}", email.upper()):
        assert _names(client.get(path, {"q": whole})) == [name], whole
    assert _names(client.get(path, {"q": name[0]})) == [name]  # the name is not masked


def test_who_sees_the_phone_in_clear_finds_by_any_part_of_it(api, owner, customer, lead):
    assert _names(api(owner).get("/api/customers/", {"q": "1234101"})) == ["王芳"]
    assert _names(api(owner).get("/api/leads/", {"q": "zhao.lei@"})) == ["赵磊"]


def test_the_customer_list_page_searches_alike(client, viewer, owner, customer):
    client.force_login(viewer)
    assert "王芳" not in client.get("/customers/", {"q": "1381234"}).content.decode()
    assert "王芳" in client.get("/customers/", {"q": "13812341016"}).content.decode()
    client.force_login(owner)
    assert "王芳" in client.get("/customers/", {"q": "1381234"}).content.decode()


def test_a_manager_finds_by_part_only_what_they_may_see_in_clear(api, org, teams, customer):
    """Whose view reaches further than their sensitive scope: a team manager seeing the whole
    organisation, revealing only the team's."""
    from patron.accounts.models import Role
    from patron.accounts.services import user_create
    from patron.customers import services as customers

    Role.objects.create(organization=org, key="lead_rep", name="Lead rep", capabilities={
        "customers.view": 4, "customers.add": 1, "customers.view_sensitive": 2, "leads.view": 4})
    lead_rep = user_create(organization=org, username="lead_rep", password=None, roles=["lead_rep"],
                           team=teams["b"])
    ours = customers.customer_create(user=lead_rep, data={"name": "李强", "phone": "13812349999"})
    assert ours.owner_team_id == teams["b"].pk != customer.owner_team_id
    assert _names(api(lead_rep).get("/api/customers/", {"q": "1381234"})) == ["李强"]
