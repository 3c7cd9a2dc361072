import datetime as dt

from patron.audit.models import AuditEntry
from patron.customers.models import Customer


def test_it_creates_a_customer_with_the_phone_standardised_and_audited(api, owner):
    response = api(owner).post("/api/customers/", {"name": "Chen Jie", "phone": "+86 139-0000-2222", "email": "CJ@Example.COM"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "+86 139****2222"
    assert body["email"] == "c***@example.com"
    customer = Customer.objects.get(pk=body["id"])
    assert customer.phone == "+8613900002222" and customer.number.startswith("C")
    assert AuditEntry.objects.filter(action="customer.created", object_id=str(customer.pk), actor=owner).exists()


def test_it_names_the_field_on_bad_input(api, owner):
    response = api(owner).post("/api/customers/", {"name": "", "phone": "12", "kind": "robot"}, format="json")
    assert response.status_code == 400
    assert {"name", "kind"} <= set(response.json())
    response = api(owner).post("/api/customers/", {"name": "Bad Phone", "phone": "12"}, format="json")
    assert response.status_code == 400
    assert "phone" in response.json()
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    response = api(owner).post("/api/customers/", {"name": "Not Born", "birthday": future}, format="json")
    assert response.status_code == 400 and "in the future" in response.json()["birthday"][0]
    assert not Customer.objects.exists()


def test_it_masks_sensitive_fields_for_everyone_until_revealed(api, customer, owner, viewer):
    for user in (owner, viewer):
        body = api(user).get(f"/api/customers/{customer.pk}/").json()
        assert body["phone"] == "+86 138****1016"
        assert body["id_number"] == "3101**********0021"
        assert body["birthday"] == "****-**-**"


def test_it_reveals_a_field_to_the_owner_and_audits_it(api, customer, owner, viewer):
    response = api(owner).post(f"/api/customers/{customer.pk}/reveal/", {"field": "phone"}, format="json")
    assert response.status_code == 200 and response.json()["value"] == "+8613812341016"
    assert AuditEntry.objects.filter(action="customer.sensitive_revealed", actor=owner, data__field="phone").exists()
    assert api(viewer).post(f"/api/customers/{customer.pk}/reveal/", {"field": "phone"}, format="json").status_code == 403


def test_it_refuses_a_stale_edit_with_409(api, customer, owner, manager):
    read_version = customer.version
    assert api(manager).patch(f"/api/customers/{customer.pk}/", {"city": "Suzhou", "version": read_version}, format="json").status_code == 200
    stale = api(owner).patch(f"/api/customers/{customer.pk}/", {"city": "Ningbo", "version": read_version}, format="json")
    assert stale.status_code == 409
    customer.refresh_from_db()
    assert customer.city == "Suzhou" and customer.version == read_version + 1


def test_it_records_what_changed(api, customer, owner):
    api(owner).patch(f"/api/customers/{customer.pk}/", {"city": "Hangzhou", "phone": "13912345678"}, format="json")
    entry = AuditEntry.objects.get(action="customer.updated", object_id=str(customer.pk))
    assert entry.changes["city"] == ["", "Hangzhou"]
    assert entry.changes["phone"] == ["+8613812341016", "+8613912345678"]
    assert api(owner).get("/api/audit/").json()["results"] == []  # reps hold no audit.view


def test_it_searches_by_part_of_a_phone_number_and_pages_by_cursor(api, owner):
    client = api(owner)
    for i in range(7):
        client.post("/api/customers/", {"name": f"Buyer {i}", "phone": f"139{i:04d}{i:04d}"}, format="json")
    found = client.get("/api/customers/?q=0006 0006").json()["results"]
    assert [row["name"] for row in found] == ["Buyer 6"]
    page = client.get("/api/customers/?page_size=3").json()
    assert len(page["results"]) == 3 and page["next"] and "cursor=" in page["next"]
    second = client.get(page["next"]).json()
    assert not {r["id"] for r in page["results"]} & {r["id"] for r in second["results"]}


def test_it_transfers_a_customer_and_audits_it(api, customer, manager, teammate):
    response = api(manager).post(f"/api/customers/{customer.pk}/transfer/", {"owner": str(teammate.pk)}, format="json")
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.owner_id == teammate.pk
    assert AuditEntry.objects.filter(action="customer.transferred", object_id=str(customer.pk)).exists()


def test_it_returns_404_for_a_malformed_id(api, owner):
    assert api(owner).get("/api/customers/not-a-uuid/").status_code == 404


def test_times_come_back_on_the_organisations_clock_by_token_as_on_the_pages(api, owner, customer):
    from patron.activities import services as activities

    due = dt.datetime(2030, 3, 4, 1, 30, tzinfo=dt.UTC)
    task = activities.task_create(user=owner, title="Morning call", due_at=due, customer=customer)
    body = api(owner).get(f"/api/tasks/{task.pk}/").json()
    assert body["due_at"] == "2030-03-04T09:30:00+08:00"  # the same instant, as the team reads it
