from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/imports/", include("patron.imports.api")),
    path("api/", include("patron.api.urls")),
    path("", include("patron.web.urls")),
    path("", include("patron.accounts.urls")),
    path("customers/duplicates/", include("patron.customers.dedupe_urls")),
    path("customers/", include("patron.customers.urls")),
    path("sales/", include("patron.sales.urls")),
    path("tasks/", include("patron.activities.urls")),
    path("admin/", include("patron.accounts.admin_urls")),
    path("imports/", include("patron.imports.urls")),
    path("insights/", include("patron.insights.urls")),
]

handler403 = "patron.web.views.error_403"
handler404 = "patron.web.views.error_404"
handler500 = "patron.web.views.error_500"
