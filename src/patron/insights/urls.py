"""Insight pages, mounted by the project at "insights/"."""

from django.urls import path

from patron.insights import views

app_name = "insights"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("refresh/", views.refresh, name="refresh"),
    path("refresh/<uuid:pk>/", views.refresh_progress, name="refresh-progress"),
    path("at-risk/", views.churn_list, name="churn-list"),
    path("customers/<uuid:pk>/value/", views.customer_value, name="customer-value"),
    path("segments/", views.segment_list, name="segment-list"),
    path("segments/new/", views.segment_form, name="segment-create"),
    path("segments/<uuid:pk>/", views.segment_detail, name="segment-detail"),
    path("segments/<uuid:pk>/edit/", views.segment_form, name="segment-update"),
    path("segments/<uuid:pk>/delete/", views.segment_delete, name="segment-delete"),
    path("playbooks/", views.playbook_list, name="playbook-list"),
    path("playbooks/new/", views.playbook_form, name="playbook-create"),
    path("playbooks/<uuid:pk>/edit/", views.playbook_form, name="playbook-update"),
    path("playbooks/<uuid:pk>/apply/", views.playbook_apply, name="playbook-apply"),
]
