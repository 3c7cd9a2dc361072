from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "patron.insights"
    label = "insights"

    def ready(self) -> None:
        from patron.insights import receivers  # noqa: F401 - connects them
