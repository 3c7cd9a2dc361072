from django.urls import path

from patron.sales import views

app_name = "sales"

urlpatterns = [
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/new/", views.lead_create, name="lead-create"),
    path("leads/duplicates/", views.lead_duplicates, name="lead-duplicates"),
    path("leads/<uuid:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<uuid:pk>/edit/", views.lead_edit, name="lead-edit"),
    path("leads/<uuid:pk>/qualify/", views.lead_qualify, name="lead-qualify"),
    path("leads/<uuid:pk>/disqualify/", views.lead_disqualify, name="lead-disqualify"),
    path("leads/<uuid:pk>/convert/", views.lead_convert, name="lead-convert"),
    path("leads/<uuid:pk>/reveal/", views.lead_reveal, name="lead-reveal"),
    path("leads/<uuid:pk>/interactions/", views.lead_interaction, name="lead-interaction"),
    path("opportunities/", views.opportunity_board, name="opportunity-board"),
    path("opportunities/list/", views.opportunity_list, name="opportunity-list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity-create"),
    path("opportunities/<uuid:pk>/", views.opportunity_detail, name="opportunity-detail"),
    path("opportunities/<uuid:pk>/edit/", views.opportunity_edit, name="opportunity-edit"),
    path("opportunities/<uuid:pk>/move/", views.opportunity_move, name="opportunity-move"),
]
