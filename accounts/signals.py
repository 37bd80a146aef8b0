"""Signals other apps hook into, so ``accounts`` never imports the apps built on top of it."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent inside the linking transaction when an account is linked for the first time or linked
#: again after it was unlinked or needed re-authorisation. Arguments: ``account``.
#: ``mirror`` answers by queueing the account's initial synchronisation (on commit).
account_ready_for_sync = Signal()
