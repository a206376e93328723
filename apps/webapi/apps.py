from django.apps import AppConfig


class WebapiConfig(AppConfig):
    name = "apps.webapi"
    label = "webapi"
