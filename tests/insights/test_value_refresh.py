import datetime as dt

import polars as pl
import pytest
from django.db import DatabaseError, connection
from django.urls import reverse
from django.utils import timezone

from patron.accounts import permissions
from patron.accounts.models import User
from patron.activities.models import Task
from patron.common import bulk
from patron.customers.models import Customer
from patron.insights import actions, selectors, services
from patron.insights.models import CustomerScore, Playbook, ScoreRun, ScoreRunDigest
from patron.orders.models import Order


@pytest.fixture
def refreshed(demo_org):
    run = services.value_refresh(organization=demo_org)
    assert run.status == ScoreRun.Status.DONE, run.error
    return run


def test_it_gives_every_buyer_one_consistent_current_score(refreshed, demo_org):
    buyers = Customer.objects.filter(orders__status__in=["placed", "paid"]).distinct().count()
    current = CustomerScore.objects.current()
    assert current.count() == buyers == refreshed.n_customers
    for score in current.select_related("customer")[:200]:
        assert 1 <= score.r_score <= 5 and 1 <= score.f_score <= 5 and 1 <= score.m_score <= 5
        assert 0.0 <= score.p_alive <= 1.0 and 0.0 <= score.churn_risk <= 1.0
        assert score.clv is None or score.clv >= 0
        assert score.rfm_segment and score.class8 and score.lifecycle
        orders = Order.objects.filter(customer=score.customer, status__in=["placed", "paid"],
                                      ordered_at__date__lte=score.as_of)
        assert score.total_spend == pytest.approx(float(sum(o.total for o in orders)), abs=0.02)


def test_every_current_snapshot_carries_its_customers_creation_time_so_class_lists_miss_nobody(refreshed):
    """The customer list filtered by a class joins the snapshot on this copy (see
    `in_current_class`): one that differed from the customer's would drop the customer from
    the list (on SQLite, times are compared as text)."""
    from django.db.models import F

    from patron.insights.selectors import in_current_class

    current = CustomerScore.objects.current()
    assert current.filter(customer_created_at=F("customer__created_at")).count() == current.count() > 0
    for class8 in set(current.values_list("class8", flat=True)):
        listed = Customer.objects.filter(in_current_class(class8=class8))
        assert listed.count() == current.filter(class8=class8).count(), class8


def test_it_keeps_history_and_one_current_snapshot(refreshed, demo_org):
    second = services.value_refresh(organization=demo_org)
    assert second.status == ScoreRun.Status.DONE
    customer_id = CustomerScore.objects.current().values_list("customer_id", flat=True).first()
    history = CustomerScore.objects.filter(customer_id=customer_id).order_by("created_at")
    assert history.count() == 2 and [s.run_id for s in history] == [refreshed.pk, second.pk]
    refreshed.refresh_from_db()
    assert second.is_current and not refreshed.is_current
    assert CustomerScore.objects.current().count() == CustomerScore.objects.filter(run=second).count()
    assert history[0].r_score == history[1].r_score  # same data, same date: same result


def test_old_runs_are_pruned_after_the_refresh_and_history_is_read_from_the_runs_held(
        refreshed, demo_org, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "HISTORY_RUNS", 0)  # only the current run's snapshots
    with django_capture_on_commit_callbacks(execute=True):
        second = services.value_refresh(organization=demo_org)
    assert not CustomerScore.objects.filter(run=refreshed).exists()
    assert not ScoreRunDigest.objects.filter(run=refreshed).exists()
    assert ScoreRunDigest.objects.filter(run=second).exists()
    assert services.history_prune() == 0  # idempotent
    third = services.value_refresh(organization=demo_org)  # its prune task not run yet
    assert sorted(map(str, ScoreRun.objects.holding_snapshots())) == sorted([str(second.pk), str(third.pk)])
    admin = User.objects.get(username="admin")
    customer = CustomerScore.objects.current().select_related("customer").first().customer
    # Both held runs are of today: the trend has one point a date, the newest run's.
    assert [s.run_id for s in selectors.score_history(user=admin, customer=customer)] == [third.pk]
    assert services.history_prune() == CustomerScore.objects.filter(run=third).count() > 0
    assert list(ScoreRun.objects.holding_snapshots()) == [third.pk]
    assert [s.run_id for s in selectors.score_history(user=admin, customer=customer)] == [third.pk]
    # A running refresh's rows count too (a customer deleted meanwhile must lose them).
    running = ScoreRun.objects.create(organization=demo_org, as_of=third.as_of, status=ScoreRun.Status.RUNNING)
    assert running.pk in ScoreRun.objects.holding_snapshots()


