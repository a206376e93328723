"""ASGI entry point: HTTP through Django, websockets through Channels' URL router.

Websocket origin check: a browser always sends ``Origin``, and a page from another site must not
open a socket with the user's session cookie, so a present ``Origin`` must match ``ALLOWED_HOSTS``.
Bots and SDKs (the OpenAPI, BGE and Org API streams) usually send no ``Origin`` at all; they
authenticate with keys or listen keys, not cookies, so a missing ``Origin`` is let through.
"""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broker.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from broker.routing import websocket_urlpatterns  # noqa: E402


class BrowserOriginValidator:
    """``AllowedHostsOriginValidator`` for requests that carry ``Origin``; others pass."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.checked = AllowedHostsOriginValidator(application)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        has_origin = any(name == b"origin" for name, _ in scope.get("headers", []))
        target = self.checked if has_origin else self.application
        return await target(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
