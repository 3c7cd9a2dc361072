from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "patron.catalog"
    label = "catalog"
