"""The base layout, sign-in/out, the language switch and the error pages."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from patron.web import views


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hashing each persona's password with the production hasher costs seconds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


PASSWORD = "layout-test-password-7"  # noqa: S105 (a test persona's)


def test_it_signs_in_with_username_and_password(client, owner):
    owner.set_password(PASSWORD)
    owner.save(update_fields=["password"])
    page = client.get(reverse("accounts:login"))
    assert page.status_code == 200
    assert b'autocomplete="current-password"' in page.content
    response = client.post(reverse("accounts:login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_it_refuses_a_wrong_password_with_a_message(client, owner):
    response = client.post(reverse("accounts:login"), {"username": "owner", "password": "nope"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content
    assert "_auth_user_id" not in client.session


def test_it_signs_out_by_post_only(client, owner):
    client.force_login(owner)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_it_shows_the_nav_links_that_exist(client, owner):
    client.force_login(owner)
    html = client.get("/").content.decode()
    assert f'href="{reverse("customers:customer-list")}"' in html
    assert 'action="/i18n/setlang/"' in html
    assert "Owner" in html  # the user menu


def test_it_hides_the_admin_link_from_reps(client, owner, admin):
    from patron.web.templatetags.patron_web import optional_url

    client.force_login(owner)
    staff_url = optional_url("staff:home")
    assert staff_url == "" or f'href="{staff_url}"' not in client.get("/").content.decode()
    client.force_login(admin)
    if staff_url:
        assert f'href="{staff_url}"' in client.get("/").content.decode()


def test_it_gives_an_empty_url_for_pages_that_do_not_exist():
    from patron.web.templatetags.patron_web import optional_url

    assert optional_url("nowhere:nothing") == ""
    assert optional_url("web:home") == "/"


def test_it_follows_the_browser_language_and_the_switch(client, owner):
    client.force_login(owner)
    html = client.get("/", headers={"Accept-Language": "zh-Hans"}).content.decode()
    assert '<html lang="zh-hans">' in html
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/customers/"})
    assert response.status_code == 302
    assert response["Location"] == "/customers/"
    assert '<html lang="zh-hans">' in client.get("/customers/").content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/").content.decode()


def test_it_shows_a_helpful_404_that_leaks_nothing(client, owner):
    client.force_login(owner)
    response = client.get("/customers/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'href="/"' in html
    assert "Traceback" not in html and "DoesNotExist" not in html


@pytest.mark.django_db
def test_it_renders_403_and_500_pages_with_a_way_home(rf: RequestFactory):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/somewhere/")
    request.user = AnonymousUser()
    forbidden = views.error_403(request, Exception("secret detail"))
    assert forbidden.status_code == 403
    assert b"secret detail" not in forbidden.content and b'href="/"' in forbidden.content
    failed = views.error_500(request)
    assert failed.status_code == 500
    assert b'href="/"' in failed.content


def test_every_template_comment_closes_on_its_own_line():
    """Django's `{# #}` comment is one line only: spread over two, its text shows on the page."""
    from pathlib import Path

    import patron

    templates = Path(patron.__file__).parent.rglob("*.html")
    unclosed = [f"{path.name}:{n}" for path in templates
                for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if "{#" in line and "#}" not in line.split("{#", 1)[1]]
    assert unclosed == []
