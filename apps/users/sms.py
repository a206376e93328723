"""SMS delivery, shaped like Django's email backends.

``settings.SMS_BACKEND`` names a class with ``send_messages(messages) -> int``. Two are built in:
``ConsoleSmsBackend`` (development: prints) and ``InMemorySmsBackend`` (tests: appends to
``outbox``). A provider backend is any class of the same shape, named in the setting.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str


class BaseSmsBackend:
    def send_messages(self, messages: list[SmsMessage]) -> int:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    def send_messages(self, messages: list[SmsMessage]) -> int:
        for message in messages:
            sys.stdout.write(f"SMS to {message.to}: {message.body}\n")
        sys.stdout.flush()
        return len(messages)


class InMemorySmsBackend(BaseSmsBackend):
    outbox: ClassVar[list[SmsMessage]] = []

    def send_messages(self, messages: list[SmsMessage]) -> int:
        InMemorySmsBackend.outbox.extend(messages)
        return len(messages)


def sms_send(*, to: str, body: str) -> int:
    backend: BaseSmsBackend = import_string(settings.SMS_BACKEND)()
    return backend.send_messages([SmsMessage(to=to, body=body)])
