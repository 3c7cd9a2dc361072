"""The demo organisation and its generated data: reproducible, consistent, realistic."""

import contextlib
import datetime as dt
import functools
import io
import zoneinfo
from collections import Counter as Tally
from collections.abc import Iterator

import numpy as np
import phonenumbers
import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Sum

from patron.common import tenancy
from patron.demo import generator, reference, services
from patron.demo.columns import STR, new_ids
from tests.support import lines_out_of_step

TODAY = dt.date(2026, 11, 23)
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _load(customers: int = 150, seed: int = 7, reset: bool = False) -> str:
    out = io.StringIO()
    call_command("demo_data", customers=customers, seed=seed, today=TODAY, reset=reset, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo(db):
    from patron.organizations.models import Organization

    output = _load()
    with tenancy.unscoped():
        organization = Organization.objects.get(slug=services.DEMO_SLUG)
    with tenancy.scope(organization):
        yield organization, output


def _staff(n_products: int = len(reference.PRODUCTS)) -> generator.Staff:
    rng = np.random.default_rng(0)
    return generator.Staff(
        rep_ids=new_ids(rng, 4), rep_team_ids=new_ids(rng, 4),
        rep_groups=np.array(["east", "east", "north", "north"], dtype=STR),
        pipeline_id="0" * 32, stage_ids=new_ids(rng, 6),
        stage_probability=np.array([10, 25, 50, 75, 100, 0]),
        stage_outcome=np.array(["open"] * 4 + ["won", "lost"], dtype=STR),
        product_ids=new_ids(rng, n_products),
    )


@functools.cache
def _chunk(seed: int, size: int = 300) -> dict:
    counters: Tally = Tally()

    def numbering(key: str, count: int) -> int:
        first = counters[key] + 1
        counters[key] += count
        return first

    return generator.generate_chunk(
        seed=seed, index=0, size=size, first_customer=1, staff=_staff(),
        pools=generator.Pools.build(), today=TODAY, numbering=numbering,
    )


def test_it_generates_the_same_data_from_the_same_seed():
    first, again, other = _chunk(3), _chunk(3), _chunk(4)
    for name, table in first.items():
        for column, values in table.items():
            # As text, so that NaT (no date) compares equal to NaT.
            assert np.array_equal(values.astype(STR), again[name][column].astype(STR)), column
    assert not np.array_equal(first["customers"]["name"], other["customers"]["name"])


def test_it_averages_about_ten_orders_with_one_time_and_heavy_buyers():
    orders = _chunk(11, size=5000)["orders"]
    per_customer = np.unique(orders["customer_id"], return_counts=True)[1]
    assert len(per_customer) == 5000  # everyone bought at least once
    assert 8 < per_customer.mean() < 12
    assert (per_customer == 1).mean() > 0.1
    assert per_customer.max() > 60


def test_it_lets_bg_nbd_recover_the_buying_process():
    """Fitting BG/NBD (Fader, Hardie & Lee 2005) to the orders finds the generating values.

    alpha is looser: the summary counts purchase days, and heavy buyers' same-day orders
    merge, which reads as a lower rate.
    """
    import polars as pl

    from patron.analytics.clv.bgnbd import BetaGeoModel
    from patron.analytics.summary import customer_summary

    orders = _chunk(11, size=5000)["orders"]
    local_day = (orders["ordered_at"] + np.timedelta64(8, "h")).astype("datetime64[D]")
    transactions = pl.DataFrame(
        {"customer_id": orders["customer_id"], "date": local_day, "amount": orders["total"] / 100}
    ).with_columns(pl.col("date").cast(pl.Date))
    summary = customer_summary(transactions, as_of=TODAY - dt.timedelta(days=1), unit="day")
    fitted = BetaGeoModel().fit(summary).params_
    truth = generator.Params()
    assert fitted["r"] == pytest.approx(truth.r, rel=0.25)
    assert fitted["a"] == pytest.approx(truth.a, rel=0.3)
    assert fitted["b"] == pytest.approx(truth.b, rel=0.3)
    assert fitted["alpha"] == pytest.approx(truth.alpha, rel=0.5)


@pytest.mark.parametrize("place", reference.PLACES, ids=lambda p: p.city)
def test_it_writes_valid_landlines_for_every_city(place):
    index = reference.PLACES.index(place)
    numbers = generator.landline_numbers(np.random.default_rng(1), np.full(200, index))
    for number in numbers.tolist():
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_valid_number(parsed), number
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number


def test_it_writes_valid_mobile_numbers():
    for number in generator.mobile_numbers(np.random.default_rng(2), 2000).tolist():
        parsed = phonenumbers.parse(number)
        assert phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE, number


def test_it_prints_the_logins_and_is_idempotent(demo):
    from patron.customers.models import Customer

    _, output = demo
    assert "wang.lei" in output and services.DEMO_PASSWORD in output
    assert "sales_manager" in output and "East China 华东" in output
    again = _load()
    assert "already exists" in again and "viewer" in again
    assert Customer.objects.count() == 150


def test_it_recreates_the_same_data_on_reset(demo):
    from patron.customers.models import Customer
    from patron.orders.models import Order
    from patron.organizations.models import Organization

    def snapshot() -> tuple:
        return (
            list(Customer.objects.order_by("number").values_list("number", "name", "phone")),
            list(Order.objects.order_by("number").values_list("number", "total", "ordered_at")),
        )

    organization, _ = demo
    before = snapshot()
    _load(reset=True)
    with tenancy.unscoped():
        assert not Organization.objects.filter(pk=organization.pk).exists()
        fresh = Organization.objects.get(slug=services.DEMO_SLUG)
    with tenancy.scope(fresh):
        assert snapshot() == before


def test_it_sets_up_the_organisation_teams_and_roles(demo):
    from patron.accounts.models import Team, User

    organization, _ = demo
    assert (organization.time_zone, organization.currency) == ("Asia/Shanghai", "CNY")
    manager = User.objects.get(username="manager")
    assert manager.roles.get().key == "sales_manager"
    assert manager.check_password(services.DEMO_PASSWORD)
    shanghai = Team.objects.get(name="Shanghai 上海")
    assert shanghai.parent.name == "East China 华东"
    assert User.objects.filter(organization=organization, roles__key="sales_rep").count() >= 4


def test_it_numbers_customers_from_the_counter(demo):
    from patron.customers.models import Customer
    from patron.organizations.models import Counter

    organization, _ = demo
    numbers = sorted(Customer.objects.values_list("number", flat=True))
    assert numbers[0] == "C000001" and numbers[-1] == "C000150"
    assert Counter.objects.get(organization=organization, key="customer").value == 150


def test_it_stores_e164_phones_lowercase_emails_and_search_text(demo):
    from patron.customers.models import Contact, Customer
    from patron.sales.models import Lead

    for model in (Customer, Contact, Lead):
        for phone, email in model.objects.values_list("phone", "email"):
            if phone:
                parsed = phonenumbers.parse(phone)
                assert phonenumbers.is_valid_number(parsed), phone
                e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                assert phone == e164
            assert email == email.lower()
    for customer in Customer.objects.all():
        assert customer.search_text == Customer.build_search_text(customer)["search_text"]
    assert Customer.objects.filter(phone__regex=r"^\+861[3-9]\d{9}$").count() > 100
    assert Customer.objects.filter(region="上海").exists()


def test_it_totals_orders_from_their_lines(demo):
    from patron.orders.models import Order

    orders = Order.objects.annotate(lines_total=Sum("lines__amount"))
    assert orders.count() > 500
    assert all(order.total == order.lines_total for order in orders)


def test_it_keeps_customer_dates_consistent_with_orders_and_interactions(demo):
    from patron.customers.models import Customer

    customers = Customer.objects.annotate(
        last_order=Max("orders__ordered_at"), last_touch=Max("interactions__occurred_at"),
        orders_n=Count("orders", distinct=True),
    )
    counts = []
    for customer in customers:
        assert customer.last_ordered_at == customer.last_order
        assert customer.last_contacted_at == customer.last_touch
        assert customer.created_at <= customer.last_order
        counts.append(customer.orders_n)
    assert min(counts) == 1 and max(counts) >= 10


def test_it_reaches_every_stage_and_status(demo):
    from patron.activities.models import Task
    from patron.sales.models import Lead, Opportunity, Stage

    assert set(Opportunity.objects.values_list("stage", flat=True)) == set(
        Stage.objects.values_list("pk", flat=True))
    assert set(Lead.objects.values_list("status", flat=True)) == set(Lead.Status.values)
    for opp in Opportunity.objects.filter(outcome="won"):
        order = opp.orders.get()
        assert opp.closed_at == order.ordered_at and opp.amount == order.total
    for opp in Opportunity.objects.filter(outcome="lost"):
        assert opp.closed_at and opp.lost_reason
    assert not Opportunity.objects.filter(outcome="open", closed_at__isnull=False).exists()
    tasks = Task.objects.all()
    due_dates = {t.due_at.astimezone(SHANGHAI).date() for t in tasks.filter(status="open")}
    assert any(d < TODAY for d in due_dates) and TODAY in due_dates
    assert any(d > TODAY for d in due_dates)
    assert tasks.filter(status="done", completed_at__isnull=False).exists()


def test_it_links_converted_leads_to_their_customer_and_deal(demo):
    from patron.sales.models import Lead

    converted = Lead.objects.filter(status="converted")
    assert converted.exists()
    for lead in converted:
        assert lead.converted_customer_id and lead.converted_at
        if lead.converted_opportunity_id:
            assert lead.converted_opportunity.lead_id == lead.pk
            assert lead.converted_opportunity.customer_id == lead.converted_customer_id
    assert Lead.objects.filter(converted_opportunity__isnull=False).exists()


def test_it_gives_records_to_the_customers_owner(demo):
    from patron.activities.models import Task
    from patron.customers.models import Customer
    from patron.orders.models import Order

    for customer in Customer.objects.select_related("owner"):
        if customer.owner is None:
            assert customer.pooled_at is not None
        else:
            assert customer.owner_team_id == customer.owner.team_id
    orders = Order.objects.select_related("customer")
    same = sum(o.owner_id == o.customer.owner_id for o in orders if o.customer.owner_id)
    assert same / orders.exclude(customer__owner=None).count() > 0.8
    assert all(t.owner_id == t.customer.owner_id for t in Task.objects.select_related("customer"))


def test_it_writes_one_summary_audit_entry_and_nothing_outside_the_org(demo, other_org):
    from patron.audit.models import AuditEntry
    from patron.customers.models import Customer
    from patron.orders.models import Order, OrderLine

    organization, _ = demo
    entry = AuditEntry.objects.get(action="demo.loaded")
    assert entry.data["counts"]["customers"] == 150
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert actions == {"demo.loaded", "user.created"}  # no entry per generated row
    with tenancy.unscoped():
        assert not Customer.objects.exclude(organization=organization).exists()
        assert not Order.objects.exclude(customer__organization=organization).exists()
        assert not OrderLine.objects.exclude(order__organization=organization).exists()
        assert not OrderLine.objects.exclude(product__organization=organization).exists()
    assert OrderLine.objects.exists() and lines_out_of_step() == []  # the lines' copies of their order


def _index_definitions() -> set[str]:
    from django.db import connection

    tables = [model._meta.db_table for _, model in services.TABLES]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                "WHERE t.relname = ANY(%s)",
                [tables],
            )
        else:  # the indexes of primary keys and UNIQUE constraints have no SQL and stay anyway
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({', '.join(['%s'] * len(tables))})",
                tables,
            )
        return {row[0] for row in cursor.fetchall()}


