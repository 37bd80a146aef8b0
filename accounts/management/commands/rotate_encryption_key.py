"""``manage.py rotate_encryption_key``: re-encrypt every stored token under the newest key.

Put the new key first in ``FIELD_ENCRYPTION_KEYS`` (keep the old ones after it), deploy, run this
command, then drop the old keys. Safe to run twice and while workers run: each row is rotated
under its row lock, so it never races a token refresh.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import crypto
from accounts.models import AccountToken


class Command(BaseCommand):
    help = "Re-encrypt every Allegro token under the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = failed = 0
        for token_id in AccountToken.objects.order_by("pk").values_list("pk", flat=True):
            try:
                rotated += _rotate_one(token_id)
            except crypto.DecryptionFailed:
                failed += 1
                self.stderr.write(f"token {token_id}: no configured key decrypts it")
        self.stdout.write(f"re-encrypted {rotated} token(s) under the current key")
        if failed:
            raise CommandError(f"{failed} token(s) could not be decrypted with any key")


def _rotate_one(token_id: int) -> int:
    with transaction.atomic():
        row = AccountToken.objects.select_for_update().filter(pk=token_id).first()
        if row is None:
            return 0
        row.access_token_ciphertext = crypto.rotate(row.access_token_ciphertext)
        if row.refresh_token_ciphertext:
            row.refresh_token_ciphertext = crypto.rotate(row.refresh_token_ciphertext)
        row.save(update_fields=["access_token_ciphertext", "refresh_token_ciphertext"])
        return 1
