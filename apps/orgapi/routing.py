"""Websocket routes of this surface; collected by broker/routing.py."""

from typing import Any

from django.urls import path

from apps.orgapi.consumers import OrgFeedSocket

websocket_urlpatterns: list[Any] = [path("api/v2/org/ws", OrgFeedSocket.as_asgi())]
