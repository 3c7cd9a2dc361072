import pytest
from django.apps import apps
from django.db import connection

from patron.common import tenancy
from patron.common.tenancy import TenantManager
from tests.support import unscoped_tenant_query


def _tenant_models():
    return [m for m in apps.get_models() if any(f.name == "organization" for f in m._meta.fields)
            # Users are found at sign-in across organisations; counters are keyed by organisation
            # explicitly. The SQL guard still checks that their queries filter by it.
            and m._meta.label_lower not in ("accounts.user", "organizations.counter")]


@pytest.mark.parametrize("model", _tenant_models(), ids=lambda m: m._meta.label)
def test_it_scopes_the_default_and_the_base_manager_of_every_tenant_model(model):
    # The base manager serves `order.customer` and cascades: it must filter too.
    assert isinstance(model._default_manager, TenantManager)
    assert isinstance(model._base_manager, TenantManager)


def test_it_keeps_related_object_access_inside_the_organisation(customer, other_org, owner):
    from patron.activities.services import interaction_log

    interaction = interaction_log(user=owner, kind="note", customer=customer)
    with tenancy.scope(other_org):
        from patron.activities.models import Interaction

        assert not Interaction.objects.filter(pk=interaction.pk).exists()


def test_the_guard_flags_a_raw_query_without_an_organisation_filter(customer):
    assert unscoped_tenant_query('SELECT "id" FROM "customers_customer" WHERE "id" = 1') == "customers_customer"
    assert unscoped_tenant_query('SELECT "id" FROM "customers_customer" WHERE "organization_id" = 1') is None
    with pytest.raises(AssertionError, match="without an organisation filter"), connection.cursor() as cursor:
        cursor.execute('SELECT "id" FROM "customers_customer"')


def test_it_builds_querysets_without_a_scope_but_refuses_to_run_them(customer):
    from patron.customers.models import Customer

    token = tenancy.activate(None)
    try:
        qs = Customer.objects.filter(name="x")  # libraries introspect querysets at import time
        with pytest.raises(tenancy.ScopeError):
            qs.count()
    finally:
        tenancy.deactivate(token)


def test_it_numbers_records_per_organisation(owner, outsider):
    from patron.customers import services

    first = services.customer_create(user=owner, data={"name": "A"})
    with tenancy.scope(outsider.organization):
        other = services.customer_create(user=outsider, data={"name": "B"})
    assert first.number == other.number == "C000001"


@pytest.mark.parametrize("label", ["customers.Customer", "sales.Lead", "audit.AuditEntry"])
def test_large_tables_index_their_keys_only_behind_the_organisation(db, label):
    """Customers, leads and audit entries, imported by the million, keep no index of their
    own on the organisation, the owner or the team: every query names the organisation, and
    an index beginning with it, then the owner or team, serves the queries that name those."""
    model = apps.get_model(label)
    with connection.cursor() as cursor:
        indexes = [c["columns"] for c in connection.introspection.get_constraints(cursor, model._meta.db_table).values()
                   if c["index"] and not c["primary_key"]]
    keys = [f.column for f in model._meta.concrete_fields if f.name in ("organization", "owner", "owner_team")]
    assert len(keys) == (1 if label == "audit.AuditEntry" else 3)
    for column in keys:
        assert [column] not in indexes, f"{column} has an index of its own"
        prefix = list(dict.fromkeys(["organization_id", column]))
        assert any(ix[: len(prefix)] == prefix for ix in indexes), f"no index begins with {prefix}"
