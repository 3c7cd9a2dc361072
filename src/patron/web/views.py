from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from patron.insights import selectors as insights_selectors
from patron.web import selectors


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/500.html", status=500)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    user = request.user
    context = {
        "now": now,
        "tasks": selectors.my_due_tasks(user=user, now=now),
        "stages": selectors.my_open_opportunities_by_stage(user=user),
        "activity": selectors.my_customers_recent_activity(user=user),
        # The churn early warning for the customers this person may see, most value at risk first.
        "at_risk": insights_selectors.at_risk(user=user, limit=5),
    }
    return render(request, "web/home.html", context)
