"""Setting up an organisation from the command line, and its administrators changing its settings."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from patron.accounts.models import User
from patron.audit.models import AuditEntry
from patron.common import tenancy
from patron.organizations import services
from patron.organizations.models import Organization
from patron.sales.models import Pipeline

ADMIN_PASSWORD = "Quite-long-and-unusual-9"


def _create(monkeypatch, *args: str) -> str:
    monkeypatch.setenv("PATRON_ADMIN_PASSWORD", ADMIN_PASSWORD)
    out = io.StringIO()
    call_command("create_organization", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_sets_up_an_organisation_whose_administrator_can_sign_in_and_administer_it(monkeypatch, client):
    said = _create(monkeypatch, "华东贸易", "--slug", "huadong", "--time-zone", "Asia/Shanghai",
                   "--admin", "alice", "--email", "alice@example.com")
    org = Organization.objects.get(slug="huadong")
    alice = User.objects.get(username="alice")
    assert "huadong" in said and org.name == "华东贸易"
    assert alice.organization_id == org.pk
    with tenancy.scope(org):
        assert list(alice.roles.values_list("key", flat=True)) == ["admin"]
        assert Pipeline.objects.filter(is_default=True).exists()
    assert client.login(username="alice", password=ADMIN_PASSWORD)
    assert client.get(reverse("staff:home")).status_code == 200
    assert client.get(reverse("customers:customer-list")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--time-zone", "Asia/Shanghia"], "--time-zone"),
        (["--currency", "rmb"], "--currency"),
        (["--phone-region", "XX"], "--phone-region"),
        (["--language", "fr"], "--language"),
    ],
)
def test_it_names_the_option_that_is_wrong_and_writes_nothing(monkeypatch, args, named):
    with pytest.raises(CommandError, match=named):
        _create(monkeypatch, "Acme East", "--admin", "bob", *args)
    assert not Organization.objects.filter(slug="acme-east").exists()
    assert not User.objects.filter(username="bob").exists()


@pytest.mark.django_db
def test_it_refuses_a_weak_password_a_taken_user_name_and_a_name_it_cannot_shorten(monkeypatch, admin):
    monkeypatch.setenv("PATRON_ADMIN_PASSWORD", "123")
    with pytest.raises(CommandError, match="password"):
        call_command("create_organization", "Acme East", "--admin", "bob")
    with pytest.raises(CommandError, match="--admin"):
        _create(monkeypatch, "Acme East", "--admin", admin.username)
    with pytest.raises(CommandError, match="--slug"):
        _create(monkeypatch, "华东贸易", "--admin", "bob")
    with pytest.raises(CommandError, match="--slug"):
        _create(monkeypatch, "Acme again", "--slug", "acme", "--admin", "bob")  # the fixture's
    assert Organization.objects.count() == 1


@pytest.mark.django_db
def test_it_asks_for_the_password_only_where_someone_can_type_it(monkeypatch):
    monkeypatch.delenv("PATRON_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="PATRON_ADMIN_PASSWORD"):
        call_command("create_organization", "Acme East", "--admin", "bob")


def test_an_organisation_is_never_created_with_a_zone_that_is_not_one(db):
    with tenancy.unscoped(), pytest.raises(ValidationError) as caught:
        services.organization_create(name="Acme East", time_zone="Mars/Olympus_Mons")
    assert "time_zone" in caught.value.message_dict
    assert not Organization.objects.filter(slug="acme-east").exists()


def test_an_administrator_changes_the_settings_and_the_change_is_audited(client, admin, org):
    client.force_login(admin)
    assert client.get(reverse("staff:organization-edit")).status_code == 200
    response = client.post(reverse("staff:organization-edit"), {
        "name": "Acme Trading (East)", "time_zone": "Europe/Berlin", "currency": "eur", "phone_region": "DE",
        "language": "en",
    })
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.time_zone, org.currency, org.phone_region, org.language) == (
        "Acme Trading (East)", "Europe/Berlin", "EUR", "DE", "en")
    entry = AuditEntry.objects.get(action="organization.updated")
    assert entry.actor_id == admin.pk and entry.object_id == str(org.pk)
    assert entry.changes["time_zone"] == ["Asia/Shanghai", "Europe/Berlin"]
    assert entry.changes["phone_region"] == ["CN", "DE"]


def test_bad_settings_answer_400_naming_the_field_and_change_nothing(client, admin, org):
    client.force_login(admin)
    response = client.post(reverse("staff:organization-edit"), {
        "name": "Acme", "time_zone": "Asia/Shanghia", "currency": "RMB1", "phone_region": "CN", "language": "zh-hans",
    })
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"time_zone", "currency"}
    org.refresh_from_db()
    assert org.name == "Acme Trading" and not AuditEntry.objects.filter(action="organization.updated").exists()


@pytest.mark.parametrize("persona", ["owner", "manager", "viewer"])
def test_only_administrators_open_or_change_the_settings(client, request, org, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("staff:organization-edit")).status_code == 403
    response = client.post(reverse("staff:organization-edit"), {
        "name": "Taken over", "time_zone": "UTC", "currency": "USD", "phone_region": "US", "language": "en",
    })
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.name == "Acme Trading"


def test_an_administrator_of_another_organisation_cannot_change_this_one(org, outsider):
    from patron.accounts.permissions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.organization_update(organization=org, by=outsider, data={"name": "Taken over"})
    org.refresh_from_db()
    assert org.name == "Acme Trading"


@pytest.mark.parametrize(("language", "word"), [("zh-hans", "流失风险"), ("en", "Churn risk")])
def test_background_work_speaks_the_organisations_language_on_its_clock(org, language, word):
    """A churn alert written by the worker (whose own language is English) is worded as the
    organisation asked."""
    from django.utils import timezone, translation

    from patron.common import tenancy
    from patron.organizations.context import working_for

    Organization.objects.filter(pk=org.pk).update(language=language, time_zone="America/Los_Angeles")
    with tenancy.unscoped(), working_for(str(org.pk)) as working:
        assert working.pk == org.pk and str(tenancy.current_organization_id()) == str(org.pk)
        assert timezone.get_current_timezone() == working.zone
        assert translation.gettext("Churn risk %(risk).0f%%: %(name)s").startswith(word)
    assert translation.get_language() == "en"