def test_saved_segments_are_counted_again_after_a_refresh_as_their_owners_see_them(
        refreshed, demo_org, django_capture_on_commit_callbacks):
    from patron.insights.models import Segment

    rep = User.objects.filter(roles__key="sales_rep", is_active=True).order_by("username").first()
    conditions = [{"field": "clv", "op": "gte", "value": 0}]
    segment = Segment.objects.create(organization=demo_org, owner=rep, owner_team=rep.team, name="Scored",
                                     conditions=conditions)
    with django_capture_on_commit_callbacks(execute=True):
        services.value_refresh(organization=demo_org)
    segment.refresh_from_db()
    theirs = selectors.segment_customers(user=rep, conditions=selectors.parse_conditions(conditions)).count()
    assert segment.last_count == theirs > 0 and segment.evaluated_at is not None
    assert theirs < CustomerScore.objects.current().count()  # the owner's customers, not everyone's


def test_merging_a_customer_away_deletes_its_snapshots_and_only_its(refreshed, demo_org):
    from patron.customers import merge

    second = services.value_refresh(organization=demo_org)
    admin = User.objects.get(username="admin")
    survivor, duplicate = (s.customer for s in CustomerScore.objects.current().select_related("customer")[:2])
    rescored = services.customer_rescore(customer_id=duplicate.pk, organization=demo_org)
    assert CustomerScore.objects.filter(customer=duplicate).count() == 3  # two runs and a rescore
    others = CustomerScore.objects.exclude(customer=duplicate).count()
    merge.customer_merge(survivor=survivor, duplicate=duplicate, user=admin)
    assert not CustomerScore.objects.filter(customer_id=duplicate.pk).exists() and rescored.run_id == second.pk
    assert CustomerScore.objects.count() == others


def test_reasons_and_recommendations_are_stored_as_json_text_and_read_back_whole(refreshed):
    score = next(s for s in CustomerScore.objects.current() if s.churn_reasons and s.recommendations)
    assert isinstance(score.churn_reasons[0], dict) and score.churn_reasons[0]["key"]
    assert all(isinstance(p, str) for p in score.recommendations)
    score.churn_reasons = [{"key": "long_inactive", "days": 90.0}]
    score.save(update_fields=["churn_reasons"])
    score.refresh_from_db()
    assert score.churn_reasons == [{"key": "long_inactive", "days": 90.0}]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = "
                           "'insights_customerscore' AND column_name IN ('churn_reasons', 'recommendations', 'classes')")
            assert dict(cursor.fetchall()) == {"churn_reasons": "json", "recommendations": "json", "classes": "jsonb"}


def test_the_reasons_json_keeps_each_set_finite_member_rounded():
    import json
    import math

    from patron.analytics.churn import REASON_SCHEMA

    reasons = [
        [{"key": "gap_vs_usual", "log_odds": 0.21249, "ratio": 1.7, "days": 21.0, "usual_days": 12.5}],
        [{"key": "long_inactive", "log_odds": math.nan, "days": math.inf, "pct": -0.0004, "count": 12345.6789},
         {"key": "complaint", "count": 2.0}],
        [],
    ]
    full = [[{name: r.get(name) for name in REASON_SCHEMA.to_schema()} for r in row] for row in reasons]
    frame = pl.DataFrame({"churn_reasons": full}, schema={"churn_reasons": pl.List(REASON_SCHEMA)})
    texts = frame.select(services._json_reasons()).to_series().to_list()
    assert [json.loads(t) for t in texts] == [
        [{"key": "gap_vs_usual", "log_odds": 0.212, "ratio": 1.7, "days": 21.0, "usual_days": 12.5}],
        [{"key": "long_inactive", "pct": -0.0, "count": 12345.679}, {"key": "complaint", "count": 2.0}],
        [],
    ]


