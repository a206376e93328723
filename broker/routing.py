"""Websocket routes of every surface, collected in one place for asgi.py.

Each surface owns its ``routing.py``; this module only concatenates them.
"""

from __future__ import annotations

from typing import Any

from apps.bgeapi.routing import websocket_urlpatterns as bgeapi_ws
from apps.events.routing import websocket_urlpatterns as events_ws
from apps.openapi.routing import websocket_urlpatterns as openapi_ws
from apps.orgapi.routing import websocket_urlpatterns as orgapi_ws

websocket_urlpatterns: list[Any] = [*openapi_ws, *bgeapi_ws, *orgapi_ws, *events_ws]
