"""Websocket routes of the BGE API (seed 004); collected by broker/routing.py."""

from typing import Any

from django.urls import path

from apps.bgeapi.consumers import PrivateSocket, PublicSocket

websocket_urlpatterns: list[Any] = [
    path("ws/v2/public", PublicSocket.as_asgi()),
    path("ws/v2/private", PrivateSocket.as_asgi()),
]
