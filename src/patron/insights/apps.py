from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "patron.insights"
    label = "insights"
