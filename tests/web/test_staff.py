"""The admin pages: users, teams, roles (capability x scope grid), pipelines and stages."""

import pytest
from django.urls import reverse

from patron.accounts.models import Role, Team, User
from patron.audit.models import AuditEntry
from patron.sales.models import Pipeline


@pytest.fixture
def org(db):
    """An English-speaking organisation: its default pipeline's stages are named in English (a
    Chinese one's are in Chinese, see tests/platform/test_default_pipeline.py)."""
    from patron.common import tenancy
    from patron.organizations import services as organization_services

    with tenancy.unscoped():
        return organization_services.organization_create(name="Acme Trading", slug="acme", language="en")

PAGES = [
    "staff:home",
    "staff:user-list",
    "staff:user-create",
    "staff:team-list",
    "staff:role-list",
    "staff:pipeline-list",
]


def _html(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_it_opens_every_admin_page_to_an_admin(client, admin, page):
    client.force_login(admin)
    assert client.get(reverse(page)).status_code == 200


@pytest.mark.parametrize("persona", ["owner", "teammate", "manager", "other_team", "viewer"])
@pytest.mark.parametrize("page", ["staff:home", "staff:user-list", "staff:role-list"])
def test_it_shows_everyone_else_the_403_page(client, request, persona, page):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse(page)).status_code == 403


def test_it_refuses_an_admin_of_another_organisation(client, outsider, owner):
    client.force_login(outsider)
    assert client.get(reverse("staff:user-edit", args=[owner.pk])).status_code == 404


def test_it_creates_a_user_with_roles_and_a_team(client, admin, teams):
    client.force_login(admin)
    rep = Role.objects.get(key="sales_rep")
    response = client.post(
        reverse("staff:user-create"),
        {
            "username": "newrep",
            "password": "a-Long-enough-passw0rd",
            "display_name": "New Rep",
            "email": "new@example.com",
            "team": teams["b"].pk,
            "roles": [rep.pk],
        },
    )
    user = User.objects.get(username="newrep")
    assert response.status_code == 302
    assert user.organization_id == admin.organization_id and user.team == teams["b"]
    assert list(user.roles.values_list("key", flat=True)) == ["sales_rep"]
    assert user.check_password("a-Long-enough-passw0rd")


def test_it_rejects_a_taken_username_and_a_weak_password(client, admin, owner):
    client.force_login(admin)
    response = client.post(reverse("staff:user-create"), {"username": "owner", "password": "123"})
    assert response.status_code == 400
    assert {"username", "password"} <= set(response.context["form"].errors)


def test_it_edits_a_users_roles_and_team_and_audits_it(client, admin, owner, teams):
    client.force_login(admin)
    manager_role = Role.objects.get(key="sales_manager")
    response = client.post(
        reverse("staff:user-edit", args=[owner.pk]),
        {
            "display_name": "Owner Promoted",
            "email": "owner@example.com",
            "team": teams["b"].pk,
            "roles": [manager_role.pk],
            "is_active": "on",
        },
    )
    owner.refresh_from_db()
    assert response.status_code == 302
    assert owner.team == teams["b"] and list(owner.roles.values_list("key", flat=True)) == [
        "sales_manager"
    ]
    entry = AuditEntry.objects.get(action="user.updated", object_id=str(owner.pk))
    assert entry.changes["roles"] == [["sales_rep"], ["sales_manager"]]


def test_it_deactivates_a_user_but_not_oneself(client, admin, owner):
    client.force_login(admin)
    assert client.post(reverse("staff:user-deactivate", args=[owner.pk])).status_code == 302
    owner.refresh_from_db()
    assert owner.is_active is False
    response = client.post(reverse("staff:user-deactivate", args=[admin.pk]))
    admin.refresh_from_db()
    assert response.status_code == 400 and admin.is_active
    assert client.get(reverse("staff:user-deactivate", args=[owner.pk])).status_code == 405


def test_it_will_not_remove_the_last_administrator(client, admin):
    client.force_login(admin)
    viewer_role = Role.objects.get(key="viewer")
    response = client.post(
        reverse("staff:user-edit", args=[admin.pk]), {"roles": [viewer_role.pk], "is_active": "on"}
    )
    assert response.status_code == 400 and "nobody able to administer" in _html(response)
    assert list(admin.roles.values_list("key", flat=True)) == ["admin"]


def test_it_shows_the_team_tree_and_adds_a_sub_team(client, admin, teams):
    client.force_login(admin)
    html = _html(client.get(reverse("staff:team-list")))
    tree = html[html.index('id="tree-title"') : html.index('id="add-team"')]
    assert tree.index("East") < tree.index("East / Shanghai") < tree.index("North")
    response = client.post(
        reverse("staff:team-list"), {"name": "Hangzhou", "parent": teams["a"].pk}
    )
    team = Team.objects.get(name="Hangzhou")
    assert response.status_code == 302 and team.path == f"{teams['a'].path}{team.pk}/"
    again = client.post(reverse("staff:team-list"), {"name": "Hangzhou", "parent": teams["a"].pk})
    assert again.status_code == 400


