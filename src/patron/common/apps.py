from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "patron.common"
    label = "common"
