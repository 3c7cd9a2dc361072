"""Churn warnings close themselves once a rescore finds their customer no longer at risk."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patron.accounts import permissions
from patron.activities.models import Task
from patron.audit.models import AuditEntry
from patron.customers import services as customers
from patron.insights import actions, services
from patron.insights.models import CustomerScore, ScoreRun


@pytest.fixture
def run(org):
    return ScoreRun.objects.create(organization=org, as_of=org.today() - dt.timedelta(days=3),
                                   status=ScoreRun.Status.DONE, is_current=True)


def _at_risk(org, run, owner, name, risk=0.71):
    customer = customers.customer_create(user=owner, data={"name": name})
    CustomerScore.objects.create(
        organization=org, customer=customer, run=run, as_of=run.as_of, value_tier="high", lifecycle="loyal",
        n_purchases=9, total_spend=30000.0, days_since_last=40.0, clv=11764.0, churn_risk=risk,
        churn_reasons=[{"key": "long_inactive", "days": 40.0}])
    return customer


def _rescored(customer, *, risk, days_since_last, as_of=None, lifecycle="loyal"):
    """What a rescore writes: the customer's current snapshot replaced by a new one."""
    old = CustomerScore.objects.current().get(customer=customer)
    as_of = as_of or customer.organization.today()
    CustomerScore.objects.filter(pk=old.pk).update(replaced=True)
    CustomerScore.objects.create(
        organization_id=old.organization_id, customer=customer, run_id=old.run_id, as_of=as_of, value_tier="high",
        lifecycle=lifecycle, n_purchases=10, total_spend=31000.0, days_since_last=days_since_last, clv=12000.0,
        churn_risk=risk, churn_reasons=[])


def test_it_closes_the_warning_of_a_customer_whose_risk_fell_after_a_purchase(org, run, owner, manager):
    owner.language = "en"
    owner.save(update_fields=["language"])
    customer = _at_risk(org, run, owner, "West Ltd")
    job = permissions.system_actor(org)
    assert actions.churn_alerts_raise(user=job, today=run.as_of) == 1
    warning = Task.objects.get(customer=customer)
    mine = Task.objects.create(organization=org, owner=owner, customer=customer, title="Visit",
                               due_at=timezone.now() + dt.timedelta(days=3))  # written by a person
    _rescored(customer, risk=0.03, days_since_last=0.0)  # bought today, after the warning
    assert actions.churn_alerts_close(user=job) == 1
    warning.refresh_from_db()
    assert warning.status == Task.Status.CANCELLED and warning.title == "Churn risk 71%: West Ltd"
    assert warning.notes.startswith("Why: no purchase for 40 days. Value at stake (12-month CLV): 11,764.")
    assert warning.notes.endswith(f"Closed by Patron: the churn risk fell to 3% after a purchase on "
                                  f"{org.today().isoformat()}, below the 60% that raises a warning.")
    entry = AuditEntry.objects.get(action="task.cancelled", object_id=str(warning.pk))
    assert entry.actor is None and entry.changes["status"] == ["open", "cancelled"]
    assert entry.data == {"reason": "churn_risk_fell"}
    mine.refresh_from_db()
    assert mine.status == Task.Status.OPEN
    # Idempotent: nothing left to close, nothing audited twice.
    assert actions.churn_alerts_close(user=job) == 0
    assert AuditEntry.objects.filter(action="task.cancelled").count() == 1


def test_it_keeps_the_warnings_of_customers_still_at_risk_or_churned(org, run, owner):
    job = permissions.system_actor(org)
    still, churned, fell = (_at_risk(org, run, owner, name) for name in ("甲", "乙", "丙"))
    assert actions.churn_alerts_raise(user=job, today=run.as_of) == 3
    _rescored(still, risk=0.65, days_since_last=43.0)
    # Churned by its long silence, whatever the risk model now says: the owner should still call.
    _rescored(churned, risk=0.2, days_since_last=200.0, lifecycle="churned")
    _rescored(fell, risk=0.2, days_since_last=43.0)  # no purchase since: the risk fell all the same
    assert actions.churn_alerts_close(user=job, customer_ids=[still.pk, churned.pk]) == 0
    assert actions.churn_alerts_close(user=job) == 1
    assert set(Task.objects.filter(status=Task.Status.OPEN).values_list("customer__name", flat=True)) == {"甲", "乙"}
    closed = Task.objects.get(customer=fell)
    # In the organisation's language (the owner has not chosen one).
    assert closed.notes.endswith("由 Patron 关闭：流失风险降至 20%，低于触发预警的 60%。")


