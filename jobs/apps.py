from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = _("Jobs")

    def ready(self) -> None:
        # Register the job tasks in every process, not only in workers that autodiscover them:
        # an eager run (tests, a single-process demo) looks the task up by name.
        from jobs import tasks  # noqa: F401
