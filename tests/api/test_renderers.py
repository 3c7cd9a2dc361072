"""The API answers JSON only: DRF's browsable API (?format=api, or a browser's Accept header)
rendered forms whose related-record choices are not narrowed to what the caller may see, and
failed doing so (a 500) once the view had left the organisation's scope."""

import pytest

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("resource", ["leads", "opportunities", "orders", "tasks", "customers"])
def test_a_browser_gets_json_and_the_browsable_api_is_not_served(api, manager, records, resource):
    client = api(manager)
    detail = f"/api/{resource}/{records[resource].pk}/"
    for path in (f"/api/{resource}/", detail):
        response = client.get(path, HTTP_ACCEPT=BROWSER)
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        assert client.get(f"{path}?format=api").status_code == 404
