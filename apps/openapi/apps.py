from django.apps import AppConfig


class OpenApiConfig(AppConfig):
    name = "apps.openapi"
    label = "openapi"
