from django.urls import path

from patron.activities import views

app_name = "activities"

urlpatterns = [
    path("", views.task_list, name="task-list"),
    path("new/", views.task_create, name="task-create"),
    path("reminders/", views.task_reminders, name="task-reminders"),
    path("<uuid:pk>/complete/", views.task_complete, name="task-complete"),
    path("<uuid:pk>/reschedule/", views.task_reschedule, name="task-reschedule"),
]
