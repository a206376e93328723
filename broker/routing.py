"""Websocket routes of every surface, collected in one place for asgi.py."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
