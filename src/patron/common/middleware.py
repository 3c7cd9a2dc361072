from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from patron.common import tenancy


class OrganizationScopeMiddleware:
    """Scope the request to the signed-in user's organisation (session sign-in), in its time
    zone: pages show times, and forms and date filters read them, as the organisation's
    clock says (the server keeps UTC; a Shanghai team's 09:00 call is not shown as 01:00).

    API requests authenticate by token inside the view, so the API's base view enters the
    scope itself (api/views.py); this middleware covers the pages.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        org_id = getattr(user, "organization_id", None) if user and user.is_authenticated else None
        if org_id is None:
            return self.get_response(request)
        with tenancy.scope(org_id), timezone.override(user.organization.zone):
            return self.get_response(request)
