"""The project's URLs plus the imports app where the lead mounts it (for these tests only)."""

from django.urls import include, path

from patron.config.urls import handler403, handler404, handler500  # noqa: F401
from patron.config.urls import urlpatterns as project_urls
from patron.imports import api

urlpatterns = [
    path("imports/", include("patron.imports.urls")),
    path("api/imports/", include(api.urlpatterns)),
    *project_urls,
]
