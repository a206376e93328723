"""Secrets at rest (API secrets, webhook secrets): Fernet with ``settings.ENCRYPTION_KEY``.

The key is read when used, never at import, so tests and production can set it in the environment.
Rotating it means re-encrypting stored secrets; ``MultiFernet`` would allow a rollover, not needed yet.
"""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    return Fernet(settings.ENCRYPTION_KEY.encode())


def secret_encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
