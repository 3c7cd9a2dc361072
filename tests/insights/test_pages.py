"""Insight pages: the persona matrix, wrong methods, invalid input and the htmx fragments."""

import datetime as dt

import polars as pl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patron.insights import labels, readers
from patron.insights.models import CustomerScore, Playbook, ScoreRun, Segment

MANAGERS = {"owner": False, "teammate": False, "manager": True, "other_team": False, "viewer": True}
PERSONAS = list(MANAGERS)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scored(org, customer):
    """The owner's customer, at risk and valuable, with two snapshots (for the trend)."""
    common = {
        "organization": org,
        "customer": customer,
        "rfm_segment": "at_risk",
        "class8": "important_retain",
        "lifecycle": "loyal",
        "value_tier": "high",
        "classes": ["high_value", "loyal"],
        "r_score": 2,
        "f_score": 4,
        "m_score": 5,
        "n_purchases": 6,
        "total_spend": 1800.0,
        "days_since_last": 80.0,
    }
    january = ScoreRun.objects.create(organization=org, as_of=dt.date(2026, 1, 1), status=ScoreRun.Status.DONE)
    CustomerScore.objects.create(**common, as_of=january.as_of, run=january, clv=7000.0, churn_risk=0.4)
    february = ScoreRun.objects.create(organization=org, as_of=dt.date(2026, 2, 1), status=ScoreRun.Status.DONE,
                                       is_current=True)
    return CustomerScore.objects.create(
        **common,
        as_of=february.as_of,
        run=february,
        clv=6500.0,
        churn_risk=0.82,
        p_alive=0.2,
        churn_reasons=[{"key": "long_inactive", "days": 80.0}, {"key": "gap_vs_usual", "ratio": 3.1}],
    )


_SNAPSHOT_COLUMNS = ("rfm_segment", "class8", "lifecycle", "value_tier", "clv", "churn_risk", "total_spend")


@pytest.fixture
def run(org, scored):
    made, as_of = scored.run, scored.run.as_of
    made.n_customers = 1
    made.report = {
        "rollups": readers.rollups(
            organization_id=org.pk, as_of=as_of, tz=org.time_zone, run_id=made.pk, previous_run_id=None, threshold=0.6,
            purchases=readers.read_purchases(organization_id=org.pk, as_of=as_of, tz=org.time_zone),
            snapshots=pl.DataFrame([{"customer_id": str(scored.customer_id),
                                     **{k: getattr(scored, k) for k in _SNAPSHOT_COLUMNS}}]),
        )
    }
    made.save()
    return made


