from django.apps import AppConfig


class OrgApiConfig(AppConfig):
    name = "apps.orgapi"
    label = "orgapi"
