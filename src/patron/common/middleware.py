from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from patron.common import tenancy


class OrganizationScopeMiddleware:
    """Scope the request to the signed-in user's organisation (session sign-in).

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
        with tenancy.scope(org_id):
            return self.get_response(request)
