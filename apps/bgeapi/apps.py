from django.apps import AppConfig


class BgeApiConfig(AppConfig):
    name = "apps.bgeapi"
    label = "bgeapi"
