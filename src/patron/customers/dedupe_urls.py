"""The duplicate review queue; the lead mounts these at "customers/duplicates/"."""

from django.urls import path

from patron.customers import dedupe_views as views

app_name = "dedupe"

urlpatterns = [
    path("", views.duplicate_list, name="duplicate-list"),
    path("scan/", views.duplicate_scan, name="duplicate-scan"),
    path("<uuid:pk>/", views.duplicate_detail, name="duplicate-detail"),
    path("<uuid:pk>/merge/", views.duplicate_merge, name="duplicate-merge"),
    path("<uuid:pk>/dismiss/", views.duplicate_dismiss, name="duplicate-dismiss"),
    path("merges/<uuid:pk>/undo/", views.merge_undo, name="merge-undo"),
]
