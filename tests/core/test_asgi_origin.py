"""Websocket origin check in broker/asgi.py: browsers from other sites refused, bots without Origin allowed."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from broker.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(headers: list[tuple[bytes, bytes]]) -> bool:
    communicator = WebsocketCommunicator(application, "/openapi/quote/ws/v1", headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


def test_foreign_origin_refused_missing_or_own_origin_allowed() -> None:
    connect = async_to_sync(_connect)
    assert connect([(b"host", b"127.0.0.1")]) is True
    assert connect([(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]) is True
    assert connect([(b"host", b"127.0.0.1"), (b"origin", b"https://evil.example")]) is False