def test_a_warning_its_owner_completed_meanwhile_stays_completed(org, run, owner):
    from patron.activities import services as activities

    job = permissions.system_actor(org)
    customer = _at_risk(org, run, owner, "甲")
    actions.churn_alerts_raise(user=job, today=run.as_of)
    warning = Task.objects.get(customer=customer)
    _rescored(customer, risk=0.03, days_since_last=1.0)
    batch = [({"pk": warning.pk, "notes": warning.notes}, "note")]
    activities.task_complete(task=warning, user=owner)  # between the read and the write
    assert actions._close(batch, user=job) == 0
    warning.refresh_from_db()
    assert warning.status == Task.Status.DONE and warning.notes.endswith("：11,764。")


def test_closing_many_warnings_takes_as_many_queries_as_closing_a_few(org, run, owner, teammate):
    job = permissions.system_actor(org)
    few = [_at_risk(org, run, owner, f"few {i}") for i in range(2)]
    many = [_at_risk(org, run, teammate if i % 2 else owner, f"many {i}") for i in range(8)]
    teammate.language = "zh-hans"
    teammate.save(update_fields=["language"])
    actions.churn_alerts_raise(user=job, today=run.as_of)
    for customer in few + many:
        _rescored(customer, risk=0.05, days_since_last=1.0)
    with CaptureQueriesContext(connection) as small:
        assert actions.churn_alerts_close(user=job, customer_ids=[c.pk for c in few]) == 2
    with CaptureQueriesContext(connection) as large:
        assert actions.churn_alerts_close(user=job) == 8
    assert len(large.captured_queries) == len(small.captured_queries)


def test_a_purchase_closes_its_customers_warning_through_the_triggered_rescore(
        demo_org, django_capture_on_commit_callbacks):
    from patron.catalog.models import Product
    from patron.orders import services as orders

    assert services.value_refresh(organization=demo_org).status == ScoreRun.Status.DONE
    job = permissions.system_actor(demo_org)
    score = (CustomerScore.objects.current().filter(churn_risk__gte=actions.CHURN_RISK_THRESHOLD, value_tier="high",
                                                   customer__owner__isnull=False)
             .exclude(lifecycle="churned").order_by("-clv").select_related("customer__owner").first())
    customer = score.customer
    assert actions.churn_alerts_raise(user=job, customer_ids=[customer.pk]) == 1
    product = Product.objects.order_by("sku").first()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_create(user=customer.owner, customer=customer, ordered_at=timezone.now(),
                            lines=[{"product": product, "quantity": 3}])
    assert CustomerScore.objects.current().get(customer=customer).churn_risk < actions.CHURN_RISK_THRESHOLD
    warning = Task.objects.get(customer=customer, dedupe_key__startswith="churn:")
    assert warning.status == Task.Status.CANCELLED and "由 Patron 关闭" in warning.notes


def test_it_closes_warnings_a_batch_at_a_time_each_in_its_owners_language(org, run, owner, teammate, monkeypatch):
    monkeypatch.setattr(actions, "CLOSE_BATCH", 2)  # 7 warnings: three full batches and a last one
    owner.language, teammate.language = "en", "zh-hans"
    owner.save(update_fields=["language"])
    teammate.save(update_fields=["language"])
    job = permissions.system_actor(org)
    customers_ = [_at_risk(org, run, teammate if i % 2 else owner, f"客户{i}") for i in range(7)]
    assert actions.churn_alerts_raise(user=job, today=run.as_of) == 7
    for customer in customers_:
        _rescored(customer, risk=0.05, days_since_last=1.0)
    assert actions.churn_alerts_close(user=job) == 7
    assert not Task.objects.filter(status=Task.Status.OPEN).exists()
    assert AuditEntry.objects.filter(action="task.cancelled").count() == 7
    for task in Task.objects.select_related("owner"):
        closing = task.notes.rsplit("\n\n", 1)[-1]
        assert closing.startswith("Closed by Patron" if task.owner == owner else "由 Patron 关闭"), closing
