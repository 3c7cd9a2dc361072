"""Shared fixtures: an organisation with two teams and the persona matrix of the house style.

Personas (all in `org` unless said otherwise):
- owner: sales rep in team A who owns the customer fixtures
- teammate: another sales rep in team A
- manager: sales manager of team A (sees team A and its sub-team A1)
- subrep: sales rep in sub-team A1 (under A)
- other_team: sales rep in team B
- viewer: read-only role over the organisation
- admin: administrator of the organisation
- outsider: administrator of another organisation
"""

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from patron.common import tenancy
from tests.support import unscoped_tenant_query

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def api():
    """An API client authenticated by token as a given persona: api(user)."""

    def make(user):
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def org(db):
    from patron.organizations import services

    with tenancy.unscoped():
        organization = services.organization_create(name="Acme Trading", slug="acme")
    return organization


@pytest.fixture
def other_org(db):
    from patron.organizations import services

    with tenancy.unscoped():
        return services.organization_create(name="Rival Ltd", slug="rival")


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language. A request through the test client leaves the
    language it chose (a Chinese user's, say) active in the thread, and text written later in
    that thread (a task's notes) would follow it, depending on which tests ran before."""
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def _scoped(request):
    """Tests run inside their organisation's scope, as a request or a job would."""
    if "org" not in request.fixturenames:
        yield
        return
    organization = request.getfixturevalue("org")
    with tenancy.scope(organization):
        yield


@pytest.fixture
def teams(org):
    from patron.accounts.services import team_create

    with tenancy.scope(org):
        a = team_create(organization=org, name="East")
        a1 = team_create(organization=org, name="East / Shanghai", parent=a)
        b = team_create(organization=org, name="North")
    return {"a": a, "a1": a1, "b": b}


def _user(org, name, roles, team=None):
    from patron.accounts.services import user_create

    with tenancy.scope(org):
        return user_create(
            organization=org, username=name, password=PASSWORD, roles=roles, team=team,
            display_name=name.replace("_", " ").title(), email=f"{name}@example.com",
        )


@pytest.fixture
def owner(org, teams):
    return _user(org, "owner", ["sales_rep"], teams["a"])


@pytest.fixture
def teammate(org, teams):
    return _user(org, "teammate", ["sales_rep"], teams["a"])


@pytest.fixture
def subrep(org, teams):
    return _user(org, "subrep", ["sales_rep"], teams["a1"])


@pytest.fixture
def manager(org, teams):
    return _user(org, "manager", ["sales_manager"], teams["a"])


@pytest.fixture
def other_team(org, teams):
    return _user(org, "other_team", ["sales_rep"], teams["b"])


@pytest.fixture
def viewer(org):
    return _user(org, "viewer", ["viewer"])


@pytest.fixture
def admin(org):
    return _user(org, "admin", ["admin"])


@pytest.fixture
def outsider(other_org):
    return _user(other_org, "outsider", ["admin"])


@pytest.fixture
def customer(owner):
    from patron.customers import services

    return services.customer_create(
        user=owner,
        data={
            "name": "王芳", "phone": "138 1234 1016", "email": "Wang.Fang@Example.com",
            "region": "Shanghai", "birthday": "1988-05-12", "id_number": "310101198805120021",
        },
    )


@pytest.fixture
def product(org):
    from patron.catalog.models import Product

    return Product.objects.create(organization=org, sku="TEA-001", name="Longjing tea", price="88.00")


# --- The tenancy guard ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _tenancy_guard(request):
    """Fail any test whose code queries a tenant table without an organisation filter."""
    if "django_db_setup" not in request.fixturenames and "db" not in request.fixturenames:
        yield
        return

    def guard(execute, sql, params, many, context):
        table = unscoped_tenant_query(sql)
        if table:
            raise AssertionError(f"query on tenant table {table} without an organisation filter: {sql[:300]}")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(guard):
        yield
