from django.urls import path

from patron.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_list, name="import-list"),
    path("new/", views.import_create, name="import-create"),
    path("<uuid:pk>/", views.import_detail, name="import-detail"),
    path("<uuid:pk>/mapping/", views.import_mapping, name="import-mapping"),
    path("<uuid:pk>/frame/", views.import_frame, name="import-frame"),
    path("<uuid:pk>/preview/", views.import_preview, name="import-preview"),
    path("<uuid:pk>/retry/", views.import_retry, name="import-retry"),
    path("<uuid:pk>/rejected.csv", views.import_rejected, name="import-rejected"),
    path("export/customers/", views.customer_export, name="customer-export"),
    path("exports/<uuid:pk>/", views.export_detail, name="export-detail"),
    path("exports/<uuid:pk>/file", views.export_file, name="export-file"),
]
