from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
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


class LanguageRememberedMiddleware:
    """Remember the language a signed-in person uses the pages in (chosen with the switcher or
    by their browser), so that what is written for them while they are away, such as the
    tasks a manager's playbook or the churn warning gives them, is in that language. One
    UPDATE when it changes, none otherwise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        spoken = getattr(request, "LANGUAGE_CODE", "")
        if user is not None and user.is_authenticated and spoken and spoken != user.language \
                and spoken in dict(settings.LANGUAGES):
            get_user_model().objects.filter(pk=user.pk).update(language=spoken)
            user.language = spoken
        return self.get_response(request)
