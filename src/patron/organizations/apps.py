from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "patron.organizations"
    label = "organizations"