@pytest.fixture
def segment(org, owner):
    return Segment.objects.create(
        organization=org,
        owner=owner,
        owner_team=owner.team,
        name="Win back",
        conditions=[{"field": "clv", "op": "gt", "value": 5000}],
    )


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_dashboard_is_for_managers(client, request, run, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/insights/")
    assert response.status_code == (200 if MANAGERS[persona] else 403)
    if MANAGERS[persona]:
        html = response.content.decode()
        assert "<svg" in html and "<details" in html and "Show the numbers" in html
        assert response.context["totals"]["at_risk_n"] == 1


def test_the_dashboard_without_a_refresh_says_so(client, manager):
    client.force_login(manager)
    response = client.get("/insights/")
    assert response.status_code == 200 and "first value refresh" in response.content.decode()


def test_the_dashboard_panels_come_as_an_htmx_fragment(client, manager, run):
    client.force_login(manager)
    response = client.get("/insights/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and "<svg" in html
    assert "HX-Request" in response["Vary"]


def test_wrong_methods_are_refused(client, manager, scored, segment):
    client.force_login(manager)
    assert client.post("/insights/").status_code == 405
    assert client.get("/insights/refresh/").status_code == 405
    assert client.get(f"/insights/segments/{segment.pk}/delete/").status_code == 405
    assert client.post(f"/insights/customers/{scored.customer_id}/value/").status_code == 405


# Who sees the owner's customer 王芳, at risk: the owner, their manager, the viewer.
SEES_OWNERS = {"owner": True, "teammate": False, "manager": True, "other_team": False, "viewer": True}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_at_risk_list_shows_each_person_the_customers_they_may_see_with_reasons(client, request, scored, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = client.get("/insights/at-risk/")
    assert response.status_code == 200  # a rep's own customers at risk, a manager's teams'
    html = response.content.decode()
    assert ("王芳" in html) == SEES_OWNERS[persona]
    if SEES_OWNERS[persona]:
        assert "no purchase for 80 days" in html and "82%" in html
    else:
        assert "No customer at this risk among yours." in html
    # The dashboard button only for those who may open it.
    assert ('<a class="btn" href="/insights/">' in html) == MANAGERS[persona]


def test_the_churn_warnings_are_named_apart_from_the_rfm_segment_at_risk(client, manager, scored):
    client.force_login(manager)
    html = client.get("/insights/at-risk/").content.decode()
    assert "<title>Churn warnings" in html and "Customers already churned are not listed" in html
    assert "no purchase for 80 days; purchase gap 3.1x longer than usual" in html
    html = client.get("/insights/at-risk/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "<title>流失预警" in html and "流失风险客户" not in html  # the RFM segment's name
    assert "；" in html and "; " not in html.split('id="churn-table"')[1]


@pytest.mark.parametrize(("persona", "role", "whose", "churned"), [
    ("owner", None, "Your customers whose", "find yours on the"),
    ("manager", None, "Your teams' customers whose", "win them back with a playbook"),
    ("viewer", None, "The customers you may see whose", "shows them."),
    ("marketer", "marketer", "The customers you may see whose", "shows them."),
    ("service", "service", "The customers you may see whose", "shows them."),
    ("admin", None, "The customers you may see whose", "win them back with a playbook"),
])
def test_the_churn_warnings_are_worded_for_who_reads_them(client, request, org, scored, persona, role, whose, churned):
    if role is None:
        user = request.getfixturevalue(persona)
    else:
        from patron.accounts.services import user_create

        user = user_create(organization=org, username=persona, password="x-long-password-1", roles=[role])
    client.force_login(user)
    html = client.get("/insights/at-risk/").content.decode()
    assert whose in html and churned in html
    # Playbooks are offered only to who may apply them (a rep gets 403 on their page).
    assert ("playbook" in html) == (persona in ("manager", "admin"))
    if churned != "win them back with a playbook":
        assert 'href="/customers/?lifecycle=churned"' in html
        assert client.get("/customers/?lifecycle=churned").status_code == 200
    assert ("Your teams' customers" in html) == (persona == "manager")  # those without a team are told otherwise


def test_the_at_risk_list_leaves_out_other_teams(client, org, other_team, scored):
    from patron.accounts.services import user_create

    north_manager = user_create(
        organization=org,
        username="north_manager",
        password="x-long-password-1",
        roles=["sales_manager"],
        team=other_team.team,
    )
    client.force_login(north_manager)
    response = client.get("/insights/at-risk/")
    assert response.status_code == 200 and response.context["rows"] == []


def test_the_at_risk_list_refuses_a_bad_threshold_and_serves_htmx(client, manager, scored):
    client.force_login(manager)
    assert client.get("/insights/at-risk/", {"threshold": "lots"}).status_code == 400
    response = client.get("/insights/at-risk/", {"threshold": "90"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and "王芳" not in html  # risk 82%
    assert "王芳" in client.get("/insights/at-risk/", {"threshold": "80"}).content.decode()  # percent, as shown
    assert client.get("/insights/at-risk/", {"threshold": "0.5"}).status_code == 400


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_value_panel_follows_customer_visibility(client, request, scored, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(f"/insights/customers/{scored.customer_id}/value/", headers={"HX-Request": "true"})
    sees = persona in ("owner", "manager", "viewer")
    assert response.status_code == (200 if sees else 404)
    if sees:
        html = response.content.decode()
        assert "<html" not in html and "Important to win back" in html and "no purchase for 80 days" in html
        assert "<svg" in html  # the trend over the two snapshots


def test_the_value_trend_has_one_point_a_date_the_newest(client, owner, scored):
    from patron.insights import selectors

    again = ScoreRun.objects.create(organization=scored.organization, as_of=scored.as_of, status=ScoreRun.Status.DONE)
    fields = {f.attname: getattr(scored, f.attname) for f in CustomerScore._meta.concrete_fields
              if f.attname not in ("id", "run_id", "created_at", "updated_at")}
    for n in range(60):  # a busy customer rescored many times on one date: still one point
        CustomerScore.objects.create(**{**fields, "run_id": again.pk, "replaced": True, "clv": 6000.0 + n})
    newer = CustomerScore.objects.create(**{**fields, "run_id": again.pk, "clv": 6600.0})
    history = selectors.score_history(user=owner, customer=scored.customer)
    assert [(h.as_of.isoformat(), h.clv) for h in history] == [("2026-01-01", 7000.0), ("2026-02-01", 6600.0)]
    assert history[-1].pk == newer.pk


def test_the_value_panel_names_the_class_in_chinese(client, owner, scored):
    client.force_login(owner)
    response = client.get(f"/insights/customers/{scored.customer_id}/value/", headers={"Accept-Language": "zh-hans"})
    assert "重要挽留客户" in response.content.decode()


def test_the_value_panel_says_why_a_customer_is_churned_and_why_still_worth_winning_back(client, owner, scored):
    client.force_login(owner)
    url = f"/insights/customers/{scored.customer_id}/value/"
    html = client.get(url).content.decode()
    assert "Bought 6 times, most recently 80 days ago." in html and "win-back call" not in html
    assert "Why at risk:" in html  # 82%, above the threshold
    # important_retain: recency and frequency below the average customer's, total spend above.
    assert "Against the average customer: bought less recently, buys less often, spent more in total." in html
    assert "in the top, middle or bottom third of the customers" in html
    # Churned by the purchase model alone: 72 days of silence, long for a customer who
    # bought 240 times; the lifetime value stays high all the same.
    CustomerScore.objects.filter(pk=scored.pk).update(lifecycle="churned", days_since_last=72.0, n_purchases=240,
                                                       p_alive=0.43, clv=141037.4)
    html = client.get(url).content.decode()
    assert "The last purchase was 72 days ago" in html and "gives 43% that they are still active" in html
    assert "below 50% a customer counts as churned" in html
    assert "It does so only after more than 60 days without a purchase." in html
    assert "the lifetime value (141,037)" in html and "A win-back call is worth making now." in html
    html = client.get(url, headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "最近一次购买在 72 天前" in html and "141,037" in html and "值得立即回访挽回" in html
    # Just below the threshold reads below it, not as the threshold itself.
    CustomerScore.objects.filter(pk=scored.pk).update(p_alive=0.496)
    assert "gives 49% that they are still active" in client.get(url).content.decode()
    CustomerScore.objects.filter(pk=scored.pk).update(p_alive=0.4051)  # as the panel's figure shows it
    html = client.get(url).content.decode()
    assert "gives 41% that they are still active" in html and "even a 41% chance" in html
    # Churned by the silence limit, a big spender once: gone, and its lifetime value with it.
    CustomerScore.objects.filter(pk=scored.pk).update(days_since_last=400.0, p_alive=0.004, clv=12.3)
    html = client.get(url).content.decode()
    assert "No purchase for 400 days: more than the 180 days" in html and "win-back call" not in html
    CustomerScore.objects.filter(pk=scored.pk).update(days_since_last=200.0, value_tier="low")
    html = client.get(url).content.decode()
    assert "No purchase for 200 days: more than the 180 days" in html and "win-back call" not in html
    CustomerScore.objects.filter(pk=scored.pk).update(churn_risk=0.4)  # below it: the same reasons, not "why"
    html = client.get(url).content.decode()
    assert "Why at risk:" not in html and "What raises the churn risk:" in html and "risk-high" not in html
    assert "With a single purchase" not in html
    # One purchase: the purchase model counts the customer active, which the panel says beside the risk.
    CustomerScore.objects.filter(pk=scored.pk).update(n_purchases=1, p_alive=1.0, churn_risk=0.65)
    html = client.get(url).content.decode()
    assert "With a single purchase, the purchase model cannot yet tell a quiet customer from a new one" in html
    assert "1 purchase, " in html and "1 purchases" not in html


def test_the_value_panel_keeps_a_recent_buyer_the_purchase_model_doubts_out_of_the_churned(client, owner, scored):
    # A Champion who bought 10 days ago, P(alive) 45% after a pause long for them: loyal, and
    # the panel says why the low figure does not make them churned.
    CustomerScore.objects.filter(pk=scored.pk).update(lifecycle="loyal", days_since_last=10.0, n_purchases=9,
                                                       p_alive=0.45, churn_risk=0.4)
    client.force_login(owner)
    html = client.get(f"/insights/customers/{scored.customer_id}/value/").content.decode()
    assert ("Bought 9 times, most recently 10 days ago. The purchase model already doubts they are still active, "
            "but a customer who bought within 60 days is not counted as churned.") in html
    assert "win-back call" not in html


def test_the_value_panel_says_what_its_two_probabilities_measure(client, owner, scored):
    client.force_login(owner)
    html = client.get(f"/insights/customers/{scored.customer_id}/value/").content.decode()
    assert ("Probability still active: the purchase model&#x27;s chance that this customer has not stopped "
            "buying for good. Churn risk: the churn model&#x27;s chance of no purchase in the next 90 days. "
            "They answer different questions and need not add up to 100%.") in html


def test_the_value_panel_of_an_unscored_customer(client, owner, customer):
    client.force_login(owner)
    response = client.get(f"/insights/customers/{customer.pk}/value/")
    assert response.status_code == 200 and "Not scored yet" in response.content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_segment_is_seen_like_a_customer(client, request, scored, segment, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(f"/insights/segments/{segment.pk}/")
    sees = persona in ("owner", "manager", "viewer")
    assert response.status_code == (200 if sees else 404)
    if sees:
        assert response.context["count"] == 1 and "王芳" in response.content.decode()
    assert client.get("/insights/segments/").status_code == 200


def test_an_empty_segments_page_looks_for_no_rows(client, owner, scored, segment):
    """Nothing matches: the page says so without joining and ranking the snapshots again."""
    client.force_login(owner)
    assert client.get(f"/insights/segments/{segment.pk}/").context["count"] == 1
    with CaptureQueriesContext(connection) as matching:
        client.get(f"/insights/segments/{segment.pk}/")
    Segment.objects.filter(pk=segment.pk).update(conditions=[{"field": "clv", "op": "gt", "value": 9000}])
    with CaptureQueriesContext(connection) as empty:
        response = client.get(f"/insights/segments/{segment.pk}/")
    assert response.context["count"] == 0 and list(response.context["customers"]) == []

    def ranking(queries: list[dict]) -> list[str]:
        return [q["sql"] for q in queries if 'AS "score_clv"' in q["sql"] and "ORDER BY" in q["sql"]]

    # The scored customers, then the unscored when the page has room (see paging.keyset_page).
    assert len(ranking(matching.captured_queries)) in (1, 2) and ranking(empty.captured_queries) == []


def test_a_segments_stored_count_is_its_owners_whoever_looks_or_edits(client, owner, teammate, manager, admin,
                                                                         scored, segment):
    """The list of segments shows each one's last count to all who may see it: counted as a
    manager sees the customers, it would tell the rep how many of them the manager sees."""
    from django.utils import translation

    from patron.customers import services as customers
    from patron.insights import services

    theirs = customers.customer_create(user=teammate, data={"name": "李雷"})
    CustomerScore.objects.create(organization_id=theirs.organization_id, customer=theirs, run=scored.run,
                                 as_of=scored.as_of, clv=9000.0)
    client.force_login(manager)
    assert client.get(f"/insights/segments/{segment.pk}/").context["count"] == 2  # the page: what they see
    segment.refresh_from_db()
    assert (segment.last_count, segment.evaluated_at) == (0, None)
    edit = _builder_post(**{"0": ("clv", "gt", "4000")}) | {"version": str(segment.version)}
    assert client.post(f"/insights/segments/{segment.pk}/edit/", edit).status_code == 302
    segment.refresh_from_db()
    assert segment.last_count == 1 and segment.evaluated_at is not None  # counted again as the owner
    client.force_login(owner)
    assert client.get(f"/insights/segments/{segment.pk}/").context["count"] == 1
    # After a refresh, every segment is counted again as its owner sees it.
    Segment.objects.filter(pk=segment.pk).update(last_count=0)
    assert services.segments_recount() == 1
    segment.refresh_from_db()
    assert segment.last_count == 1
    # The list shows the stored count to the owner and to who sees every customer, not to a
    # manager who sees fewer or other customers than the owner.
    for user, shown, says in [(owner, 1, None), (manager, None, "open it to see how many are yours"),
                              (admin, 1, f"as {owner} sees them")]:
        client.force_login(user)
        with translation.override("en"):
            page = client.get("/insights/segments/")
        assert [count for s, count in page.context["rows"] if s.pk == segment.pk] == [shown], user
        row = next(r for r in page.content.decode().split("<tr>") if f"/insights/segments/{segment.pk}/" in r)
        assert (says in row) if says else ("sees them" not in row and "open it" not in row), (user, row)
    # A segment whose owner has left is counted no more, and says so.
    from patron.accounts.models import User

    left = User.objects.create(organization=owner.organization, username="gone", is_active=False)
    Segment.objects.create(organization=owner.organization, owner=left, name="Left behind", last_count=5)
    client.force_login(admin)
    with translation.override("en"):
        row = next(r for r in client.get("/insights/segments/").content.decode().split("<tr>") if "Left behind" in r)
    assert "its owner has left: not counted again" in row and "sees them" not in row
    # A count made of conditions edited meanwhile is not recorded over the edit's.
    stale = Segment.objects.get(pk=segment.pk)
    services.segment_update(segment=segment, user=owner, name="Win back", conditions=segment.conditions, count=7,
                            expected_version=segment.version)
    services.segment_update(segment=segment, user=owner, name="Win back 2", conditions=segment.conditions, count=8,
                            expected_version=segment.version)
    assert not services.segment_counted(segment=stale, count=99)
    segment.refresh_from_db()
    assert segment.last_count == 8
    # Edited by someone else once its owner has left: no count for the new conditions.
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    services.segment_update(segment=segment, user=manager, name="Win back", conditions=[
                            {"field": "clv", "op": "gt", "value": 1}], count=5,
                            expected_version=segment.version)
    segment.refresh_from_db()
    assert segment.evaluated_at is None and segment.last_count == 8


def _builder_post(**rows):
    data = {
        "name": "Valuable",
        "cond-TOTAL_FORMS": "6",
        "cond-INITIAL_FORMS": "0",
        "cond-MIN_NUM_FORMS": "6",
        "cond-MAX_NUM_FORMS": "12",
    }
    for i, (field, op, value) in rows.items():
        data |= {f"cond-{i}-field": field, f"cond-{i}-op": op, f"cond-{i}-value": value}
    return data


def test_the_builder_previews_a_count_as_an_htmx_fragment(client, owner, scored):
    client.force_login(owner)
    data = _builder_post(**{"0": ("clv", "gt", "5000")}) | {"_preview": "1"}
    response = client.post("/insights/segments/new/", data, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="preview-count">1<' in html and not Segment.objects.exists()
    data = _builder_post(**{"0": ("clv", "gt", "9000")}) | {"_preview": "1"}
    assert (
        'id="preview-count">0<'
        in client.post("/insights/segments/new/", data, headers={"HX-Request": "true"}).content.decode()
    )


def test_the_builder_saves_and_refuses_invalid_conditions(client, owner, scored):
    client.force_login(owner)
    bad = client.post("/insights/segments/new/", _builder_post(**{"0": ("clv", "gt", "lots")}))
    assert bad.status_code == 400 and not Segment.objects.exists()
    far = _builder_post(**{"0": ("days_since_order", "gt", "800000")})
    for preview in ({}, {"_preview": "1"}):
        headers = {"HX-Request": "true"} if preview else {}
        response = client.post("/insights/segments/new/", far | preview, headers=headers)
        assert response.status_code in (200, 400) and "from 0 to 36,500" in response.content.decode()
    assert not Segment.objects.exists()
    response = client.post("/insights/segments/new/", _builder_post(**{"0": ("class8", "eq", "重要挽留客户")}))
    saved = Segment.objects.get()
    assert response.status_code == 302 and saved.owner == owner and saved.last_count == 1
    assert saved.conditions == [{"field": "class8", "op": "eq", "value": "important_retain"}]


def test_an_invalid_condition_is_named_by_its_row_and_field(client, owner):
    client.force_login(owner)
    data = _builder_post(**{"0": ("clv", "gt", "1"), "2": ("bogus", "eq", "5")}) | {"_preview": "1"}
    fragment = client.post("/insights/segments/new/", data, headers={"HX-Request": "true"}).content.decode()
    assert "Condition 3: Field: Select a valid choice. bogus is not one of the available choices." in fragment
    page = client.post("/insights/segments/new/", _builder_post(**{"1": ("bogus", "eq", "5")}))
    assert page.status_code == 400
    assert "Field: Select a valid choice. bogus is not one of the available choices." in page.content.decode()


def test_a_stale_segment_edit_is_refused(client, owner, segment):
    client.force_login(owner)
    data = _builder_post(**{"0": ("clv", "gt", "1")}) | {"version": str(segment.version - 1 or 99)}
    assert client.post(f"/insights/segments/{segment.pk}/edit/", data).status_code == 409


def test_only_exporters_get_the_segments_file(client, owner, viewer, org, scored, segment):
    from patron.accounts.services import user_create

    export = f"/imports/export/customers/?segment={segment.pk}&format=csv"
    client.force_login(owner)
    assert "/imports/export/customers/" not in client.get(f"/insights/segments/{segment.pk}/").text
    assert client.get(export).status_code == 403
    marketer = user_create(organization=org, username="mkt", password="x-long-password-1", roles=["marketer"])
    client.force_login(marketer)
    page = client.get(f"/insights/segments/{segment.pk}/").text
    assert f"/imports/export/customers/?segment={segment.pk}&amp;format=xlsx" in page
    response = client.get(export)
    body = response.content.decode("utf-8-sig")
    assert response.status_code == 200 and "王芳" in body and "6500" in body
    assert "13800138000" not in body and "138 0013 8000" not in body  # contact details masked


@pytest.mark.parametrize("persona", PERSONAS)
def test_playbooks_are_for_managers(client, request, org, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/insights/playbooks/").status_code == (200 if MANAGERS[persona] else 403)
    data = {
        "name": "Win back",
        "class_kind": "class8",
        "class_key": "important_retain",
        "action": "win_back",
        "cadence_days": "30",
        "due_in_days": "3",
        "is_active": "on",
    }
    may_edit = persona == "manager"  # the viewer may look, not edit
    assert client.post("/insights/playbooks/new/", data).status_code == (302 if may_edit else 403)
    assert Playbook.objects.filter(name="Win back").exists() is may_edit


def test_a_playbook_applied_twice_gives_one_task_per_customer(client, manager, scored):
    from patron.activities.models import Task

    playbook = Playbook.objects.create(
        organization=scored.organization,
        name="Win back",
        class_kind="class8",
        class_key="important_retain",
        action="win_back",
    )
    client.force_login(manager)
    first = client.post(f"/insights/playbooks/{playbook.pk}/apply/", follow=True)
    assert "1 follow-up task created for the owners." in first.text
    second = client.post(f"/insights/playbooks/{playbook.pk}/apply/", follow=True)
    assert "No new task: every customer of this class with an owner already has one" in second.text
    tasks = Task.objects.filter(dedupe_key__startswith=f"pb:{playbook.pk}:")
    assert tasks.count() == 1 and tasks.get().owner == scored.customer.owner


def test_a_playbook_form_refuses_a_class_of_another_kind(client, manager):
    client.force_login(manager)
    data = {
        "name": "Odd",
        "class_kind": "lifecycle",
        "class_key": "important_retain",
        "action": "win_back",
        "cadence_days": "30",
        "due_in_days": "3",
    }
    response = client.post("/insights/playbooks/new/", data)
    assert response.status_code == 400 and not Playbook.objects.exists()


def test_the_refresh_button_queues_one_run_and_polls_its_progress(client, manager, viewer):
    client.force_login(viewer)
    assert client.post("/insights/refresh/").status_code == 403
    client.force_login(manager)
    response = client.post("/insights/refresh/", headers={"HX-Request": "true"})
    run = ScoreRun.objects.get()
    html = response.content.decode()
    assert run.status == ScoreRun.Status.QUEUED and f"/insights/refresh/{run.pk}/" in html and "every 2s" in html
    client.post("/insights/refresh/")
    assert ScoreRun.objects.count() == 1  # one refresh at a time
    assert client.get(f"/insights/refresh/{run.pk}/").status_code == 200


def test_a_behaviour_group_reads_in_the_pages_language():
    from django.utils import translation

    from patron.insights import labels

    with translation.override("zh-hans"):
        assert labels.cluster_text("recent, infrequent, low spend, newly acquired") == "近期购买、低频购买、消费额低、新近获取"
        assert labels.cluster_text("lapsed one-time buyers, low spend").count("、") == 1
        assert labels.cluster_text("something new") == "something new"
    with translation.override("en"):
        assert labels.cluster_text("lapsed one-time buyers, high spend") == "lapsed one-time buyers, high spend"


@pytest.mark.parametrize(("days", "said"), [(0.2, "today"), (1.0, "yesterday"), (3.0, "3 days ago")])
def test_the_value_panel_says_today_or_yesterday_not_0_days_ago(client, owner, scored, days, said):
    CustomerScore.objects.filter(pk=scored.pk).update(days_since_last=days, n_purchases=6, total_spend=9000.0)
    client.force_login(owner)
    url = f"/insights/customers/{scored.customer_id}/value/"
    html = client.get(url).content.decode()
    assert f"6 purchases, 9,000 in total, most recently {said}" in html
    assert f"Bought 6 times, most recently {said}." in html
    assert " 0 days ago" not in html and "the last" not in html


def test_a_complaint_made_today_says_today():
    from django.utils import translation

    from patron.insights.actions import reason_text

    with translation.override("en"):
        assert reason_text({"key": "complaint", "count": 1.0, "days": 0.0}) == "complained 1 time, today"
        assert reason_text({"key": "complaint", "count": 2.0, "days": 1.0}) == (
            "complained 2 times, most recently yesterday")


def test_a_reason_counts_in_words_that_fit_the_count():
    from django.utils import translation

    from patron.insights.actions import reason_text

    with translation.override("en"):
        assert reason_text({"key": "few_purchases", "purchases": 1.0}) == "only 1 purchase"
        assert reason_text({"key": "few_purchases", "purchases": 3.0}) == "only 3 purchases"
        assert reason_text({"key": "complaint", "count": 2.0, "days": 4.0}) == (
            "complained 2 times, most recently 4 days ago")
        assert reason_text({"key": "frequency_down", "pct": 40.0, "purchases": 3.0}) == "buying 40% less often"
        # A rate down by all of it is no purchase at all lately, not "buying 100% less often".
        assert reason_text({"key": "frequency_down", "pct": 100.0, "purchases": 0.0}) == (
            "no purchase lately, after buying regularly")
        # After a single purchase the usual gap is other customers': said so.
        gap = {"key": "gap_vs_usual", "ratio": 2.4, "days": 150.0, "usual_days": 62.5}
        assert reason_text({**gap, "purchases": 1.0}) == (
            "no second purchase 150 days after the first, 2.4x the usual time between purchases")
        assert reason_text({**gap, "purchases": 4.0}) == reason_text(gap) == "purchase gap 2.4x longer than usual"
        # "only 1 purchase" says again what the gap after a single purchase says: left out beside it.
        from patron.insights.actions import reason_texts

        assert reason_texts([{**gap, "purchases": 1.0}, {"key": "few_purchases", "purchases": 1.0}]) == [
            "no second purchase 150 days after the first, 2.4x the usual time between purchases"]
        assert reason_texts([{**gap, "purchases": 3.0}, {"key": "few_purchases", "purchases": 3.0},
                             {"key": "long_inactive", "days": 150.0}], limit=2) == [
            "purchase gap 2.4x longer than usual", "only 3 purchases"]
    with translation.override("zh-hans"):
        assert reason_text({"key": "few_purchases", "purchases": 1.0}) == "仅购买 1 次"
        assert reason_text({"key": "frequency_down", "pct": 100.0, "purchases": 0.0}) == "以往常购买，近期却未再购买"


def test_the_month_under_way_is_left_out_of_the_trends_and_cohorts():
    import datetime as dt

    from patron.insights import selectors

    months = [{"month": m, "revenue": 100.0, "orders": 10, "active": 5} for m in ("2026-10", "2026-11", "2026-12")]
    cohorts = [{"month": "2026-10", "size": 4, "active": [4, 2, 1]}, {"month": "2026-11", "size": 2, "active": [2, 1]},
               {"month": "2026-12", "size": 3, "active": [3]}]
    assert [m["month"] for m in selectors._complete(months, dt.date(2026, 12, 7))] == ["2026-10", "2026-11"]
    assert selectors._complete(months, dt.date(2026, 12, 31)) == months  # December is complete
    assert selectors._complete_cohorts(cohorts, dt.date(2026, 12, 7)) == [
        {"month": "2026-10", "size": 4, "active": [4, 2]}, {"month": "2026-11", "size": 2, "active": [2]}]


def test_a_segments_amounts_read_as_written_and_its_count_reads_in_chinese(client, owner, org, scored):
    segment = Segment.objects.create(
        organization=org, owner=owner, name="Big", conditions=[{"field": "clv", "op": "gt", "value": 5000.0}]
    )
    client.force_login(owner)
    detail = client.get(f"/insights/segments/{segment.pk}/").text
    assert "<strong>above</strong> 5,000<" in detail and "5000.0" not in detail
    edit = client.get(f"/insights/segments/{segment.pk}/edit/").text
    assert 'value="5000"' in edit and "5000.0" not in edit
    data = _builder_post(**{"0": ("clv", "gt", "5000")}) | {"_preview": "1"}
    preview = client.post(
        "/insights/segments/new/", data, headers={"HX-Request": "true", "Accept-Language": "zh-hans"}
    ).content.decode()
    assert '您的客户中有 <span class="preview-count" id="preview-count">1</span> 位符合条件' in preview


def test_a_heat_maps_long_column_names_are_slanted_so_they_do_not_overlap():
    import re

    from patron.insights.templatetags.charts import WIDTH, heatmap_chart

    names = [labels.segment_label(k) for k in labels.RFM_SEGMENTS]
    grid = [[1] * len(names) for _ in names]
    svg = str(heatmap_chart(grid, names, names, title="Movement"))
    heads = re.findall(r'<text x="([\d.]+)" y="(\d+)" transform="rotate\(-45 ', svg)
    assert len(heads) == len(names)  # each column's name from its foot, at 45 degrees
    cells = [float(x) + float(w) for x, w in re.findall(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)"', svg)]
    assert max(cells) < WIDTH  # the grid leaves room at its right for the last names
    svg = str(heatmap_chart([[100, 80]], ["2026-01"], ["M0", "M1"], title="Cohorts", percent=True))
    assert "rotate(" not in svg and 'text-anchor="middle" font-size="10"' in svg  # short names stay level


def test_a_task_given_to_a_rep_is_written_in_the_language_they_use(client, manager, owner, scored):
    from django.utils import translation

    from patron.activities.models import Task
    from patron.insights import actions

    client.force_login(owner)  # the rep uses the pages in Chinese (their browser's language)
    assert client.get("/", headers={"Accept-Language": "zh-hans"}).status_code in (200, 302)
    owner.refresh_from_db()
    assert owner.language == "zh-hans"
    # A request that names no language Patron speaks says nothing of the person's choice.
    for header in ({}, {"Accept-Language": "fr"}):
        client.get("/", headers=header)
        owner.refresh_from_db()
        assert owner.language == "zh-hans"
    playbook = Playbook.objects.create(organization=scored.organization, name="Win back", class_kind="class8",
                                       class_key="important_retain", action="win_back")
    client.force_login(manager)  # the manager applies it in English
    applied = client.post(f"/insights/playbooks/{playbook.pk}/apply/", headers={"Accept-Language": "en"})
    assert applied.status_code == 302
    task = Task.objects.get(dedupe_key__startswith=f"pb:{playbook.pk}:")
    assert task.owner == owner and task.title == "挽回回访电话：王芳"
    # A churn warning raised by a job: in the owner's language too.
    assert actions.churn_alerts_raise(user=manager) == 1
    warning = Task.objects.get(dedupe_key__startswith="churn:")
    assert warning.title == "流失风险 82%：王芳" and "已 80 天未购买" in warning.notes
    # The same warning for a rep who uses the pages in English, whatever the job's language.
    warning.delete()
    client.force_login(owner)
    client.get("/", headers={"Accept-Language": "en"})
    with translation.override("zh-hans"):
        assert actions.churn_alerts_raise(user=manager) == 1
    warning = Task.objects.get(dedupe_key__startswith="churn:")
    assert warning.title == "Churn risk 82%: 王芳" and warning.notes.startswith("Why: no purchase for 80 days")
    assert warning.notes.endswith("Value at stake (12-month CLV): 6,500.")  # grouped as English writes it


def test_a_task_for_someone_who_has_not_used_the_pages_yet_is_in_the_organisations_language(
        client, manager, owner, scored):
    from django.utils import translation

    from patron.activities.models import Task
    from patron.insights import actions

    assert owner.language == "" and owner.organization.language == "zh-hans"
    playbook = Playbook.objects.create(organization=scored.organization, name="Win back", class_kind="class8",
                                       class_key="important_retain", action="win_back")
    client.force_login(manager)  # the manager applies it in English; the rep reads the task
    client.post(f"/insights/playbooks/{playbook.pk}/apply/", headers={"Accept-Language": "en"})
    assert Task.objects.get(dedupe_key__startswith=f"pb:{playbook.pk}:").title == "挽回回访电话：王芳"
    with translation.override("en"):  # a job in the worker's language
        assert actions.churn_alerts_raise(user=manager) == 1
    assert Task.objects.get(dedupe_key__startswith="churn:").title == "流失风险 82%：王芳"


def test_one_run_of_churn_alerts_writes_each_owners_tasks_in_their_language(org, manager, owner, teammate, scored):
    from django.utils import translation

    from patron.activities.models import Task
    from patron.customers import services as customers
    from patron.insights import actions

    owner.language, teammate.language = "en", "zh-hans"
    owner.save(update_fields=["language"])
    teammate.save(update_fields=["language"])
    theirs = customers.customer_create(user=teammate, data={"name": "West Ltd"})
    CustomerScore.objects.create(
        organization=org, customer=theirs, run=scored.run, as_of=scored.as_of, value_tier="high", lifecycle="loyal",
        n_purchases=9, total_spend=30000.0, days_since_last=40.0, clv=11764.4, churn_risk=0.71,
        churn_reasons=[{"key": "long_inactive", "days": 40.0}])
    with translation.override("zh-hans"):
        assert actions.churn_alerts_raise(user=manager) == 2
    tasks = {t.owner_id: t for t in Task.objects.filter(dedupe_key__startswith="churn:")}
    assert tasks[owner.pk].title == "Churn risk 82%: 王芳"
    assert tasks[owner.pk].notes == "Why: no purchase for 80 days; purchase gap 3.1x longer than usual. " \
                                    "Value at stake (12-month CLV): 6,500."
    assert tasks[teammate.pk].title == "流失风险 71%：West Ltd" and "已 40 天未购买" in tasks[teammate.pk].notes
    assert "11764" not in tasks[teammate.pk].notes  # grouped (once the Chinese wording is translated: 11,764)
