"""Websocket routes of this surface; collected by broker/routing.py."""

from typing import Any

websocket_urlpatterns: list[Any] = []
