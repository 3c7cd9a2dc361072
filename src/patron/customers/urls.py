from django.urls import path

from patron.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="customer-list"),
    path("new/", views.customer_create, name="customer-create"),
    # "duplicates/" is the review queue (customers.dedupe_urls, mounted first in config/urls).
    path("duplicate-check/", views.customer_duplicates, name="customer-duplicates"),
    path("views/", views.saved_view_create, name="savedview-create"),
    path("views/<uuid:pk>/delete/", views.saved_view_delete, name="savedview-delete"),
    path("<uuid:pk>/", views.customer_detail, name="customer-detail"),
    path("<uuid:pk>/edit/", views.customer_edit, name="customer-edit"),
    path("<uuid:pk>/transfer/", views.customer_transfer, name="customer-transfer"),
    path("<uuid:pk>/delete/", views.customer_delete, name="customer-delete"),
    path("<uuid:pk>/reveal/", views.customer_reveal, name="customer-reveal"),
    path("<uuid:pk>/interactions/", views.interaction_log, name="interaction-create"),
    path("<uuid:pk>/tasks/", views.task_add, name="task-create"),
    path("<uuid:pk>/contacts/new/", views.contact_create, name="contact-create"),
]