def test_it_moves_a_team_and_its_sub_teams(client, admin, teams):
    client.force_login(admin)
    response = client.post(
        reverse("staff:team-edit", args=[teams["a"].pk]), {"name": "East", "parent": teams["b"].pk}
    )
    assert response.status_code == 302
    a1 = Team.objects.get(pk=teams["a1"].pk)
    assert a1.path == f"{teams['b'].path}{teams['a'].pk}/{a1.pk}/"


def test_it_refuses_moving_a_team_under_its_sub_team(client, admin, teams):
    client.force_login(admin)
    response = client.post(
        reverse("staff:team-edit", args=[teams["a"].pk]), {"name": "East", "parent": teams["a1"].pk}
    )
    assert response.status_code == 400
    assert Team.objects.get(pk=teams["a"].pk).parent_id is None


def test_it_edits_a_roles_grid_of_capabilities_and_scopes(client, admin, owner):
    role = Role.objects.get(key="sales_rep")
    client.force_login(admin)
    page = client.get(reverse("staff:role-edit", args=[role.pk]))
    assert page.status_code == 200 and 'name="cap_customers__view"' in _html(page)
    data = {
        "name": "Sales rep",
        "expected_version": role.version,
        "cap_customers__view": "2",
        "cap_leads__view": "1",
    }
    assert client.post(reverse("staff:role-edit", args=[role.pk]), data).status_code == 302
    role.refresh_from_db()
    assert role.capabilities == {"customers.view": 2, "leads.view": 1}
    assert AuditEntry.objects.filter(action="role.updated", object_id=str(role.pk)).exists()
    stale = client.post(reverse("staff:role-edit", args=[role.pk]), data)
    assert stale.status_code == 409


def test_it_rejects_an_invalid_scope(client, admin):
    role = Role.objects.get(key="viewer")
    client.force_login(admin)
    response = client.post(
        reverse("staff:role-edit", args=[role.pk]), {"name": "Viewer", "cap_customers__view": "9"}
    )
    assert response.status_code == 400


def test_it_creates_a_role(client, admin):
    client.force_login(admin)
    response = client.post(reverse("staff:role-list"), {"key": "intern", "name": "Intern"})
    role = Role.objects.get(key="intern")
    assert response.status_code == 302 and role.capabilities == {}
    assert (
        client.post(reverse("staff:role-list"), {"key": "intern", "name": "Again"}).status_code
        == 400
    )


def test_it_adds_a_pipeline_with_closing_stages(client, admin):
    client.force_login(admin)
    response = client.post(reverse("staff:pipeline-list"), {"name": "Projects"})
    pipeline = Pipeline.objects.get(name="Projects")
    assert response.status_code == 302
    assert [s.outcome for s in pipeline.stages.order_by("position")] == ["open", "won", "lost"]


def test_it_adds_renames_and_reorders_stages(client, admin):
    pipeline = Pipeline.objects.get(is_default=True)
    client.force_login(admin)
    response = client.post(
        reverse("staff:stage-create", args=[pipeline.pk]),
        {"new-name": "Demo", "new-probability": "60", "new-outcome": "open"},
    )
    assert response.status_code == 302
    names = list(pipeline.stages.order_by("position").values_list("name", flat=True))
    assert names == [
        "Qualification",
        "Needs analysis",
        "Proposal",
        "Negotiation",
        "Demo",
        "Won",
        "Lost",
    ]
    demo = pipeline.stages.get(name="Demo")
    client.post(reverse("staff:stage-move", args=[demo.pk]), {"step": "-1"})
    prefix = f"s{demo.pk.hex[:8]}"
    client.post(
        reverse("staff:stage-edit", args=[demo.pk]),
        {f"{prefix}-name": "Live demo", f"{prefix}-probability": "65"},
    )
    names = list(pipeline.stages.order_by("position").values_list("name", flat=True))
    assert names[3:5] == ["Live demo", "Negotiation"]
    assert pipeline.stages.get(name="Live demo").probability == 65


def test_it_rejects_bad_stage_input(client, admin):
    pipeline = Pipeline.objects.get(is_default=True)
    first = pipeline.stages.order_by("position").first()
    client.force_login(admin)
    bad = client.post(
        reverse("staff:stage-create", args=[pipeline.pk]),
        {"new-name": "X", "new-probability": "150", "new-outcome": "open"},
    )
    assert bad.status_code == 400
    assert (
        client.post(reverse("staff:stage-move", args=[first.pk]), {"step": "-1"}).status_code == 400
    )
    assert client.get(reverse("staff:stage-move", args=[first.pk])).status_code == 405


def test_it_forbids_pipeline_changes_to_a_manager(client, manager):
    pipeline = Pipeline.objects.get(is_default=True)
    client.force_login(manager)
    response = client.post(
        reverse("staff:stage-create", args=[pipeline.pk]),
        {"new-name": "X", "new-probability": "10", "new-outcome": "open"},
    )
    assert response.status_code == 403


def test_built_in_roles_read_in_the_viewers_language_and_renamed_ones_as_named(client, admin):
    client.force_login(admin)
    page = client.get(reverse("staff:role-list"), headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "销售经理" in page and "Sales manager" not in page
    Role.objects.filter(key="sales_rep").update(name="Key account rep")
    page = client.get(reverse("staff:role-list"), headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "Key account rep" in page
