"""The main customer flows in a real browser: sign in, find, open, log a call, switch language."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CATALOGUE = Path(__file__).resolve().parents[2] / "src/patron/locale/zh_Hans/LC_MESSAGES/django.mo"


@pytest.fixture
def book(owner, customer, product):
    """A small book of business so that the pages have something to show."""
    from patron.activities import services as activities
    from patron.customers import services
    from patron.orders import services as orders
    from patron.sales import services as sales

    now = timezone.now()
    for name, phone, region in [
        ("李明", "13900001111", "Beijing"),
        ("Chen Jie", "13700002222", "Shenzhen"),
        ("Hangzhou Tea Co.", "+86 571 8888 6666", "Zhejiang"),
    ]:
        services.customer_create(user=owner, data={"name": name, "phone": phone, "region": region})
    orders.order_create(
        user=owner,
        customer=customer,
        ordered_at=now - dt.timedelta(days=40),
        lines=[{"product": product, "quantity": 3}],
    )
    sales.opportunity_create(user=owner, customer=customer, data={"name": "Office tea", "amount": "8800"})
    activities.task_create(
        user=owner,
        title="Send the price list",
        customer=customer,
        due_at=now - dt.timedelta(hours=3),
    )
    return customer


def test_it_finds_opens_logs_and_switches_language(page, live_server, sign_in, screenshot, owner, book):
    sign_in(owner)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_text("Send the price list").is_visible()
    screenshot("home")

    page.get_by_role("link", name="Customers", exact=True).click()
    page.fill("input[name=q]", "1234 10")  # part of +86 138 1234 1016, typed with a space
    rows = page.locator("#customer-table tbody tr")
    rows.first.wait_for()
    page.wait_for_function("document.querySelectorAll('#customer-table tbody tr').length === 1")
    assert "q=1234" in page.url  # htmx pushed the search into the address bar
    assert "138****1016" in rows.first.inner_text()
    page.fill("input[name=q]", "")
    page.wait_for_function("document.querySelectorAll('#customer-table tbody tr').length === 4")
    screenshot("customer_list", docs=True)

    page.fill("input[name=q]", "1016")
    page.wait_for_function("document.querySelectorAll('#customer-table tbody tr').length === 1")
    searches = []
    page.on("request", lambda request: searches.append(request.url) if request.headers.get("hx-request") else None)
    page.get_by_role("link", name="王芳").click()  # leaving the search box asks nothing more
    page.wait_for_url(f"**/customers/{book.pk}/")
    assert not [url for url in searches if "/customers/?" in url]
    assert "138****1016" in page.locator("#reveal-phone").inner_text()

    page.select_option("#id_kind", "call")
    page.fill("#id_subject", "Asked for a tasting set")
    page.get_by_role("button", name="Log it").click()
    page.locator("#timeline").get_by_text("Asked for a tasting set").wait_for()
    assert page.input_value("#id_subject") == ""  # the form was reset for the next one
    screenshot("customer_page", docs=True)

    page.select_option("#lang-select", "zh-hans")
    page.wait_for_function("document.documentElement.lang === 'zh-hans'")
    if CATALOGUE.exists():
        assert page.locator("nav .nav-links").get_by_text("客户").is_visible()


def test_it_reveals_a_phone_number_for_the_owner(page, live_server, sign_in, owner, customer):
    from patron.audit.models import AuditEntry

    sign_in(owner)
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    page.locator("#reveal-phone").get_by_role("button", name="Reveal").click()
    page.locator("#reveal-phone .revealed").wait_for()
    assert page.locator("#reveal-phone").inner_text().strip() == "+8613812341016"
    assert AuditEntry.objects.filter(action="customer.sensitive_revealed").count() == 1


def test_it_signs_out(page, live_server, sign_in, owner):
    sign_in(owner)
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    page.goto(f"{live_server.url}/customers/")
    assert "/login/" in page.url
