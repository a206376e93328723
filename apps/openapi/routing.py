"""Websocket routes of this surface; collected by broker/routing.py (docs/openapi.md "Websockets")."""

from typing import Any

from django.urls import path, re_path

from apps.openapi.consumers import MarketSocket, MarketSocketV2, UserStreamSocket

websocket_urlpatterns: list[Any] = [
    path("openapi/quote/ws/v1", MarketSocket.as_asgi()),
    path("openapi/quote/ws/v2", MarketSocketV2.as_asgi()),
    re_path(r"^openapi/ws/(?P<listen_key>[^/]{1,128})$", UserStreamSocket.as_asgi()),
]
