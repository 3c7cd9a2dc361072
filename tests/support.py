"""Test support shared by conftest and the tests themselves."""

import re

_TENANT_TABLES: set[str] | None = None
_TABLE_RE = re.compile(r'(?:FROM|JOIN|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)
# A table's size for SQLite's statistics (`common.bulk.analyze`): it reads no row's values.
_SIZE_ONLY = re.compile(r'\s*SELECT count\(\*\) FROM "?\w+"?\s*$', re.IGNORECASE)


def _tenant_tables() -> set[str]:
    global _TENANT_TABLES
    if _TENANT_TABLES is None:
        from django.apps import apps

        _TENANT_TABLES = {
            m._meta.db_table for m in apps.get_models()
            if any(f.name == "organization" for f in m._meta.fields) and m._meta.label_lower != "accounts.user"
        }
    return _TENANT_TABLES


def unscoped_tenant_query(sql: str) -> str | None:
    """The tenant table a SELECT or UPDATE reads without filtering by organisation, if any.

    Inserts carry the organisation in their values; deletes are issued by primary key after a
    scoped select (Django's collector), so reads and updates are where a leak would happen.
    """
    head = sql.lstrip()[:6].upper()
    if head not in ("SELECT", "UPDATE") or _SIZE_ONLY.match(sql):
        return None
    tables = [t for t in _TABLE_RE.findall(sql) if t in _tenant_tables()]
    if tables and "organization_id" not in sql:
        return tables[0]
    return None


def current_run(organization_id):
    """The organisation's current value refresh, made (finished and current) if there is none:
    a score row a test writes is current only as part of it."""
    import datetime as dt

    from patron.insights.models import ScoreRun

    return ScoreRun.objects.filter(is_current=True).first() or ScoreRun.objects.create(
        organization_id=organization_id, as_of=dt.date(2026, 1, 1), status=ScoreRun.Status.DONE, is_current=True)


def lines_out_of_step() -> list:
    """The order lines whose copies of their order's customer and time (OrderLine.customer,
    OrderLine.ordered_at) differ from the order's: none, after any write. In the current
    organisation's scope."""
    from patron.orders.models import OrderLine

    rows = OrderLine.objects.values_list("pk", "customer_id", "ordered_at", "order__customer_id", "order__ordered_at")
    return [pk for pk, customer, at, order_customer, order_at in rows if (customer, at) != (order_customer, order_at)]
