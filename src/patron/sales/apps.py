from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "patron.sales"
    label = "sales"
