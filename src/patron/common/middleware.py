import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from patron.common import tenancy

logger = logging.getLogger(__name__)


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
    """Remember the language a signed-in person chose for the pages (with the switcher, or by
    their browser's languages), so that what is written for them while they are away, such as
    the tasks a manager's playbook or the churn warning gives them, is in that language.

    Only a choice counts: a request naming no language Patron speaks (a script without the
    header, a browser asking for French) falls back to the default, which says nothing of the
    person. One UPDATE when the choice changes, none otherwise; a failed one (the database
    busy with an import) is left for the next page, never an error on this one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            chosen = _chosen_language(request)
            if chosen and chosen != user.language:
                try:
                    get_user_model().objects.filter(pk=user.pk).update(language=chosen)
                    user.language = chosen
                except DatabaseError:
                    logger.info("could not remember the language of user %s", user.pk, exc_info=True)
        return self.get_response(request)


def _chosen_language(request: HttpRequest) -> str | None:
    """The language of the switcher's cookie, else the first of the browser's that Patron
    speaks; None when neither names one."""
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    wanted = [cookie] if cookie else []
    wanted += [part.split(";")[0].strip() for part in header.split(",")]
    for code in wanted:
        if code and code != "*":
            try:
                return translation.get_supported_language_variant(code)
            except LookupError:
                continue
    return None
