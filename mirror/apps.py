from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MirrorConfig(AppConfig):
    name = "mirror"
    verbose_name = _("Mirror")

    def ready(self) -> None:
        from accounts.signals import account_ready_for_sync

        account_ready_for_sync.connect(_queue_initial_sync, dispatch_uid="mirror.initial_sync")


def _queue_initial_sync(sender: Any, *, account: Any, **kwargs: Any) -> None:
    from mirror.services import sync_start_initial

    sync_start_initial(account=account)