def test_it_records_the_fitted_models_and_timings(refreshed):
    report = refreshed.report
    assert set(report["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}
    assert report["timings_s"]["total"] > 0 and "read" in report["database_s"]


def test_a_new_order_rescores_only_that_customer(refreshed, demo_org, django_capture_on_commit_callbacks):
    from patron.catalog.models import Product
    from patron.insights.selectors import in_current_class
    from patron.orders import services as orders

    score = CustomerScore.objects.current().order_by("-days_since_last").select_related("customer").first()
    others_before = dict(CustomerScore.objects.current().exclude(pk=score.pk).values_list("pk", "customer_id"))
    owner = score.customer.owner
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_create(user=owner, customer=score.customer, ordered_at=timezone.now(),
                            lines=[{"product": Product.objects.first(), "quantity": 1}])
    new = CustomerScore.objects.current().get(customer=score.customer)
    assert new.pk != score.pk
    assert new.days_since_last < score.days_since_last and new.n_purchases == score.n_purchases + 1
    assert new.customer_created_at == score.customer.created_at
    assert Customer.objects.filter(in_current_class(class8=new.class8), pk=score.customer_id).count() == 1
    assert dict(CustomerScore.objects.current().exclude(pk=new.pk).values_list("pk", "customer_id")) == others_before


def test_an_order_placed_after_midnight_where_the_organisation_works_counts_today(
        refreshed, demo_org, monkeypatch, django_capture_on_commit_callbacks):
    """At 00:30 in Shanghai the server's clock (UTC) still says the day before: the rescore's
    "today" is the organisation's, so the order just placed is in it."""
    from patron.catalog.models import Product
    from patron.orders import services as orders

    assert demo_org.time_zone == "Asia/Shanghai"
    half_past_midnight = dt.datetime.combine(timezone.now().date(), dt.time(16, 30), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: half_past_midnight)
    assert demo_org.today() == half_past_midnight.date() + dt.timedelta(days=1)
    score = CustomerScore.objects.current().order_by("-days_since_last").select_related("customer").first()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_create(user=score.customer.owner, customer=score.customer, ordered_at=half_past_midnight,
                            lines=[{"product": Product.objects.first(), "quantity": 1}])
    new = CustomerScore.objects.current().get(customer=score.customer)
    assert new.as_of == demo_org.today()
    assert new.n_purchases == score.n_purchases + 1 and new.days_since_last == 0


def test_rescores_fetch_a_runs_fitted_models_once_and_follow_the_current_run(refreshed, demo_org, monkeypatch):
    loads = []
    original = services.pickle.loads
    monkeypatch.setattr(services.pickle, "loads", lambda blob: loads.append(1) or original(blob))
    monkeypatch.setattr(services, "_fitted", {})
    first, second = CustomerScore.objects.current().values_list("customer_id", flat=True)[:2]
    services.customer_rescore(customer_id=first, organization=demo_org)
    services.customer_rescore(customer_id=second, organization=demo_org)
    assert len(loads) == 1 and set(services._fitted) == {refreshed.pk}
    newer = services.value_refresh(organization=demo_org)
    assert services.customer_rescore(customer_id=first, organization=demo_org).run_id == newer.pk
    assert len(loads) == 2 and set(services._fitted) == {newer.pk}


def test_applying_a_playbook_twice_creates_no_duplicate_tasks(refreshed, demo_org):
    segment = CustomerScore.objects.current().values_list("rfm_segment", flat=True).first()
    playbook = Playbook.objects.create(organization=demo_org, name="Call back", class_kind="rfm_segment",
                                       class_key=segment, action=Playbook.Action.CALL_BACK, cadence_days=30)
    admin = User.objects.get(username="admin")
    first = actions.playbook_apply(playbook=playbook, user=admin)
    members = CustomerScore.objects.current().filter(rfm_segment=segment, customer__owner__isnull=False).count()
    assert first == members > 0
    assert actions.playbook_apply(playbook=playbook, user=admin) == 0
    assert Task.objects.filter(dedupe_key__startswith=f"pb:{playbook.pk}:").count() == members
    task = Task.objects.filter(dedupe_key__startswith=f"pb:{playbook.pk}:").select_related("customer").first()
    assert task.owner_id == task.customer.owner_id


def test_a_new_period_gives_no_second_task_while_the_first_is_still_open(refreshed, demo_org):
    import datetime as dt

    from patron.activities import services as activities

    segment = CustomerScore.objects.current().values_list("rfm_segment", flat=True).first()
    playbook = Playbook.objects.create(organization=demo_org, name="Call back", class_kind="rfm_segment",
                                       class_key=segment, action=Playbook.Action.CALL_BACK, cadence_days=30)
    admin = User.objects.get(username="admin")
    today = demo_org.today()
    first = actions.playbook_apply(playbook=playbook, user=admin, today=today)
    tasks = Task.objects.filter(dedupe_key__startswith=f"pb:{playbook.pk}:")
    done = tasks.select_related("customer", "owner").first()
    activities.task_complete(task=done, user=admin)
    # The next period: only the customer whose task was done gets a new one.
    assert actions.playbook_apply(playbook=playbook, user=admin, today=today + dt.timedelta(days=30)) == 1
    assert tasks.count() == first + 1
    assert tasks.filter(customer=done.customer_id).count() == 2


@pytest.mark.parametrize("username", ["service", "marketer", "viewer", "wang.lei"])
def test_only_managers_set_playbooks_apply_them_or_refresh(refreshed, demo_org, client, username):
    from patron.accounts.permissions import PermissionDenied
    from patron.insights import selectors
    from patron.organizations.models import Organization

    user = User.objects.get(username=username)
    assert not selectors.may_manage(user)
    playbook = Playbook.objects.create(organization=demo_org, name="Win back", class_kind="lifecycle",
                                       class_key="churned", action=Playbook.Action.WIN_BACK)
    with pytest.raises(PermissionDenied):
        actions.playbook_apply(playbook=playbook, user=user)
    with pytest.raises(PermissionDenied):
        services.refresh_request(organization=Organization.objects.get(pk=demo_org.pk), user=user)
    client.force_login(user)
    edit = {"name": "Taken over", "class_kind": "lifecycle", "class_key": "churned", "action": "win_back",
            "cadence_days": 30, "due_in_days": 3, "version": playbook.version}
    assert client.post(reverse("insights:playbook-update", args=[playbook.pk]), edit).status_code == 403
    assert client.post(reverse("insights:playbook-apply", args=[playbook.pk])).status_code == 403
    assert client.post(reverse("insights:refresh")).status_code == 403
    playbook.refresh_from_db()
    assert playbook.name == "Win back" and not Task.objects.filter(dedupe_key__startswith=f"pb:{playbook.pk}:")
    assert selectors.may_manage(User.objects.get(username="manager"))


def test_a_follow_up_is_due_within_a_year_and_comes_every_year_at_most(refreshed, demo_org, client):
    client.force_login(User.objects.get(username="manager"))
    form = {"name": "Far off", "class_kind": "lifecycle", "class_key": "churned", "action": "win_back",
            "cadence_days": 366, "due_in_days": 99999999}
    response = client.post(reverse("insights:playbook-create"), form)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"cadence_days", "due_in_days"}
    assert not Playbook.objects.filter(name="Far off").exists()


def test_churn_alerts_go_to_the_owner_once_and_respect_visibility(refreshed, demo_org):
    system = permissions.system_actor(demo_org)
    created = actions.churn_alerts_raise(user=system, threshold=0.3)
    assert created > 0
    assert actions.churn_alerts_raise(user=system, threshold=0.3) == 0
    alerts = Task.objects.filter(dedupe_key__startswith="churn:").select_related("customer")
    assert all(t.owner_id == t.customer.owner_id for t in alerts)
    rep = User.objects.get(username="chen.jie")  # North team: sees only own customers' alerts
    visible = Task.objects.visible_to(rep)
    assert all(t.owner_id == rep.pk for t in visible.filter(dedupe_key__startswith="churn:"))
    assert alerts.exclude(owner=rep).exists()
    assert alerts.first().notes.startswith("原因：")  # the owners have not chosen a language: the organisation's


def _win_back_only_within_the_teams_of(manager, organization):
    """Apply a win-back playbook as `manager`: it gives tasks, and only to the owners of its teams."""
    playbook = Playbook.objects.create(organization=organization, name="Win back", class_kind="lifecycle",
                                       class_key="churned", action=Playbook.Action.WIN_BACK)
    created = actions.playbook_apply(playbook=playbook, user=manager)
    tasks = Task.objects.filter(dedupe_key__startswith=f"pb:{playbook.pk}:")
    assert created == tasks.count() > 0
    assert set(tasks.values_list("owner_team_id", flat=True)) <= set(manager.subtree_team_ids)


def test_a_team_managers_playbook_reaches_only_their_teams_customers(refreshed, demo_org):
    manager = User.objects.get(username="manager")  # East and its Shanghai sub-team
    _win_back_only_within_the_teams_of(manager, demo_org)
    north = CustomerScore.objects.current().filter(lifecycle="churned",
                                         customer__owner__username__in=["chen.jie", "liu.yang"])
    assert north.exists()  # there were North customers in the class, and they got no task


def test_a_playbook_gives_tasks_only_to_owners_its_applier_may_give_them_to(refreshed, demo_org):
    """A role of an administrator's may change every customer but add tasks for its teams only:
    the playbook skips the other owners' customers rather than failing on them."""
    from patron.accounts.models import Role

    manager = User.objects.get(username="manager")
    Role.objects.create(organization=demo_org, key="regional", name="Regional", capabilities={
        "customers.view": 4, "customers.change": 4, "tasks.add": 3})
    manager.roles.set([Role.objects.get(organization=demo_org, key="regional")])
    manager = User.objects.get(pk=manager.pk)  # its capabilities read again
    _win_back_only_within_the_teams_of(manager, demo_org)


def _log(customer, user, outcome, direction="out"):
    from patron.activities import services as activities

    return activities.interaction_log(user=user, customer=customer, kind="call", direction=direction,
                                      outcome=outcome, subject=f"call: {outcome}")


def test_a_complaint_and_lost_contact_rescore_the_customer_and_alert_the_owner(
    refreshed, demo_org, django_capture_on_commit_callbacks
):
    # A valuable customer the purchase history does not flag yet.
    score = (CustomerScore.objects.current().filter(value_tier="high", churn_risk__lt=actions.CHURN_RISK_THRESHOLD,
                                          customer__owner__isnull=False)
             .exclude(lifecycle="churned").order_by("-churn_risk").select_related("customer__owner").first())
    customer, owner = score.customer, score.customer.owner
    others_before = dict(CustomerScore.objects.current().exclude(pk=score.pk).values_list("pk", "churn_risk"))
    with django_capture_on_commit_callbacks(execute=True):
        _log(customer, owner, "complaint")
    after_complaint = CustomerScore.objects.current().get(customer=customer)
    assert after_complaint.pk != score.pk
    assert after_complaint.churn_risk > score.churn_risk
    assert after_complaint.churn_reasons[0]["key"] == "complaint"
    with django_capture_on_commit_callbacks(execute=True):
        _log(customer, owner, "lost_contact")
    lost = CustomerScore.objects.current().get(customer=customer)
    assert [r["key"] for r in lost.churn_reasons[:2]] == ["lost_contact", "complaint"]
    assert lost.churn_risk > after_complaint.churn_risk
    # Only this customer changed; crossing the threshold put a task on the owner's list.
    assert dict(CustomerScore.objects.current().exclude(customer=customer)
                .values_list("pk", "churn_risk")) == others_before
    # (Here the complaint alone crossed it: one alert, naming the complaint first.)
    assert after_complaint.churn_risk >= actions.CHURN_RISK_THRESHOLD
    alert = Task.objects.get(dedupe_key__startswith=f"churn:{customer.pk}:")
    assert alert.owner_id == owner.pk and "投诉 1 次" in alert.notes  # the demo organisation's language
    # Reaching the customer again clears the lost contact on the next rescore.
    with django_capture_on_commit_callbacks(execute=True):
        _log(customer, owner, "reached", direction="in")
    assert Task.objects.filter(customer=customer, dedupe_key__startswith="churn:").count() <= 1  # no second alert
    services.customer_rescore(customer_id=customer.pk, organization=demo_org)
    reached = CustomerScore.objects.current().get(customer=customer)
    assert [r["key"] for r in reached.churn_reasons][:1] == ["complaint"]
    assert reached.churn_risk == pytest.approx(after_complaint.churn_risk)


def test_the_full_refresh_keeps_the_service_signals(refreshed, demo_org, django_capture_on_commit_callbacks):
    score = CustomerScore.objects.current().filter(customer__owner__isnull=False).select_related("customer__owner").first()
    with django_capture_on_commit_callbacks(execute=True):
        _log(score.customer, score.customer.owner, "lost_contact")
    services.value_refresh(organization=demo_org)
    again = CustomerScore.objects.current().get(customer=score.customer)
    assert again.run_id is not None and again.churn_reasons[0]["key"] == "lost_contact"


def test_a_queued_refresh_run_twice_writes_once_and_one_stopped_midway_starts_afresh(refreshed, demo_org):
    assert services.value_refresh(organization=demo_org, run=refreshed) == refreshed  # delivered twice
    assert CustomerScore.objects.filter(run=refreshed).count() == refreshed.n_customers
    stopped = ScoreRun.objects.create(organization=demo_org, as_of=refreshed.as_of, status=ScoreRun.Status.RUNNING)
    left = CustomerScore.objects.filter(run=refreshed)[:5]
    bulk.insert_frame(CustomerScore, pl.DataFrame([  # what a killed worker had written
        {"organization_id": str(demo_org.pk), "run_id": str(stopped.pk),
         "customer_id": str(s.customer_id), "as_of": s.as_of, "replaced": False} for s in left]))
    run = services.value_refresh(organization=demo_org, run=stopped)
    assert run.status == ScoreRun.Status.DONE and run.is_current
    assert CustomerScore.objects.filter(run=run).count() == run.n_customers == refreshed.n_customers


def test_a_refresh_that_fails_writing_leaves_no_rows_and_says_so(refreshed, demo_org, monkeypatch):
    from django.db import DatabaseError

    def broken() -> None:
        raise DatabaseError("could not extend file")

    monkeypatch.setattr(services, "_analyze_snapshots", broken)
    run = ScoreRun.objects.create(organization=demo_org, as_of=refreshed.as_of)
    with pytest.raises(DatabaseError):
        services.value_refresh(organization=demo_org, run=run)
    run.refresh_from_db()
    assert run.status == ScoreRun.Status.FAILED and "internal error" in run.error and not run.is_current
    assert not CustomerScore.objects.filter(run=run).exists()
    assert CustomerScore.objects.current().count() == refreshed.n_customers  # the previous scores stay


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's test database is in memory: no work beside")
@pytest.mark.django_db(transaction=True)
def test_work_beside_on_a_second_connection_gives_the_same_results(monkeypatch):
    """Lines read while the models run and snapshots inserted slice by slice while the next
    slice is scored (each on its own connection, in autocommit) give what the same steps give
    in place."""
    import functools
    import threading

    from django.core.management import call_command
    from django.db import transaction

    from patron.common import tenancy
    from patron.insights import readers
    from patron.organizations.models import Organization

    threads = []

    def spying(name):
        original = getattr(readers, name)

        @functools.wraps(original)
        def spy(**kwargs):
            threads.append((name, threading.current_thread() is threading.main_thread()))
            return original(**kwargs)

        monkeypatch.setattr(readers, name, spy)

    spying("read_order_lines")
    spying("rollups")
    # Small slices, so that the snapshots of 150 customers go as three.
    monkeypatch.setattr(services, "SLICES", 3)
    monkeypatch.setattr(services, "SLICE_MIN", 40)
    streams = []
    original_copy = bulk._copy_frame

    def copy_spy(table, names, frame):
        from django.db import connection as this_threads

        with this_threads.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            waits_for_the_disk = cursor.fetchone()[0] == "on"
        streams.append((frame.height, threading.current_thread() is threading.main_thread(), waits_for_the_disk))
        return original_copy(table, names, frame)

    monkeypatch.setattr(bulk, "_copy_frame", copy_spy)

    with tenancy.unscoped():
        call_command("demo_data", customers=150, seed=5, verbosity=0)
        org = Organization.objects.get(slug="demo")
    with tenancy.scope(org):
        beside = services.value_refresh(organization=org)  # autocommit: the lines come from a thread
        assert beside.status == ScoreRun.Status.DONE, beside.error
        columns = ("customer_id", "rfm_segment", "clv", "churn_risk", "churn_reasons", "classes", "recommendations")
        first = {r[0]: r for r in CustomerScore.objects.filter(run=beside).values_list(*columns)}
        with transaction.atomic():  # inside a transaction: read in place
            in_place = services.value_refresh(organization=org)
        second = {r[0]: r for r in CustomerScore.objects.filter(run=in_place).values_list(*columns)}
    # The lines beside the purchases, then in place; the rollups beside the last slices' insert.
    assert threads == [("read_order_lines", False), ("rollups", True), ("read_order_lines", True), ("rollups", True)]
    assert first == second and any(r[-1] for r in first.values())
    # Each refresh inserted three slices: the first on threads of their own, whose commits do
    # not wait for the log's flush; the second in place, in the caller's transaction, as usual.
    assert [(on_main, waits) for _, on_main, waits in streams] == [(False, False)] * 3 + [(True, True)] * 3
    assert sum(rows for rows, _, _ in streams[:3]) == sum(rows for rows, _, _ in streams[3:]) == len(first)
    # The same figures, but for the movement since the previous refresh (the first had none).
    rolled = [{k: v for k, v in run.report["rollups"].items() if k != "movement"} for run in (beside, in_place)]
    assert rolled[0] == rolled[1] and rolled[0]["scores"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's test database is in memory: no work beside")
@pytest.mark.django_db(transaction=True)
def test_a_slice_that_fails_on_the_writers_connection_fails_the_run_and_leaves_no_rows(monkeypatch):
    from django.core.management import call_command

    from patron.common import tenancy
    from patron.organizations.models import Organization

    monkeypatch.setattr(services, "SLICES", 3)
    monkeypatch.setattr(services, "SLICE_MIN", 40)
    original, calls = bulk.insert_frame, []

    def second_slice_fails(model, frame, **kwargs):
        calls.append(frame.height)
        if len(calls) == 2:
            raise DatabaseError("could not extend file")
        return original(model, frame, **kwargs)

    monkeypatch.setattr(bulk, "insert_frame", second_slice_fails)
    with tenancy.unscoped():
        call_command("demo_data", customers=150, seed=5, verbosity=0)
        org = Organization.objects.get(slug="demo")
    with tenancy.scope(org):
        run = ScoreRun.objects.create(organization=org, as_of=org.today())
        with pytest.raises(DatabaseError):
            services.value_refresh(organization=org, run=run)
        run.refresh_from_db()
        assert run.status == ScoreRun.Status.FAILED and not run.is_current
        assert len(calls) >= 2  # the first slice landed before the second failed, and went
        assert not CustomerScore.objects.filter(run=run).exists()


@pytest.mark.django_db(transaction=True)
def test_lines_too_few_for_sqlites_children_are_read_after_the_purchases_not_beside(monkeypatch, org):
    """Two SQLite scans on threads of one process slow each other down: the lines go beside
    the purchases only where they are read in child processes (or on PostgreSQL)."""
    import threading

    from patron.common import sqlite_out

    asked = []
    monkeypatch.setattr(sqlite_out, "reads_in_children", lambda **kw: asked.append(kw["table"]) or False)
    assert services._lines_beside(org) is (connection.vendor != "sqlite")
    assert asked == (["orders_orderline"] if connection.vendor == "sqlite" else [])
    monkeypatch.setattr(sqlite_out, "reads_in_children", lambda **kw: True)
    assert services._lines_beside(org)

    where = []

    def read(**kwargs):
        where.append(threading.current_thread() is threading.main_thread())
        return kwargs["n"]

    read.__name__ = "read_things"
    seconds = {}
    with services._beside(read, seconds, beside=False, n=3) as wait:
        assert where == []  # read when asked, not before
        assert wait() == 3
    assert where == [True] and "things" in seconds


@pytest.mark.parametrize(("language", "word"), [("zh-hans", "流失风险"), ("en", "Churn risk")])
def test_the_refresh_task_words_its_churn_alerts_in_the_organisations_language(
    demo_org, django_capture_on_commit_callbacks, language, word
):
    from patron.insights import tasks
    from patron.organizations.models import Organization

    Organization.objects.filter(pk=demo_org.pk).update(language=language)
    run = ScoreRun.objects.create(organization=demo_org, as_of=demo_org.today(), model_version="test")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.value_refresh_run.enqueue(str(run.pk), str(demo_org.pk))
    titles = list(Task.objects.filter(dedupe_key__startswith="churn:").values_list("title", flat=True))
    assert titles and all(title.startswith(word) for title in titles)
