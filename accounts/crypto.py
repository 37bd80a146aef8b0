"""Encryption at rest for Allegro tokens: Fernet keys from ``FIELD_ENCRYPTION_KEYS``.

The first key encrypts; every key decrypts (``MultiFernet``), so a new key is added in front,
``manage.py rotate_encryption_key`` re-encrypts every token under it, and the old key can then be
removed. Plaintext never leaves these functions except to the caller that asked for it.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionFailed(Exception):
    """No configured key decrypts the value (a key was removed before rotation finished)."""


def _fernet() -> MultiFernet:
    keys: list[str] = list(getattr(settings, "FIELD_ENCRYPTION_KEYS", []) or [])
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:  # never echo the key itself
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key."
        ) from exc


def encrypt(plaintext: str) -> str:
    """Ciphertext (URL-safe text) of ``plaintext`` under the current (first) key."""
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode("ascii")).decode()
    except InvalidToken as exc:
        raise DecryptionFailed("No configured encryption key decrypts this value.") from exc


def rotate(ciphertext: str) -> str:
    """The same plaintext re-encrypted under the current key."""
    try:
        return _fernet().rotate(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionFailed("No configured encryption key decrypts this value.") from exc
