from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "apps.oauth"
    label = "oauth"
    verbose_name = "OAuth"

    def ready(self) -> None:
        # Registers the OpenAPI description of the OAuth bearer scheme (drf-spectacular extension).
        from apps.oauth import authentication  # noqa: F401
