from django.urls import path

from patron.accounts import admin_views as views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("organisation/", views.organization_edit, name="organization-edit"),
    path("users/", views.user_list, name="user-list"),
    path("users/new/", views.user_create, name="user-create"),
    path("users/<uuid:pk>/", views.user_edit, name="user-edit"),
    path("users/<uuid:pk>/deactivate/", views.user_deactivate, name="user-deactivate"),
    path("teams/", views.team_list, name="team-list"),
    path("teams/<uuid:pk>/", views.team_edit, name="team-edit"),
    path("roles/", views.role_list, name="role-list"),
    path("roles/<uuid:pk>/", views.role_edit, name="role-edit"),
    path("pipelines/", views.pipeline_list, name="pipeline-list"),
    path("pipelines/<uuid:pk>/", views.pipeline_edit, name="pipeline-edit"),
    path("pipelines/<uuid:pk>/stages/", views.stage_create, name="stage-create"),
    path("stages/<uuid:pk>/", views.stage_edit, name="stage-edit"),
    path("stages/<uuid:pk>/move/", views.stage_move, name="stage-move"),
]