@contextlib.contextmanager
def _load_block(tables: list) -> Iterator[bool]:
    """The load's own nesting: SQLite's foreign keys off, a transaction, indexes deferred."""
    from django.db import transaction

    from patron.demo import loader

    with loader.sqlite_bulk_mode(), transaction.atomic(), loader.secondary_indexes_deferred(tables) as deferred:
        yield deferred


# A transaction of its own: SQLite turns foreign keys off only outside one.
@pytest.mark.django_db(transaction=True)
def test_it_builds_the_indexes_it_deferred_during_the_bulk_load():
    from django.db import connection

    tables = [model for _, model in services.TABLES]
    before = _index_definitions()
    if connection.vendor == "postgresql":
        assert any("gin_trgm_ops" in d for d in before)  # the search index is among them
    assert any("order_recent_idx" in d for d in before)
    # Inside the load's block the secondary indexes are gone, the unique ones stay.
    with _load_block(tables) as deferred:
        during = _index_definitions()
    assert deferred and during < before
    assert all("UNIQUE" in d for d in during)
    assert _index_definitions() == before
    _load()
    assert _index_definitions() == before
    # With rows in place (another load coming), nothing is dropped.
    with _load_block(tables) as deferred:
        assert not deferred and _index_definitions() == before


def test_it_keeps_the_indexes_while_sqlite_checks_foreign_keys(db):
    from django.db import connection

    from patron.demo import loader

    if connection.vendor != "sqlite":
        pytest.skip("a SQLite rule")
    # Inside a transaction SQLite cannot turn its checks off; with the indexes gone, each
    # check would scan a whole child table (a 100k load stalled on this for over ten minutes).
    with loader.sqlite_bulk_mode() as off, loader.secondary_indexes_deferred(
        [model for _, model in services.TABLES]
    ) as deferred:
        assert not off and not deferred


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_load_with_a_reference_to_nothing(monkeypatch):
    from django.db import IntegrityError

    from patron.orders.models import Order
    from patron.organizations.models import Organization

    real = generator.generate_chunk

    def broken(**kwargs):
        tables = real(**kwargs)
        tables["order_lines"]["order_id"][0] = new_ids(np.random.default_rng(0), 1)[0]
        return tables

    monkeypatch.setattr(generator, "generate_chunk", broken)
    with pytest.raises(IntegrityError, match="order_id"):
        _load()
    with tenancy.unscoped():
        organization = Organization.objects.get(slug=services.DEMO_SLUG)
    with tenancy.scope(organization):
        assert not Order.objects.exists()  # all or nothing


def test_what_the_reps_write_is_in_the_organisations_language():
    # The demo's reps work in Chinese (the organisation's language): a task titled "Call back：West
    # Ltd" mixed an English action, a Chinese colon and an English customer's name.
    import re

    han = re.compile(r"[\u4e00-\u9fff]")
    chunk = _chunk(5, size=2000)
    actions = {title.split("：", 1)[0] for title in chunk["tasks"]["title"].tolist()}
    assert actions and all(han.search(action) for action in actions), actions
    subjects = set(chunk["interactions"]["subject"].tolist())
    topics = {name.rsplit(" · ", 1)[1] for name in chunk["opportunities"]["name"].tolist()}
    reasons = set(chunk["opportunities"]["lost_reason"].tolist()) - {""}
    for written in (subjects, topics, reasons):
        assert written and all(han.search(text) for text in written), written
