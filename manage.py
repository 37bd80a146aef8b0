#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    # The developer's tool: development settings unless told otherwise. It exports the choice,
    # so the processes `manage.py demo` starts (web, Celery worker) inherit it; the server entry
    # points (wsgi, asgi, celery) default to the production settings instead.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
